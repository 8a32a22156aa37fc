"""Record steps: create, update, delete, find and upsert records of the CRM objects.

Their writes commit in the same transaction as their `succeeded` step run (exactly-once).
"""

from dataclasses import replace

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from crm import records
from crm.ids import parse_uuid
from crm.objects import OBJECTS, RecordObject, serialize
from crm.record_query import where_q

from ..settings_schema import Setting
from . import register
from .base import StepContext, StepError, StepHandler

MAX_FIND_LIMIT = 1000


OBJECT = Setting("object", "object", label="Object", required=True)
RECORD_ID = Setting(
    "id",
    "text",
    label="Record id",
    required=True,
    templates=True,
    help="Usually a template like {{trigger.record.id}} or {{steps.find.first.id}}.",
)
VALUES = Setting(
    "values",
    "values",
    label="Values",
    templates=True,
    help="One input per field; empty ones are left out.",
)


def _validation_message(error: ValidationError) -> str:
    detail = error.detail
    if isinstance(detail, dict):
        return "; ".join(
            f"{field}: {' '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
            for field, msgs in detail.items()
        )
    return str(detail)


TEXT_FIELDS = ("CharField", "TextField", "EmailField", "URLField", "SlugField")


def _values(ctx: StepContext, obj: RecordObject) -> dict:
    """The step's values with templates resolved. A template that found nothing gives null;
    written to a text field that cannot be null, that means empty text."""
    values = ctx.resolve(ctx.settings.get("values") or {})
    for name, value in values.items():
        if value is None and name in obj.field_names:
            field = obj.model._meta.get_field(name)
            if not field.null and field.get_internal_type() in TEXT_FIELDS:
                values[name] = ""
    return values


def _get(ctx: StepContext, obj: RecordObject, record_id):
    if not record_id:
        raise StepError(f"No {obj.name} id given (the template resolved to nothing).")
    pk = parse_uuid(record_id)
    if pk is None:
        raise StepError(f"'{record_id}' is not a valid {obj.name} id.")
    try:
        return obj.queryset(ctx.workspace, archived=None).get(pk=pk)
    except obj.model.DoesNotExist:
        raise StepError(f"No {obj.name} with id {record_id} in this workspace.") from None


def _save(action, *args, **kwargs):
    try:
        return action(*args, **kwargs)
    except ValidationError as error:
        raise StepError(_validation_message(error)) from error


class RecordStep(StepHandler):
    writes_records = True

    def object(self, ctx: StepContext) -> RecordObject:
        return OBJECTS[ctx.settings["object"]]


@register
class CreateRecord(RecordStep):
    type = "create_record"
    label = "Create record"
    group = "Records"
    outputs = ("record",)
    settings_schema = (OBJECT, replace(VALUES, required=True))

    def execute(self, ctx):
        obj = self.object(ctx)
        values = _values(ctx, obj)
        instance = _save(records.create_record, obj, ctx.workspace, values)
        return {"record": serialize(instance, ctx.workspace)}


@register
class UpdateRecord(RecordStep):
    type = "update_record"
    label = "Update record"
    group = "Records"
    outputs = ("record", "before")
    settings_schema = (OBJECT, RECORD_ID, replace(VALUES, required=True))

    def execute(self, ctx):
        obj = self.object(ctx)
        instance = _get(ctx, obj, ctx.resolve(ctx.settings.get("id")))
        before = serialize(instance, ctx.workspace)
        values = _values(ctx, obj)
        instance = _save(records.update_record, obj, instance, values, partial=True)
        return {"record": serialize(instance, ctx.workspace), "before": before}


@register
class DeleteRecord(RecordStep):
    type = "delete_record"
    label = "Delete record"
    group = "Records"
    outputs = ("record",)
    settings_schema = (OBJECT, RECORD_ID)

    def execute(self, ctx):
        obj = self.object(ctx)
        instance = _get(ctx, obj, ctx.resolve(ctx.settings.get("id")))
        data = serialize(instance, ctx.workspace)
        records.delete_record(instance)
        return {"record": data}


@register
class FindRecords(StepHandler):
    type = "find_records"
    label = "Find records"
    group = "Records"
    outputs = ("records", "count", "first")
    settings_schema = (
        OBJECT,
        Setting("where", "where", label="Matching", templates=True),
        Setting(
            "order_by",
            "field",
            label="Sort by",
            help="A field; a - in front sorts from the highest or latest.",
            descending=True,
        ),
        Setting(
            "limit", "integer", label="At most", default=100, minimum=1, maximum=MAX_FIND_LIMIT
        ),
    )

    def execute(self, ctx):
        obj = OBJECTS[ctx.settings["object"]]
        queryset = obj.queryset(ctx.workspace)
        where = ctx.settings.get("where")
        try:
            if where:
                queryset = queryset.filter(where_q(obj, where, ctx.resolve))
            order_by = ctx.settings.get("order_by")
            queryset = queryset.order_by(order_by, "-created_at") if order_by else queryset
            found = [
                serialize(r, ctx.workspace) for r in queryset[: ctx.settings.get("limit", 100)]
            ]
        except (ValueError, TypeError, DjangoValidationError) as error:
            raise StepError(f"Bad value in where: {error}") from error
        return {"records": found, "count": len(found), "first": found[0] if found else None}


@register
class UpsertRecord(RecordStep):
    type = "upsert_record"
    label = "Upsert record"
    group = "Records"
    outputs = ("record", "created")
    settings_schema = (
        OBJECT,
        Setting(
            "match",
            "fields",
            label="Match on",
            required=True,
            help="The record with the same values in these fields is updated; otherwise one is created.",
        ),
        replace(VALUES, required=True),
    )

    def validate_settings(self, settings, graph):
        match, values = settings.get("match"), settings.get("values")
        if not isinstance(match, list) or not isinstance(values, dict):
            return []
        return [f"match field '{m}' must also be in values." for m in match if m not in values]

    def execute(self, ctx):
        obj = self.object(ctx)
        values = _values(ctx, obj)
        criteria = {name: values.get(name) for name in ctx.settings["match"]}
        try:
            existing = obj.queryset(ctx.workspace).filter(**criteria).first()
        except (ValueError, TypeError) as error:
            raise StepError(f"Bad match value: {error}") from error
        if existing is None:
            instance = _save(records.create_record, obj, ctx.workspace, values)
        else:
            instance = _save(records.update_record, obj, existing, values, partial=True)
        return {"record": serialize(instance, ctx.workspace), "created": existing is None}


class ArchiveStep(RecordStep):
    """`archive_record` and `restore_record`: the record services' archive and restore."""

    group = "Records"
    outputs = ("record",)
    settings_schema = (OBJECT, RECORD_ID)
    service = staticmethod(records.archive_record)

    def execute(self, ctx):
        obj = self.object(ctx)
        instance = _get(ctx, obj, ctx.resolve(ctx.settings.get("id")))
        try:
            instance = self.service(instance)
        except records.RecordStateConflict as conflict:
            raise StepError(str(conflict)) from conflict
        return {"record": serialize(instance, ctx.workspace)}


@register
class ArchiveRecord(ArchiveStep):
    type = "archive_record"
    label = "Archive record"


@register
class RestoreRecord(ArchiveStep):
    type = "restore_record"
    label = "Restore record"
    service = staticmethod(records.restore_record)
