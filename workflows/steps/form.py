"""The `form` step: the run waits until a person fills the form (SPEC section 4)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from crm.objects import OBJECTS

from .. import forms, runtime
from ..models import FormRequest
from ..secrets import mask
from ..settings_schema import Setting
from . import register
from .base import Park, StepError, StepHandler

FIELD_TYPES = ("text", "textarea", "number", "date", "select", "boolean", "record")


def field_problems(fields) -> list[str]:
    if not isinstance(fields, list) or not fields:
        return ["fields must be a non-empty list of {name, label, type}."]
    problems, names = [], set()
    for index, field in enumerate(fields):
        where = f"fields.{index}"
        if not isinstance(field, dict):
            problems.append(f"{where} must be an object.")
            continue
        name = field.get("name")
        if not isinstance(name, str) or not name.isidentifier():
            problems.append(f"{where}.name must be a name like 'budget'.")
        elif name in names:
            problems.append(f"Two fields are named '{name}'.")
        names.add(name)
        if field.get("type", "text") not in FIELD_TYPES:
            problems.append(f"{where}.type must be one of {', '.join(FIELD_TYPES)}.")
        if field.get("type") == "select" and not isinstance(field.get("options"), list):
            problems.append(f"{where}.options must list the choices of a select.")
        if field.get("type") == "record" and field.get("object") not in OBJECTS:
            problems.append(f"{where}.object must be one of {', '.join(OBJECTS)}.")
    return problems


EXPIRY_UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 604800}


def expiry_problems(settings: dict) -> list[str]:
    problems = []
    expires = settings.get("expires")
    if expires not in (None, "", {}):
        amount = expires.get("amount") if isinstance(expires, dict) else None
        if not isinstance(expires, dict) or expires.get("unit") not in EXPIRY_UNITS:
            problems.append(f"expires.unit must be one of {', '.join(EXPIRY_UNITS)}.")
        elif isinstance(amount, bool) or not isinstance(amount, int | float) or amount <= 0:
            problems.append("expires.amount must be a number above 0.")
    if settings.get("on_expiry") not in (None, "", "fail", "continue"):
        problems.append("on_expiry must be fail or continue.")
    return problems


@register
class Form(StepHandler):
    type = "form"
    label = "Form"
    group = "People"
    slow = True
    outputs = ("values", "submitted_by", "submitted_at", "expired")
    settings_schema = (
        Setting("title", "text", label="Title", required=True, templates=True),
        Setting("description", "textarea", label="Description", templates=True),
        Setting("fields", "form_fields", label="Fields", required=True),
        Setting(
            "assignee",
            "text",
            label="Assignee",
            templates=True,
            help="A member's email, role:admin for owners and admins, or empty for any member.",
        ),
        Setting("expires", "json", label="Expires after", help='{"amount": 2, "unit": "days"}'),
        Setting(
            "on_expiry",
            "choice",
            label="When it expires",
            choices=(("fail", "Fail the run"), ("continue", "Continue without answers")),
        ),
    )

    def validate_settings(self, settings, graph):
        problems = expiry_problems(settings)
        if not isinstance(settings.get("fields"), list) or not settings["fields"]:
            return problems
        return field_problems(settings["fields"]) + problems

    def execute(self, ctx):
        if ctx.dry_run:
            return self.defaults(ctx)
        form = FormRequest.objects.filter(
            run=ctx.run, step_id=ctx.step["id"], scope=ctx.scope
        ).first()
        if form is None:
            form = self.create(ctx)
        if form.status == FormRequest.Status.PENDING and form.is_expired:
            forms.expire_form(form)
            form.refresh_from_db()
        if form.status == FormRequest.Status.SUBMITTED:
            return {
                "values": form.values,
                "submitted_by": form.submitted_by.email if form.submitted_by else None,
                "submitted_at": form.submitted_at.isoformat(),
                "expired": False,
            }
        if form.status == FormRequest.Status.EXPIRED:
            return self.expired(form)
        if form.status == FormRequest.Status.CANCELLED:
            raise StepError(f"The form “{form.title}” was cancelled.")
        raise Park(
            resume_at=form.expires_at,
            output={"form_id": str(form.pk)},
            waiting_for=f"form {form.title}, assigned to {form.assignee_text}",
            ready=lambda: (
                FormRequest.objects.filter(pk=form.pk)
                .exclude(status=FormRequest.Status.PENDING)
                .exists()
            ),
        )

    def create(self, ctx) -> FormRequest:
        assignee, role = self.assignee(ctx)
        expires = ctx.settings.get("expires") or {}
        expires_at = None
        if isinstance(expires, dict) and expires.get("unit") in EXPIRY_UNITS:
            seconds = float(ctx.resolve(expires.get("amount")) or 0) * EXPIRY_UNITS[expires["unit"]]
            expires_at = timezone.now() + timedelta(seconds=seconds)
        # What people see is masked like a stored step input: every member reads forms, and
        # only owners and admins may ever know a secret (a template naming one, or a trigger
        # payload that carries one, must not show it).
        shown = mask(
            {
                "title": str(ctx.resolve(ctx.settings.get("title")) or ""),
                "description": str(ctx.resolve(ctx.settings.get("description")) or ""),
                "fields": ctx.resolve(ctx.settings.get("fields")),
            },
            ctx.secret_values,
        )
        form = FormRequest.objects.create(
            workspace=ctx.workspace,
            run=ctx.run,
            step_id=ctx.step["id"],
            scope=ctx.scope,
            title=shown["title"][:300],
            description=shown["description"],
            fields=shown["fields"],
            assignee=assignee,
            assignee_role=role,
            expires_at=expires_at,
            on_expiry=ctx.settings.get("on_expiry") or FormRequest.OnExpiry.FAIL,
        )
        forms.announce_form(form, ctx.attempt)
        return form

    def defaults(self, ctx) -> dict:
        """A dry run creates no form (nobody is asked): the fields' defaults are the answers."""
        fields = ctx.resolve(ctx.settings.get("fields")) or []
        runtime.add_notice("Dry run: no form was created; the fields' defaults are the answers.")
        return {
            "values": {f["name"]: f.get("default") for f in fields if isinstance(f, dict)},
            "submitted_by": None,
            "submitted_at": None,
            "expired": False,
        }

    def expired(self, form: FormRequest) -> dict:
        if form.on_expiry != FormRequest.OnExpiry.CONTINUE:
            raise StepError(f"The form “{form.title}” expired before anyone filled it.")
        return {
            "values": {f["name"]: f.get("default") for f in form.fields},
            "submitted_by": None,
            "submitted_at": None,
            "expired": True,
        }

    def assignee(self, ctx):
        """(user, "") for an email, (None, "admin") for `role:admin`, (None, "") for anyone."""
        text = str(ctx.resolve(ctx.settings.get("assignee")) or "").strip()
        if not text:
            return None, ""
        if text.lower() == "role:admin":
            return None, "admin"
        user = (
            get_user_model()
            .objects.filter(email__iexact=text, memberships__workspace=ctx.workspace)
            .first()
        )
        if user is None:
            raise StepError(f"The form's assignee {text} is not a member of this workspace.")
        return user, ""
