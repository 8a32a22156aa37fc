"""Record services: every write to a record, from the API, pages, imports and workflow steps,
goes through these functions so validation is the same everywhere."""

from django.db import transaction
from rest_framework.exceptions import ValidationError

from .objects import RecordObject


def _save(obj: RecordObject, workspace, data: dict, instance=None, user=None, partial=False):
    serializer = obj.serializer(
        instance, data=data, partial=partial, context={"workspace": workspace}
    )
    serializer.is_valid(raise_exception=True)
    extra = {}
    if instance is None:
        extra = {"workspace": workspace}
        if user is not None and getattr(user, "pk", None):
            extra["created_by"] = user
    with transaction.atomic(savepoint=False):  # one write: no savepoint needed
        return serializer.save(**extra)


def create_record(obj: RecordObject, workspace, data: dict, user=None):
    """Validates `data` with the object's serialiser and creates the record.

    Raises rest_framework's ValidationError with field messages on bad input.
    """
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Expected a JSON object of field values."})
    return _save(obj, workspace, data, user=user)


def update_record(obj: RecordObject, instance, data: dict, partial: bool = True, workspace=None):
    """Validates `data` and updates `instance`: only the given fields when `partial` (PATCH),
    otherwise as a full replacement (PUT, required fields must be present).

    `workspace` saves a query when the caller already has the record's workspace.
    """
    if not isinstance(data, dict):
        raise ValidationError({"detail": "Expected a JSON object of field values."})
    if workspace is not None and workspace.pk != instance.workspace_id:
        raise ValueError("update_record: the record belongs to another workspace.")
    return _save(obj, workspace or instance.workspace, data, instance=instance, partial=partial)


def delete_record(instance) -> None:
    instance.delete()
