"""Trigger kinds (SPEC section 4): settings validation here; each kind's firing lives in its
own module (records, schedule, manual, webhook, dates)."""

from crm.objects import OBJECTS

from .. import conditions

RECORD_EVENTS = ("record_created", "record_updated", "record_created_or_updated", "record_deleted")
DATE_FIELDS = {"task": ("due_at",), "opportunity": ("close_date",)}
EVERY_UNITS = ("minutes", "hours", "days", "weeks")
OFFSET_UNITS = ("minutes", "hours", "days")


def validate_trigger(trigger: dict) -> list[str]:
    """Problems with a trigger's type and settings, as messages."""
    kind = trigger.get("type")
    settings = trigger.get("settings") or {}
    if not isinstance(settings, dict):
        return ["trigger settings must be an object."]
    validator = VALIDATORS.get(kind)
    if validator is None:
        return [f"Unknown trigger type {kind!r}; use one of {', '.join(VALIDATORS)}."]
    return validator(settings)


def _object(settings, required=True) -> list[str]:
    name = settings.get("object")
    if not name and not required:
        return []
    if name not in OBJECTS:
        return [f"Unknown object {name!r}; use one of {', '.join(OBJECTS)}."]
    return []


def _record(settings) -> list[str]:
    problems = _object(settings)
    if problems:
        return problems
    fields = settings.get("fields")
    if fields is not None:
        known = set(OBJECTS[settings["object"]].field_names)
        if not isinstance(fields, list):
            problems.append("fields must be a list of field names.")
        else:
            problems += [
                f"{settings['object']} has no field '{f}'." for f in fields if f not in known
            ]
    if settings.get("when") not in (None, {}):
        problems += conditions.validate(settings["when"], where="when")
    return problems


def _schedule(settings) -> list[str]:
    from .schedule import schedule_problems

    return schedule_problems(settings)


def _manual(settings) -> list[str]:
    problems = _object(settings, required=False)
    if settings.get("mode", "single") not in ("single", "bulk"):
        problems.append("mode must be 'single' or 'bulk'.")
    return problems


def _webhook(settings) -> list[str]:
    problems = []
    if settings.get("method", "POST") not in ("GET", "POST"):
        problems.append("method must be GET or POST.")
    if settings.get("auth", "none") not in ("none", "token", "hmac"):
        problems.append("auth must be none, token or hmac.")
    expected = settings.get("expected_body")
    if expected is not None and not isinstance(expected, dict):
        problems.append("expected_body must be an object of field: type.")
    return problems


def _date_relative(settings) -> list[str]:
    problems = _object(settings)
    if problems:
        return problems
    allowed = DATE_FIELDS.get(settings["object"], ())
    if settings.get("field") not in allowed:
        problems.append(
            f"field must be a date field of {settings['object']}: {', '.join(allowed) or 'none'}."
        )
    offset = settings.get("offset") or {}
    if not isinstance(offset, dict):
        return problems + ["offset must be {amount, unit, direction}."]
    amount = offset.get("amount", 0)
    if not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0:
        problems.append("offset.amount must be a number of units, 0 or more.")
    if offset.get("unit", "days") not in OFFSET_UNITS:
        problems.append(f"offset.unit must be one of {', '.join(OFFSET_UNITS)}.")
    if offset.get("direction", "before") not in ("before", "after"):
        problems.append("offset.direction must be before or after.")
    return problems


VALIDATORS = {
    **dict.fromkeys(RECORD_EVENTS, _record),
    "schedule": _schedule,
    "manual": _manual,
    "webhook": _webhook,
    "date_relative": _date_relative,
}


# --- wiring (from WorkflowsConfig.ready) ------------------------------------------------------


def connect_signals(app_config) -> None:
    """Record signals fire record triggers; workflow changes refresh the trigger index and
    the schedules; `migrate` creates the engine's minute sweep."""
    from django.db.models.signals import post_delete, post_migrate, post_save

    from ..models import Workflow, WorkflowVersion
    from ..signals import workflow_triggers_changed
    from . import records

    records.connect()
    for model in (Workflow, WorkflowVersion):
        post_save.connect(_workflow_saved, sender=model, dispatch_uid=f"ti-save-{model}")
        post_delete.connect(_workflow_saved, sender=model, dispatch_uid=f"ti-delete-{model}")
    post_delete.connect(_workflow_deleted, sender=Workflow, dispatch_uid="schedule-delete")
    workflow_triggers_changed.connect(_triggers_changed, dispatch_uid="triggers-changed")
    post_migrate.connect(_create_sweep_schedule, sender=app_config, dispatch_uid="sweep-schedule")


def _workflow_saved(sender, instance, raw=False, **kwargs) -> None:
    from ..models import WorkflowVersion
    from .index import trigger_index

    if raw or (
        isinstance(instance, WorkflowVersion) and instance.status == WorkflowVersion.Status.DRAFT
    ):
        return  # drafts listen to nothing
    trigger_index.note_workflow_change()


def _workflow_deleted(sender, instance, **kwargs) -> None:
    from .schedule import remove_schedule

    remove_schedule(instance.pk)  # in the deleting transaction: gone together


def _triggers_changed(sender, workflow, **kwargs) -> None:
    from .index import trigger_index
    from .schedule import sync_workflow_schedule

    trigger_index.invalidate()
    if workflow.pk is not None:  # None once deleted: _workflow_deleted took care of it
        sync_workflow_schedule(workflow.pk)


def _create_sweep_schedule(sender, **kwargs) -> None:
    from django.db import DatabaseError

    from .schedule import ensure_sweep_schedule

    try:
        ensure_sweep_schedule()
    except DatabaseError:  # django_q's tables not migrated yet (a partial migrate)
        pass
