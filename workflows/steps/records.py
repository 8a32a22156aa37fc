"""Record steps: create, update, delete, find and upsert records of the CRM objects.

Their writes commit in the same transaction as their `succeeded` step run (exactly-once).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError

from crm import records
from crm.ids import parse_uuid
from crm.objects import OBJECTS, RecordObject, serialize
from crm.record_query import where_fields, where_q

from .. import conditions
from . import register
from .base import StepContext, StepError, StepHandler

MAX_FIND_LIMIT = 1000


def _object_problems(settings: dict) -> tuple[RecordObject | None, list[str]]:
    name = settings.get("object")
    obj = OBJECTS.get(name) if isinstance(name, str) else None
    if obj is None:
        return None, [f"Unknown object {name!r}; use one of {', '.join(OBJECTS)}."]
    return obj, []


def _field_problems(obj: RecordObject, names, where: str) -> list[str]:
    known = set(obj.field_names)
    return [f"{where}: {obj.name} has no field '{name}'." for name in names if name not in known]


def _values_problems(obj: RecordObject, values, required=True) -> list[str]:
    if values is None and not required:
        return []
    if not isinstance(values, dict):
        return ["values must be an object of field: value."]
    return _field_problems(obj, values.keys(), "values")


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
        return obj.queryset(ctx.workspace).get(pk=pk)
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
    outputs = ("record",)

    def validate_settings(self, settings, graph):
        obj, problems = _object_problems(settings)
        return problems or _values_problems(obj, settings.get("values"))

    def execute(self, ctx):
        obj = self.object(ctx)
        values = _values(ctx, obj)
        instance = _save(records.create_record, obj, ctx.workspace, values)
        return {"record": serialize(instance, ctx.workspace)}


@register
class UpdateRecord(RecordStep):
    type = "update_record"
    outputs = ("record", "before")

    def validate_settings(self, settings, graph):
        obj, problems = _object_problems(settings)
        if obj is None:
            return problems
        if not settings.get("id"):
            problems.append("id is required (usually a template like {{trigger.record.id}}).")
        return problems + _values_problems(obj, settings.get("values"))

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
    outputs = ("record",)

    def validate_settings(self, settings, graph):
        obj, problems = _object_problems(settings)
        if obj is not None and not settings.get("id"):
            problems.append("id is required.")
        return problems

    def execute(self, ctx):
        obj = self.object(ctx)
        instance = _get(ctx, obj, ctx.resolve(ctx.settings.get("id")))
        data = serialize(instance, ctx.workspace)
        records.delete_record(instance)
        return {"record": data}


def _where_problems(obj: RecordObject, where) -> list[str]:
    if where in (None, {}):
        return []
    problems = conditions.validate(where, leaf_keys=("field", "op", "value"), where="where")
    if problems:
        return problems
    return _field_problems(obj, where_fields(where), "where")


@register
class FindRecords(StepHandler):
    type = "find_records"
    outputs = ("records", "count", "first")

    def validate_settings(self, settings, graph):
        obj, problems = _object_problems(settings)
        if obj is None:
            return problems
        problems += _where_problems(obj, settings.get("where"))
        order_by = settings.get("order_by")
        if order_by:
            problems += _field_problems(obj, [str(order_by).lstrip("-")], "order_by")
        limit = settings.get("limit", 100)
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not 1 <= limit <= MAX_FIND_LIMIT
        ):
            problems.append(f"limit must be a whole number from 1 to {MAX_FIND_LIMIT}.")
        return problems

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
    outputs = ("record", "created")

    def validate_settings(self, settings, graph):
        obj, problems = _object_problems(settings)
        if obj is None:
            return problems
        match = settings.get("match")
        if not isinstance(match, list) or not match or not all(isinstance(m, str) for m in match):
            problems.append("match must be a non-empty list of field names.")
        else:
            problems += _field_problems(obj, match, "match")
            values = settings.get("values")
            if isinstance(values, dict):
                problems += [
                    f"match field '{m}' must also be in values." for m in match if m not in values
                ]
        return problems + _values_problems(obj, settings.get("values"))

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
