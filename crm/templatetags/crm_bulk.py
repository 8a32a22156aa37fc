"""The list pages' bulk edit dialog (crm/bulk.py), rendered from the list's own context so the
list view needs nothing more."""

from django import template

from crm import bulk
from crm.forms import field_label, member_label, members_of

register = template.Library()


@register.inclusion_tag("crm/_bulk_edit_dialog.html", takes_context=True)
def bulk_edit_dialog(context, obj) -> dict:
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    owner = bulk.owner_field(obj)
    return {
        "obj": obj,
        "enabled": bool(workspace) and bulk.can_bulk_edit(obj),
        "owner_field": owner,
        "owner_label": field_label(obj, owner) if owner else "",
        "members": [(user.pk, member_label(user)) for user in members_of(workspace)]
        if owner and workspace
        else [],
        "has_tags": bulk.has_tags(obj),
    }


@register.filter
def can_bulk_edit(obj) -> bool:
    return bulk.can_bulk_edit(obj)
