"""One serialiser per record object: the only shape used by the API, trigger payloads and
step outputs (SPEC section 2): flat fields, relations as ids plus `<relation>_name`."""

import copy
import threading
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .ids import parse_uuid
from .models import Company, Meeting, Note, Opportunity, Person, Task


class WorkspaceRelatedField(serializers.PrimaryKeyRelatedField):
    """A relation that only accepts objects of the caller's workspace."""

    default_error_messages = {
        "does_not_exist": "No {model} with id {pk_value} in this workspace.",
        "incorrect_type": "Expected an id (a UUID), got {data_type}.",
    }

    def __init__(self, model, **kwargs):
        self.related_model = model
        kwargs.setdefault("queryset", model.objects.none())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self):
        workspace = self.context.get("workspace")
        return self.related_model.objects.filter(workspace=workspace)

    def to_internal_value(self, data):
        try:
            return self.get_queryset().get(pk=data)
        except self.related_model.DoesNotExist:
            self.fail("does_not_exist", pk_value=data, model=self.related_model._meta.verbose_name)
        except (TypeError, ValueError, DjangoValidationError):  # not a UUID
            self.fail("incorrect_type", data_type=type(data).__name__)

    def to_representation(self, value):
        return str(value.pk)


class MemberField(serializers.PrimaryKeyRelatedField):
    """A user who is a member of the caller's workspace; accepts an id or an email."""

    default_error_messages = {
        "does_not_exist": "No member {pk_value} in this workspace.",
        "incorrect_type": "Expected a user id or email, got {data_type}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", get_user_model().objects.none())
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def get_queryset(self):
        return get_user_model().objects.filter(memberships__workspace=self.context.get("workspace"))

    def to_internal_value(self, data):
        if isinstance(data, bool):  # True is an int to Python, not a user id
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, str) and "@" in data:
            user = self.get_queryset().filter(email__iexact=data.strip()).first()
        elif isinstance(data, int) or (isinstance(data, str) and data.isascii() and data.isdigit()):
            user = self.get_queryset().filter(pk=int(data)).first()
        else:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if user is None:
            self.fail("does_not_exist", pk_value=data)
        return user


def display_name(obj) -> str | None:
    if obj is None:
        return None
    if hasattr(obj, "get_full_name"):  # a user
        return obj.get_full_name() or obj.email or obj.username
    return str(obj)


class DisplayNameField(serializers.CharField):
    """The read-only `<relation>_name` shown beside a relation's id (SPEC section 2)."""

    def __init__(self, relation: str, **kwargs):
        super().__init__(source=relation, read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value):
        return display_name(value)


