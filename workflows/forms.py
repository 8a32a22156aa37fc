"""Pending forms (SPEC sections 4 and 8): who may fill them, their values checked field by
field, submitting one to resume its run, and the events and email that tell people."""

import logging
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date

from crm.ids import parse_uuid
from crm.models import Membership
from crm.objects import OBJECTS

from . import queue
from .live import events
from .models import FormRequest, OutboxEmail, WorkflowRun

logger = logging.getLogger(__name__)

TRUE_TEXTS = ("true", "1", "yes", "on")
FALSE_TEXTS = ("false", "0", "no", "off", "")


class FormClosed(Exception):
    """Already submitted, cancelled or expired: the API answers 409."""


FormAlreadySubmitted = FormClosed  # the first wave's name


class FormInvalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("The form has errors.")
        self.errors = errors


# --- who may fill what -----------------------------------------------------------------------


def can_manage(workspace, user) -> bool:
    return Membership.objects.filter(
        workspace=workspace, user=user, role__in=("owner", "admin")
    ).exists()


def pending_forms_for(workspace, user=None):
    """Forms the caller may fill now: assigned to them, to their role, or to anyone (API keys,
    which act as an admin without a person, see every one)."""
    forms = FormRequest.objects.filter(
        workspace=workspace, status=FormRequest.Status.PENDING
    ).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if getattr(user, "pk", None):
        audience = Q(assignee=user) | Q(assignee__isnull=True, assignee_role="")
        if can_manage(workspace, user):
            audience |= Q(assignee__isnull=True, assignee_role="admin")
        forms = forms.filter(audience)
    return forms.select_related("assignee", "run__workflow")


def may_fill(form: FormRequest, user) -> bool:
    if not getattr(user, "pk", None):
        return True
    if form.assignee_id:
        return form.assignee_id == user.pk
    return form.assignee_role != "admin" or can_manage(form.workspace, user)


# --- values ----------------------------------------------------------------------------------


def options(field: dict) -> list[tuple[object, str]]:
    """A select's choices as (value, label), given as strings or {value, label}."""
    result = []
    for option in field.get("options") or []:
        if isinstance(option, dict):
            value = option.get("value")
            result.append((value, str(option.get("label", value))))
        else:
            result.append((option, str(option)))
    return result


def clean_values(form: FormRequest, values) -> dict:
    """The submitted values, typed by field, or FormInvalid with a message per field."""
    if not isinstance(values, dict):
        raise FormInvalid({"values": "values must be an object of field: value."})
    cleaned, errors = {}, {}
    for field in form.fields:
        name, kind = field["name"], field.get("type", "text")
        value = values.get(name, field.get("default"))
        if kind == "boolean" and value is None:
            value = False
        if value is None or value == "":
            if field.get("required"):
                errors[name] = "This field is required."
            cleaned[name] = None
            continue
        try:
            cleaned[name] = clean_value(field, kind, value, form)
        except ValueError as error:
            errors[name] = str(error)
        if kind == "boolean" and field.get("required") and cleaned.get(name) is False:
            errors[name] = "This box must be ticked."
    unknown = set(values) - {f["name"] for f in form.fields}
    for name in sorted(unknown):
        errors[name] = "This form has no such field."
    if errors:
        raise FormInvalid(errors)
    return cleaned


