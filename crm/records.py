"""Record services: every write to a record, from the API, pages, imports and workflow steps,
goes through these functions so validation is the same everywhere."""

import threading

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from . import activity
from .objects import BY_MODEL, RecordObject
from .serializers import PENDING_MANY
from .signals_control import ARCHIVED, RESTORED, mark_lifecycle_event


class _CreateValidators(threading.local):
    """One serializer per record class and thread, reused to validate every new record, the
    way DRF's ListSerializer reuses its child: building a serializer's fields was the largest
    part of an API create (see bench/bench_records.py). Thread-local because the workspace
    is set in its context for each call."""

    def __init__(self):
        self.by_class: dict[type, object] = {}


_create_validators = _CreateValidators()


def validate_new_record(obj: RecordObject, workspace, data: dict) -> dict:
    """The validated field values for a new record of `obj` in `workspace`, exactly as the
    object's serialiser checks them; raises ValidationError {field: [messages]}."""
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Expected a JSON object of field values."})
    serializer = _create_validators.by_class.get(obj.serializer)
    if serializer is None:
        serializer = _create_validators.by_class[obj.serializer] = obj.serializer(context={})
    # The workspace is the only per-call state fields read (relations must stay inside it).
    serializer.context["workspace"] = workspace
    try:
        return serializer.run_validation(data)
    finally:
        serializer.context["workspace"] = None


def new_record(obj: RecordObject, workspace, values: dict, user=None):
    """An unsaved record from `validate_new_record` values (for bulk inserts). Many-to-many
    values (a meeting's attendees) wait on the instance for `save_many_relations`."""
    created_by = user if getattr(user, "pk", None) else None
    values = dict(values)
    many = {name: values.pop(name) for name in obj.serializer.many if name in values}
    record = obj.model(**values, workspace=workspace, created_by=created_by)
    record.__dict__[PENDING_MANY] = many
    return record


def save_many_relations(instances) -> None:
    """Sets the many-to-many values `new_record` kept, once the records are inserted."""
    for instance in instances:
        for name, related in instance.__dict__.pop(PENDING_MANY, {}).items():
            getattr(instance, name).set(related)


def create_record(obj: RecordObject, workspace, data: dict, user=None):
    """Validates `data` with the object's serialiser and creates the record.

    Raises rest_framework's ValidationError with field messages on bad input.
    """
    record = new_record(obj, workspace, validate_new_record(obj, workspace, data), user)
    with transaction.atomic(savepoint=False):  # one write: no savepoint needed
        record.save(force_insert=True)  # its post_save serialises the pending attendees
        save_many_relations([record])
        activity.log_created(record)
    return record


def _save(obj: RecordObject, workspace, data: dict, instance, partial: bool):
    serializer = obj.serializer(
        instance, data=data, partial=partial, context={"workspace": workspace}
    )
    serializer.is_valid(raise_exception=True)
    before = activity.snapshot(instance)
    with transaction.atomic(savepoint=False):  # the write and its timeline entry together
        saved = serializer.save()
        activity.log_updated(saved, before)
    return saved


def update_record(obj: RecordObject, instance, data: dict, partial: bool = True, workspace=None):
    """Validates `data` and updates `instance`: only the given fields when `partial` (PATCH),
    otherwise as a full replacement (PUT, required fields must be present).

    `workspace` saves a query when the caller already has the record's workspace.
    """
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Expected a JSON object of field values."})
    if workspace is not None and workspace.pk != instance.workspace_id:
        raise ValueError("update_record: the record belongs to another workspace.")
    return _save(obj, workspace or instance.workspace, data, instance, partial)


def delete_record(instance) -> None:
    with transaction.atomic():
        activity.forget(instance)
        instance.delete()


class RecordStateConflict(Exception):
    """Archiving an archived record or restoring a live one (the API answers 409)."""


def archive_record(instance):
    """Archives a live record (a soft delete); fires `record_archived` triggers."""
    return _set_archived(instance, archived=True)


def restore_record(instance):
    """Brings an archived record back; fires `record_restored` triggers."""
    return _set_archived(instance, archived=False)


def _set_archived(instance, archived: bool):
    model = type(instance)
    label = BY_MODEL[model].label.lower()
    with transaction.atomic():
        # Read under a row lock, so two concurrent archives give one archive and one 409.
        stored = list(
            model.objects.select_for_update()
            .filter(pk=instance.pk)
            .values_list("archived_at", flat=True)
        )
        if not stored:
            raise RecordStateConflict(f"This {label} no longer exists.")
        if (stored[0] is not None) == archived:
            raise RecordStateConflict(
                f"This {label} is already archived."
                if archived
                else f"This {label} is not archived; there is nothing to restore."
            )
        instance.archived_at = timezone.now() if archived else None
        mark_lifecycle_event(instance, ARCHIVED if archived else RESTORED)
        instance.save(update_fields=["archived_at", "updated_at"])
        activity.log_lifecycle(instance, archived)
    return instance
