"""Trigger kinds (SPEC section 4): their declarations and validation in `kinds`; each kind's
firing lives in its own module (records, schedule, manual, webhook, dates)."""

from .kinds import KINDS, validate_trigger

__all__ = ["KINDS", "RECORD_EVENTS", "validate_trigger"]

RECORD_EVENTS = ("record_created", "record_updated", "record_created_or_updated", "record_deleted")


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