@extend_schema_field({"type": "array", "items": {"type": "string", "format": "uuid"}})
class WorkspaceManyField(serializers.Field):
    """A many-to-many relation as a list of ids of the caller's workspace (text split on
    commas is accepted too, for CSV cells and form fields)."""

    def __init__(self, model, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.related_model = model

    def to_internal_value(self, data):
        if data is None or data == "":
            return []
        if isinstance(data, str):
            data = [part.strip() for part in data.split(",") if part.strip()]
        if not isinstance(data, list):
            raise serializers.ValidationError("Expected a list of ids.")
        ids = []
        for item in data:
            pk = parse_uuid(item) if isinstance(item, str) else None
            if pk is None:
                raise serializers.ValidationError(f"Expected ids (UUIDs), got {item!r}.")
            ids.append(pk)
        workspace = self.context.get("workspace")
        found = {
            r.pk: r for r in self.related_model.objects.filter(workspace=workspace, pk__in=ids)
        }
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            what = self.related_model._meta.verbose_name
            raise serializers.ValidationError(
                f"No {what} with id {', '.join(missing)} in this workspace."
            )
        return [found[pk] for pk in dict.fromkeys(ids)]

    def get_attribute(self, instance):
        return _many_values(instance, self.source)

    def to_representation(self, value):
        return [str(item.pk) for item in value]


PENDING_MANY = "_pending_many_relations"


def _many_values(instance, name: str) -> list:
    """The related records, or those waiting to be set on a record just inserted (so its
    `record_created` payload already lists them; see crm/records.new_record)."""
    pending = instance.__dict__.get(PENDING_MANY) or {}
    if name in pending:
        return list(pending[name])
    return list(getattr(instance, name).all()) if instance.pk else []


@extend_schema_field({"type": "string", "readOnly": True})
class ManyNamesField(serializers.Field):
    """The read-only display string of a many-to-many relation: its names, comma-joined."""

    def __init__(self, relation: str, **kwargs):
        super().__init__(source=relation, read_only=True, **kwargs)

    def get_attribute(self, instance):
        return _many_values(instance, self.source)

    def to_representation(self, value):
        return ", ".join(display_name(item) for item in value)


class TagsField(serializers.ListField):
    child = serializers.CharField(max_length=50)

    def to_internal_value(self, data):
        # CSV cells and form fields send "a, b"; a comma never belongs to a tag (the CSV
        # export joins tags with commas).
        if isinstance(data, str):
            data = [data]
        if isinstance(data, list):
            data = [
                tag.strip() if isinstance(tag, str) else tag  # a non-string fails below
                for item in data
                for tag in (item.split(",") if isinstance(item, str) else [item])
                if not isinstance(tag, str) or tag.strip()
            ]
        return super().to_internal_value(data)


class MomentField(serializers.DateTimeField):
    """A date-time whose UTC equivalent must exist: DRF refuses an aware one past year 1 or
    9999 but raises OverflowError for a naive one, read in the viewer's zone (crm/timezones.py)
    as the record pages do: "0001-01-01T00:00" typed in Tokyo."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


class RecordSerializer(serializers.ModelSerializer):
    """Adds `<relation>_name` for every relation and checks relations stay in the workspace."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: MomentField,
    }
    relations: dict = {}
    users: tuple = ()
    many: dict = {}  # many-to-many relations: a list of ids, `<name>_name` joins their names

    custom = serializers.JSONField(required=False)

    class Meta:
        read_only_fields = ["id", "created_at", "updated_at", "created_by", "archived_at"]

    def get_fields(self):
        # Building fields from the model was the largest part of an API write (see
        # bench/bench_records.py). The fields depend on the class only: they are built once
        # and each serializer gets shallow copies. That is safe because a field is not changed
        # after its __init__ except by bind(), which sets attributes on the copy itself.
        prototype = _FIELD_PROTOTYPES.get(type(self))
        if prototype is None:
            prototype = _FIELD_PROTOTYPES[type(self)] = self._build_fields()
        return {name: copy.copy(field) for name, field in prototype.items()}

    def _build_fields(self):
        fields = super().get_fields()
        for name, model in self.relations.items():
            fields[name] = WorkspaceRelatedField(model)
        for name in self.users:
            fields[name] = MemberField()
        for name, model in self.many.items():
            fields[name] = WorkspaceManyField(model)
            fields[f"{name}_name"] = ManyNamesField(name)
        fields["created_by"] = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
        for name in (*self.relations, *self.users, "created_by"):
            fields[f"{name}_name"] = DisplayNameField(name)
        if "tags" in fields:
            fields["tags"] = TagsField(required=False)
        return fields

    def get_validators(self):
        # DRF derives unique-together validators from the model on every instance; records
        # have none today, but the result is per class, so compute it once.
        validators = _CLASS_VALIDATORS.get(type(self))
        if validators is None:
            validators = _CLASS_VALIDATORS[type(self)] = super().get_validators()
        return list(validators)

    def create(self, validated_data):
        # Skips ModelSerializer's per-call model introspection (measurable on the API's hot
        # path); the few many-to-many fields (`many`) are set after the insert.
        many = {name: validated_data.pop(name) for name in self.many if name in validated_data}
        instance = self.Meta.model.objects.create(**validated_data)
        for name, values in many.items():
            getattr(instance, name).set(values)
        return instance

    def validate_custom(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("custom must be a JSON object.")
        # Checked first and without recursion: the checks and pages below recurse per level.
        if _nesting_depth(value) > MAX_CUSTOM_DEPTH:
            raise serializers.ValidationError(
                f"custom nests objects and lists {MAX_CUSTOM_DEPTH} levels deep at most."
            )
        if _contains_nul(value):  # PostgreSQL's jsonb cannot store \u0000
            raise serializers.ValidationError("custom must not contain NUL characters.")
        return value


_FIELD_PROTOTYPES: dict[type, dict] = {}
_CLASS_VALIDATORS: dict[type, list] = {}
_REPRESENTERS = threading.local()


def represent(serializer_class: type[RecordSerializer], instance) -> dict:
    """`serializer_class(instance).data` without building a serializer per call: rendering
    needs no request context, so each thread keeps one serializer per class."""
    representers = _REPRESENTERS.__dict__
    serializer = representers.get(serializer_class)
    if serializer is None:
        serializer = representers[serializer_class] = serializer_class(context={})
    return serializer.to_representation(instance)


MAX_CUSTOM_DEPTH = 32


def _nesting_depth(value) -> int:
    """How many objects and lists deep `value` goes (an object of scalars is 1)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_CUSTOM_DEPTH:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _contains_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def _meta(model_, *fields):
    return type(
        "Meta",
        (),
        {
            "model": model_,
            "fields": [
                "id",
                *fields,
                "custom",
                "created_at",
                "updated_at",
                "created_by",
                "archived_at",
            ],
            "read_only_fields": RecordSerializer.Meta.read_only_fields,
        },
    )


class CompanySerializer(RecordSerializer):
    users = ("owner",)
    Meta = _meta(
        Company,
        "name",
        "domain",
        "employees",
        "annual_revenue",
        "industry",
        "address",
        "city",
        "country",
        "linkedin",
        "ideal_customer",
        "owner",
        "tags",
    )


class PersonSerializer(RecordSerializer):
    relations = {"company": Company}
    Meta = _meta(
        Person, "first_name", "last_name", "email", "phone", "job_title", "city", "company", "tags"
    )

    def validate(self, attrs):
        if self.instance is None and not any(
            attrs.get(f) for f in ("first_name", "last_name", "email")
        ):
            raise serializers.ValidationError(
                {"first_name": "Give a person at least a first name, a last name or an email."}
            )
        return attrs


class OpportunitySerializer(RecordSerializer):
    relations = {"company": Company, "point_of_contact": Person}
    users = ("owner",)
    Meta = _meta(
        Opportunity,
        "name",
        "amount",
        "currency",
        "stage",
        "close_date",
        "company",
        "point_of_contact",
        "owner",
        "tags",
    )


LINKS = {"company": Company, "person": Person, "opportunity": Opportunity}


class TaskSerializer(RecordSerializer):
    relations = LINKS
    users = ("assignee",)
    Meta = _meta(
        Task, "title", "body", "status", "due_at", "assignee", "company", "person", "opportunity"
    )


class NoteSerializer(RecordSerializer):
    relations = LINKS
    Meta = _meta(Note, "title", "body", "company", "person", "opportunity")


class MeetingSerializer(RecordSerializer):
    relations = {"company": Company, "opportunity": Opportunity}
    many = {"attendees": Person}
    users = ("owner",)
    Meta = _meta(
        Meeting,
        "title",
        "starts_at",
        "ends_at",
        "location",
        "status",
        "attendees",
        "company",
        "opportunity",
        "owner",
    )

    def validate(self, attrs):
        starts = attrs.get("starts_at", getattr(self.instance, "starts_at", None))
        ends = attrs.get("ends_at", getattr(self.instance, "ends_at", None))
        if starts and ends and ends < starts:
            raise serializers.ValidationError({"ends_at": "A meeting cannot end before it starts."})
        return attrs


def plain(value):
    """Turns serialiser output into JSON-safe plain data (Decimal becomes a number)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
