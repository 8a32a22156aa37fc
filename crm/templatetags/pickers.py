"""`{% relation_picker %}` and `{% tag_picker %}`: the searchable inputs of a record form
(templates/crm/_form_field.html), drawn from a crm.forms.RecordForm and one of its fields."""

from django import template

from crm.pickers import narrows_by_company, related_object

register = template.Library()


@register.inclusion_tag("crm/_picker.html")
def relation_picker(form, field, input_id: str, compact: bool = False) -> dict:
    related = related_object(form.obj, field.name)
    near_field = near_company = ""
    if narrows_by_company(related.model):
        if "company" in form.field_names:
            near_field = "company"  # the form's own company input, read as the person types
        else:  # inline edit of one field: the record's company (or the page's link)
            company_id = getattr(form.instance, "company_id", None) or form.links.get("company")
            near_company = str(company_id or "")
    return {
        "field": field,
        "input_id": input_id,
        "compact": compact,
        "related": related,
        "chosen_label": dict(field.choices).get(field.value, ""),
        "near_field": near_field,
        "near_company": near_company,
    }


@register.inclusion_tag("crm/_tag_picker.html")
def tag_picker(field, input_id: str, compact: bool = False) -> dict:
    # The chips are drawn by static/app/pickers.js from the text box's value, so a value the
    # browser restored (Back) shows as it will be posted.
    return {"field": field, "input_id": input_id, "compact": compact}
