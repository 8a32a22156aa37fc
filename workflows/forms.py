"""Pending forms: who may fill them, and submitting one to resume its run."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from crm.ids import parse_uuid
from crm.objects import OBJECTS

from . import queue
from .models import FormRequest


class FormAlreadySubmitted(Exception):
    pass


class FormInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("The form has errors.")
        self.errors = errors


def pending_forms_for(workspace, user=None):
    """Forms the caller may fill: assigned to them or to anyone (API keys see all)."""
    forms = FormRequest.objects.filter(workspace=workspace, status=FormRequest.Status.PENDING)
    if getattr(user, "pk", None):
        forms = forms.filter(Q(assignee__isnull=True) | Q(assignee=user))
    return forms.select_related("assignee")


def clean_values(form: FormRequest, values) -> dict:
    """The submitted values, typed by field, or FormInvalid with a message per field."""
    if not isinstance(values, dict):
        raise FormInvalid({"values": "values must be an object of field: value."})
    cleaned, errors = {}, {}
    for field in form.fields:
        name, kind = field["name"], field.get("type", "text")
        value = values.get(name, field.get("default"))
        if value in (None, "") and kind != "boolean":
            if field.get("required"):
                errors[name] = "This field is required."
            cleaned[name] = None
            continue
        try:
            cleaned[name] = _clean(field, kind, value, form)
        except ValueError as error:
            errors[name] = str(error)
    unknown = set(values) - {f["name"] for f in form.fields}
    for name in sorted(unknown):
        errors[name] = "This form has no such field."
    if errors:
        raise FormInvalid(errors)
    return cleaned


def _clean(field: dict, kind: str, value, form: FormRequest):
    if kind == "number":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("Enter a number.") from None
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1", "yes", "on")
    if kind == "date":
        text = str(value)
        if not (parse_date(text) or parse_datetime(text)):
            raise ValueError("Enter a date as YYYY-MM-DD.")
        return text
    if kind == "select":
        options = [o["value"] if isinstance(o, dict) else o for o in field.get("options") or []]
        if value not in options:
            raise ValueError(f"Choose one of: {', '.join(map(str, options))}.")
        return value
    if kind == "record":
        obj = OBJECTS[field["object"]]
        record_id = parse_uuid(value)
        if record_id is None or not obj.queryset(form.workspace).filter(pk=record_id).exists():
            raise ValueError(f"No {obj.name} with id {value} in this workspace.")
        return str(value)
    return str(value)


def submit_form(form: FormRequest, values, user=None) -> FormRequest:
    """Stores the values and resumes the run waiting on the form."""
    with transaction.atomic():
        form = FormRequest.objects.select_for_update().get(pk=form.pk)
        if form.status != FormRequest.Status.PENDING:
            raise FormAlreadySubmitted(f"This form is already {form.status}.")
        form.values = clean_values(form, values)
        form.status = FormRequest.Status.SUBMITTED
        form.submitted_by = user if getattr(user, "pk", None) else None
        form.submitted_at = timezone.now()
        form.save()
        queue.resume_run(form.run)
    return form
