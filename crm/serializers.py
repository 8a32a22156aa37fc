"""One serialiser per record object: the only shape used by the API, trigger payloads and
step outputs (SPEC section 2): flat fields, relations as ids plus `<relation>_name`."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from rest_framework import serializers

from .models import Company, Note, Opportunity, Person, Task


class WorkspaceRelatedField(serializers.PrimaryKeyRelatedField):
    """A relation that only accepts objects of the caller's workspace."""

    default_error_messages = {
        "does_not_exist": "No {model} with id {pk_value} in this workspace.",
        "incorrect_type": "Expected an id, got {data_type}.",
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
        except (TypeError, ValueError, Exception):
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
        if isinstance(data, str) and "@" in data:
            user = self.get_queryset().filter(email__iexact=data.strip()).first()
        elif isinstance(data, int) or (isinstance(data, str) and data.isdigit()):
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


class TagsField(serializers.ListField):
    child = serializers.CharField(max_length=50)

    def to_internal_value(self, data):
        if isinstance(data, str):  # CSV and forms send "a, b"
            data = [tag.strip() for tag in data.split(",") if tag.strip()]
        return super().to_internal_value(data)


class RecordSerializer(serializers.ModelSerializer):
    """Adds `<relation>_name` for every relation and checks relations stay in the workspace."""

    relations: dict = {}
    users: tuple = ()

    custom = serializers.JSONField(required=False)

    class Meta:
        read_only_fields = ["id", "created_at", "updated_at", "created_by"]

    def get_fields(self):
        fields = super().get_fields()
        for name, model in self.relations.items():
            fields[name] = WorkspaceRelatedField(model)
        for name in self.users:
            fields[name] = MemberField()
        fields["created_by"] = serializers.PrimaryKeyRelatedField(read_only=True)
        if "tags" in fields:
            fields["tags"] = TagsField(required=False)
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in (*self.relations, *self.users, "created_by"):
            data[f"{name}_name"] = display_name(getattr(instance, name))
        return data

    def validate_custom(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("custom must be a JSON object.")
        return value


def _meta(model_, *fields):
    return type(
        "Meta",
        (),
        {
            "model": model_,
            "fields": ["id", *fields, "custom", "created_at", "updated_at", "created_by"],
            "read_only_fields": RecordSerializer.Meta.read_only_fields,
        },
    )


class CompanySerializer(RecordSerializer):
    users = ("owner",)
    Meta = _meta(
        Company, "name", "domain", "employees", "annual_revenue", "industry", "address", "city",
        "country", "linkedin", "ideal_customer", "owner", "tags",
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
        Opportunity, "name", "amount", "currency", "stage", "close_date", "company",
        "point_of_contact", "owner", "tags",
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


def plain(value):
    """Turns serialiser output into JSON-safe plain data (Decimal becomes a number)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
