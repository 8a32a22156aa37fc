"""The `form` step: the run waits until a person fills the form (SPEC section 4)."""

from django.contrib.auth import get_user_model

from crm.objects import OBJECTS

from ..models import FormRequest
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


@register
class Form(StepHandler):
    type = "form"
    label = "Form"
    group = "People"
    slow = True
    outputs = ("values", "submitted_by", "submitted_at")
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
    )

    def validate_settings(self, settings, graph):
        if not isinstance(settings.get("fields"), list) or not settings["fields"]:
            return []
        return field_problems(settings["fields"])

    def execute(self, ctx):
        form = FormRequest.objects.filter(
            run=ctx.run, step_id=ctx.step["id"], scope=ctx.scope
        ).first()
        if form is None:
            form = FormRequest.objects.create(
                workspace=ctx.workspace,
                run=ctx.run,
                step_id=ctx.step["id"],
                scope=ctx.scope,
                title=str(ctx.resolve(ctx.settings.get("title")) or "")[:300],
                description=str(ctx.resolve(ctx.settings.get("description")) or ""),
                fields=ctx.resolve(ctx.settings.get("fields")),
                assignee=self.assignee(ctx),
            )
        if form.status == FormRequest.Status.SUBMITTED:
            return {
                "values": form.values,
                "submitted_by": form.submitted_by.email if form.submitted_by else None,
                "submitted_at": form.submitted_at.isoformat(),
            }
        raise Park(resume_at=None, output={"form_id": str(form.pk)})

    def assignee(self, ctx):
        email = ctx.resolve(ctx.settings.get("assignee"))
        if not email:
            return None
        user = (
            get_user_model()
            .objects.filter(email__iexact=str(email).strip(), memberships__workspace=ctx.workspace)
            .first()
        )
        if user is None:
            raise StepError(f"The form's assignee {email} is not a member of this workspace.")
        return user
