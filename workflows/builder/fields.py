"""The fields of a record object as the builder shows them: the settings panel's field pickers
and record editor, and the variable picker's types. Read from the record registry
(crm/objects), so a new field appears in the builder by itself."""

from dataclasses import dataclass
from functools import cache

from crm.objects import OBJECTS

# Serializer field classes by the type the builder shows (variable picker) and the input it
# draws (record editor). Anything unlisted is text.
_TYPES = {
    "IntegerField": "number",
    "DecimalField": "number",
    "FloatField": "number",
    "BooleanField": "boolean",
    "DateField": "date",
    "DateTimeField": "datetime",
    "ChoiceField": "choice",
    "UUIDField": "id",
    "WorkspaceRelatedField": "id",
    "PrimaryKeyRelatedField": "id",
    "MemberField": "member",
    "WorkspaceManyField": "list",
    "TagsField": "list",
    "JSONField": "object",
}


@dataclass(frozen=True)
class RecordField:
    name: str
    label: str
    type: str  # text, number, boolean, date, datetime, choice, id, member, list, object
    writable: bool
    choices: tuple = ()


@cache
def record_fields(object_name: str) -> tuple[RecordField, ...]:
    """Every field of the object as the API shows it (read-only ones included)."""
    obj = OBJECTS.get(object_name)
    if obj is None:
        return ()
    result = []
    for name, field in obj.serializer().fields.items():
        kind = _TYPES.get(type(field).__name__, "text")
        choices = tuple(field.choices.items()) if kind == "choice" else ()
        label = str(field.label or name.replace("_", " ")).strip().capitalize()
        result.append(RecordField(name, label, kind, not field.read_only, choices))
    return tuple(result)


def writable_fields(object_name: str) -> tuple[RecordField, ...]:
    """What a create, update or upsert step may set: one input each in the record editor."""
    return tuple(f for f in record_fields(object_name) if f.writable)


def field_choices(object_name: str) -> list[tuple[str, str]]:
    """(name, label) of the object's own fields (`field_names`), for field pickers."""
    obj = OBJECTS.get(object_name)
    if obj is None:
        return []
    labels = {f.name: f.label for f in record_fields(object_name)}
    return [(name, labels.get(name, name)) for name in obj.field_names]


def object_choices() -> list[tuple[str, str]]:
    return [(name, obj.label) for name, obj in OBJECTS.items()]