def clean_value(field: dict, kind: str, value, form: FormRequest):
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("Enter a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError("Enter a number.") from None
        if not number.is_finite():
            raise ValueError("Enter a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in TRUE_TEXTS + FALSE_TEXTS:
            return value.lower() in TRUE_TEXTS
        raise ValueError("Choose yes or no.")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("Enter text." if kind in ("text", "textarea") else "Enter a value.")
    if kind == "date":
        if not parse_date(str(value)):
            raise ValueError("Enter a date as YYYY-MM-DD.")
        return str(value)
    if kind == "select":
        for option_value, _ in options(field):
            if str(option_value) == str(value):
                return option_value
        labels = ", ".join(label for _, label in options(field))
        raise ValueError(f"Choose one of: {labels}.")
    if kind == "record":
        obj = OBJECTS[field["object"]]
        record_id = parse_uuid(value)
        if record_id is None or not obj.queryset(form.workspace).filter(pk=record_id).exists():
            raise ValueError(f"Choose a {obj.name} of this workspace.")
        return str(record_id)
    return str(value)


# --- submitting, closing ---------------------------------------------------------------------


def submit_form(form: FormRequest, values, user=None) -> FormRequest:
    """Stores the values and resumes the run waiting on the form. Of two concurrent
    submissions exactly one wins; the other gets FormClosed."""
    with transaction.atomic():
        # The run row first, as the engine's park() takes it: a submission that lands while
        # the run is still parking waits for it, then finds it `waiting` (review 1.3).
        run = WorkflowRun.objects.select_for_update().get(pk=form.run_id)
        form = (
            FormRequest.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .get(pk=form.pk)
        )
        if form.status != FormRequest.Status.PENDING:
            raise FormClosed(f"This form is already {form.status}.")
        if form.is_expired:
            raise FormClosed(f"This form expired at {form.expires_at:%Y-%m-%d %H:%M} UTC.")
        form.values = clean_values(form, values)
        form.status = FormRequest.Status.SUBMITTED
        form.submitted_by = user if getattr(user, "pk", None) else None
        form.submitted_at = timezone.now()
        form.save(update_fields=["values", "status", "submitted_by", "submitted_at"])
        queue.resume_run(run)
        events.publish(*form_event(form, "form.closed"))
    return form


def expire_form(form: FormRequest) -> bool:
    """Marks a pending form expired (its run is deciding `on_expiry`); False if it was
    submitted meanwhile."""
    expired = FormRequest.objects.filter(pk=form.pk, status=FormRequest.Status.PENDING).update(
        status=FormRequest.Status.EXPIRED
    )
    if expired:
        form.status = FormRequest.Status.EXPIRED
        events.publish(*form_event(form, "form.closed"))
    return bool(expired)


def close_pending_forms(run: WorkflowRun) -> None:
    """Cancelling a run closes its forms, in every inbox that shows them."""
    with transaction.atomic():
        forms = list(FormRequest.objects.filter(run=run, status=FormRequest.Status.PENDING))
        FormRequest.objects.filter(pk__in=[f.pk for f in forms]).update(
            status=FormRequest.Status.CANCELLED
        )
        events.publish_many(form_event(form, "form.closed") for form in forms)


def form_event(form: FormRequest, kind: str) -> tuple[str, dict]:
    return events.forms_group(form.workspace_id), {
        "type": kind,
        "form": str(form.pk),
        "title": form.title,
        "assignee_id": form.assignee_id,
        "assignee_role": form.assignee_role,
    }


# --- telling people --------------------------------------------------------------------------


def announce_form(form: FormRequest, attempt: int = 1) -> None:
    """A new form: to every inbox it belongs in, and by email to its assignee when email is
    configured (SPEC section 1: EMAIL_HOST)."""
    events.publish(*form_event(form, "form.created"))
    if settings.EMAIL_HOST:
        email_assignees(form, attempt)


def assignee_emails(form: FormRequest) -> list[str]:
    if form.assignee_id:
        return [form.assignee.email]
    if form.assignee_role == "admin":
        return list(
            Membership.objects.filter(workspace_id=form.workspace_id, role__in=("owner", "admin"))
            .values_list("user__email", flat=True)
            .order_by("user__email")
        )
    return []


def email_assignees(form: FormRequest, attempt: int) -> None:
    to = [email for email in assignee_emails(form) if email]
    if not to:
        return
    link = f"{settings.SITE_URL.rstrip('/')}/forms/#form-{form.pk}"
    subject = f"Form to fill: {form.title}"[:500]
    body = (
        f"A workflow is waiting for you to fill the form “{form.title}”.\n\n"
        f"{form.description + chr(10) + chr(10) if form.description else ''}"
        f"Open it: {link}\n"
    )
    try:
        # Keyed like the email step's rows: a replayed form step never sends twice.
        row = OutboxEmail.objects.create(
            workspace_id=form.workspace_id,
            run_id=form.run_id,
            step_id=form.step_id,
            scope=form.scope,
            attempt=attempt,
            to=to,
            subject=subject,
            body=body,
        )
    except IntegrityError:
        return
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to)
    except Exception as error:  # noqa: BLE001 - the form is there; the email is a courtesy
        logger.warning("Could not email form %s: %s", form.pk, error)
        OutboxEmail.objects.filter(pk=row.pk).update(status="failed", error=str(error)[:1000])
        return
    OutboxEmail.objects.filter(pk=row.pk).update(status="sent", sent_at=timezone.now())


# --- how the inbox draws a form ----------------------------------------------------------------


def inputs_for(form: FormRequest, values: dict | None = None) -> list[dict]:
    """Each field as the inbox draws it: its type, and the value to show (what was typed, or
    the field's default); options as (value, label, selected); a record field's API list."""
    inputs = []
    for field in form.fields:
        kind = field.get("type", "text")
        value = (values or {}).get(field["name"], None if values else field.get("default"))
        shown = "" if value is None else value
        item = {
            "name": field["name"],
            "label": field.get("label") or field["name"],
            "type": kind,
            "required": bool(field.get("required")),
            "placeholder": field.get("placeholder") or "",
            "value": shown,
            "checked": shown is True or str(shown).lower() in TRUE_TEXTS,
        }
        if kind == "select":
            item["options"] = [
                (str(option), label, str(option) == str(shown)) for option, label in options(field)
            ]
        if kind == "record" and field.get("object") in OBJECTS:
            obj = OBJECTS[field["object"]]
            item["object"] = obj.name
            item["api"] = f"/api/v1/{obj.plural}/"
        inputs.append(item)
    return inputs
