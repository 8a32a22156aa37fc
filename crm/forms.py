"""HTML forms for the record pages.

The serialiser of each record object (through crm/records.py) is the only validator: these
classes turn a browser's form fields into the data the serialiser expects, and turn its errors
back into messages next to the right input. They never save anything themselves.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, QuerySet
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from . import records
from .activity import person_label as member_label
from .display import local_moment
from .ids import parse_uuid
from .models import Company, Meeting, Opportunity, Person, Workspace
from .objects import BY_MODEL, RecordObject
from .record_query import FilterError, field_lookup, search_q

# Fields the serialiser fills itself or that need a JSON editor the pages don't have.
NOT_EDITABLE = {"id", "custom", "created_at", "updated_at", "created_by", "archived_at"}

# A <select> of related records stays usable up to a few hundred options.
MAX_RELATION_CHOICES = 500

# How a relation is ordered in selects and sorted in list columns.
RELATED_ORDER: dict[type[models.Model], tuple[str, ...]] = {
    Company: ("name",),
    Person: ("last_name", "first_name", "email"),
    Opportunity: ("name",),
    Meeting: ("-starts_at",),
}
USER_ORDER = ("first_name", "last_name", "email")


def members_of(workspace: Workspace) -> QuerySet:
    return get_user_model().objects.filter(memberships__workspace=workspace).order_by(*USER_ORDER)


def input_kind(model_field: models.Field) -> str:
    """The kind of HTML input that edits a model field (templates/crm/_form_field.html)."""
    if model_field.choices:
        return "select"
    if model_field.many_to_many:
        return "relations"
    if model_field.is_relation:
        return "member" if model_field.related_model is get_user_model() else "relation"
    kinds = [
        (models.BooleanField, "checkbox"),
        (models.DateTimeField, "datetime-local"),
        (models.DateField, "date"),
        (models.IntegerField, "number"),
        (models.DecimalField, "number"),
        (models.EmailField, "email"),
        (models.URLField, "url"),
        (models.TextField, "textarea"),
        (models.JSONField, "tags"),
    ]
    for field_class, kind in kinds:
        if isinstance(model_field, field_class):
            return kind
    return "text"


def editable_fields(obj: RecordObject) -> list[str]:
    return [name for name in obj.serializer.Meta.fields if name not in NOT_EDITABLE]


# Where a model field's verbose name does not read well as a column header or label.
FIELD_LABELS = {
    "linkedin": "LinkedIn",
    "due_at": "Due",
    "created_at": "Created",
    "updated_at": "Updated",
}


def field_label(obj: RecordObject, name: str) -> str:
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    return str(obj.model._meta.get_field(name).verbose_name).capitalize()


@dataclass
class FormField:
    """One input of a record form, ready for templates/crm/_form_field.html."""

    name: str
    label: str
    kind: str
    value: Any
    required: bool = False
    choices: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def wide(self) -> bool:
        return self.kind == "textarea"


class RecordForm:
    """Creates or edits one record with the object's serialiser, keeping its field errors.

    `fields` narrows the form (the inline "add note" form shows only a title and a body);
    `links` are values the page sets itself, such as the company a new note belongs to.
    """

    def __init__(
        self,
        obj: RecordObject,
        workspace: Workspace,
        instance=None,
        data=None,
        initial: dict | None = None,
        fields: list[str] | None = None,
        links: dict | None = None,
    ):
        self.obj = obj
        self.workspace = workspace
        self.instance = instance
        self.data = data
        self.initial = initial or {}
        self.field_names = fields or editable_fields(obj)
        self.links = links or {}
        self.errors: dict[str, list[str]] = {}
        self.non_field_errors: list[str] = []

    @property
    def is_bound(self) -> bool:
        return self.data is not None

    def save(self, user=None):
        """The saved record, or None with `errors` filled in."""
        data = {**self.submitted_data(), **self.links}
        try:
            if self.instance is None:
                return records.create_record(self.obj, self.workspace, data, user=user)
            return records.update_record(
                self.obj, self.instance, data, partial=True, workspace=self.workspace
            )
        except ValidationError as error:
            self._keep_errors(error.detail)
            return None

    def submitted_data(self) -> dict:
        """The posted fields as the serialiser takes them: empty inputs of optional numbers,
        dates and relations become null, an unticked checkbox becomes false."""
        data = {}
        for name in self.field_names:
            model_field = self._model_field(name)
            kind = input_kind(model_field)
            if kind == "checkbox":
                data[name] = name in self.data
                continue
            if kind == "relations":
                data[name] = [value for value in self.data.getlist(name) if value]
                continue
            if name not in self.data:
                continue
            value = self.data.get(name, "").strip()
            data[name] = None if value == "" and model_field.null else value
        return data

    @property
    def fields(self) -> list[FormField]:
        values = self._raw_values()
        return [
            FormField(
                name=name,
                label=field_label(self.obj, name),
                kind=input_kind(self._model_field(name)),
                value=values.get(name, ""),
                required=self._is_required(name),
                choices=self._choices(name, values.get(name, "")),
                errors=self.errors.get(name, []),
            )
            for name in self.field_names
        ]

    def _model_field(self, name: str) -> models.Field:
        return self.obj.model._meta.get_field(name)

    def _is_required(self, name: str) -> bool:
        model_field = self._model_field(name)
        return not model_field.blank and not model_field.has_default()

    def _raw_values(self) -> dict:
        if self.is_bound:
            values = {name: self.data.get(name, "") for name in self.field_names}
            for name in self.field_names:
                kind = input_kind(self._model_field(name))
                if kind == "checkbox":
                    values[name] = name in self.data
                elif kind == "relations":
                    values[name] = self.data.getlist(name)
            return values
        if self.instance is not None:
            return {name: self._instance_value(name) for name in self.field_names}
        return {name: self._default_value(name) for name in self.field_names}

    def _instance_value(self, name: str):
        model_field = self._model_field(name)
        if model_field.many_to_many:
            return [str(item.pk) for item in getattr(self.instance, name).all()]
        if model_field.is_relation:
            return str(getattr(self.instance, model_field.attname) or "")
        value = getattr(self.instance, name)
        return _input_value(model_field, value)

    def _default_value(self, name: str):
        if name in self.initial:
            return self.initial[name]
        model_field = self._model_field(name)
        if model_field.many_to_many:
            return []
        if model_field.has_default() and not model_field.is_relation:
            return _input_value(model_field, model_field.get_default())
        return ""

    def _choices(self, name: str, current: str) -> list[tuple[str, str]]:
        model_field = self._model_field(name)
        kind = input_kind(model_field)
        if kind == "select":
            return [(str(value), str(label)) for value, label in model_field.choices]
        if kind == "member":
            return [(str(user.pk), member_label(user)) for user in members_of(self.workspace)]
        if kind == "relation":
            return relation_choices(model_field.related_model, self.workspace, current)
        if kind == "relations":
            return relation_choices(model_field.related_model, self.workspace)
        return []

    def _keep_errors(self, detail) -> None:
        if not isinstance(detail, dict):
            self.non_field_errors = _messages(detail)
            return
        for name, messages in detail.items():
            if name in self.field_names:
                self.errors[name] = _messages(messages)
            else:
                self.non_field_errors += _messages(messages)


def relation_choices(model: type[models.Model], workspace, current: str = "") -> list:
    """(id, name) pairs of the workspace's records of `model`, always including `current`."""
    queryset = BY_MODEL[model].queryset(workspace).order_by(*RELATED_ORDER[model])
    options = list(queryset[:MAX_RELATION_CHOICES])
    if current and parse_uuid(current) and all(str(option.pk) != current for option in options):
        options += list(queryset.filter(pk=current))
    return [(str(option.pk), str(option)) for option in options]


def _input_value(model_field: models.Field, value):
    if value is None:
        return ""
    if isinstance(model_field, models.DateTimeField):
        return local_moment(value).strftime("%Y-%m-%dT%H:%M")
    if isinstance(model_field, models.DateField):
        return value.isoformat()
    if isinstance(model_field, models.JSONField) and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(model_field, models.BooleanField):
        return bool(value)
    return str(value)


def _messages(detail) -> list[str]:
    """Flattens DRF error details ({"tags": {0: ["..."]}} included) into readable strings."""
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _messages(value)]
    if isinstance(detail, list | tuple):
        return [message for value in detail for message in _messages(value)]
    return [str(detail)]


# --- List pages: search, filters, sort ------------------------------------------------------

# The filters each list page offers above its table. `due` is a computed filter for tasks.
LIST_FILTERS: dict[str, tuple[str, ...]] = {
    "company": ("industry", "country", "ideal_customer"),
    "person": ("company", "city"),
    "opportunity": ("stage", "company", "owner"),
    "task": ("status", "assignee", "due"),
    "note": ("company", "person", "opportunity"),
    "meeting": ("status", "company", "opportunity", "owner"),
}
# Every list opens newest first, tasks too (a click on "Due" sorts by due date); an object
# listed here would open sorted by another column.
DEFAULT_SORT: dict[str, str] = {}
DUE_CHOICES = [
    ("overdue", "Overdue"),
    ("today", "Due today"),
    ("week", "Due in 7 days"),
    ("none", "No due date"),
]
# Free-text columns offer the values used in the workspace, at most this many.
MAX_DISTINCT_VALUES = 200


class RecordListForm(forms.Form):
    """The query string of a list page (`q`, `sort` and the filters), validated.

    An unknown filter value or sort column is ignored rather than answered with an error:
    these come from links people bookmark and share.
    """

    q = forms.CharField(required=False)
    sort = forms.CharField(required=False)
    # The Archived view (`?archived=1`) lists the archived records instead of the live ones.
    archived = forms.BooleanField(required=False)

    def __init__(self, obj: RecordObject, workspace: Workspace, data):
        super().__init__(data)
        self.obj = obj
        self.workspace = workspace
        for name in LIST_FILTERS.get(obj.name, ()):
            self.fields[name] = forms.ChoiceField(
                required=False, label=self._filter_label(name), choices=self._filter_choices(name)
            )
        self.is_valid()

    @property
    def filter_fields(self) -> list:
        return [self[name] for name in LIST_FILTERS.get(self.obj.name, ())]

    @property
    def search(self) -> str:
        return self.cleaned_data.get("q", "").strip()

    @property
    def sort_column(self) -> str:
        """The column the list is sorted by, `-` in front when descending."""
        sort = self.cleaned_data.get("sort") or DEFAULT_SORT.get(self.obj.name, "-created_at")
        name = sort.lstrip("-")
        sortable = (*self.obj.list_columns, "created_at", "updated_at")
        return sort if name in sortable else "-created_at"

    @property
    def active_filters(self) -> dict[str, str]:
        names = LIST_FILTERS.get(self.obj.name, ())
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}

    @property
    def show_archived(self) -> bool:
        return bool(self.cleaned_data.get("archived"))

    def apply(self, queryset: QuerySet) -> QuerySet:
        """Search and filters compile through crm/record_query.py, as the API's do."""
        queryset = queryset.filter(search_q(self.obj, self.search))
        for name, value in self.active_filters.items():
            if name == "due":
                queryset = filter_by_due(queryset, value)
            else:
                try:
                    queryset = queryset.filter(field_lookup(self.obj, name, value))
                except FilterError:
                    pass  # a bookmarked link's stale value: ignored, like an unknown column
        return queryset.order_by(*sort_expressions(self.obj, self.sort_column), "-created_at")

    def _filter_label(self, name: str) -> str:
        return "Due" if name == "due" else field_label(self.obj, name)

    def _filter_choices(self, name: str) -> list[tuple[str, str]]:
        everything = [("", f"Any {self._filter_label(name).lower()}")]
        if name == "due":
            return everything + DUE_CHOICES
        model_field = self.obj.model._meta.get_field(name)
        if model_field.choices:
            return everything + [(str(v), str(label)) for v, label in model_field.choices]
        if isinstance(model_field, models.BooleanField):
            return everything + [("yes", "Yes"), ("no", "No")]
        if model_field.is_relation and model_field.related_model is get_user_model():
            members = members_of(self.workspace)
            return everything + [(str(user.pk), member_label(user)) for user in members]
        if model_field.is_relation:
            current = self.data.get(name, "")  # kept even beyond the first few hundred
            return everything + relation_choices(model_field.related_model, self.workspace, current)
        values = (
            self.obj.queryset(self.workspace)
            .exclude(**{name: ""})
            .order_by(name)
            .values_list(name, flat=True)
            .distinct()[:MAX_DISTINCT_VALUES]
        )
        return everything + [(value, value) for value in values]


def filter_by_due(queryset: QuerySet, value: str) -> QuerySet:
    """Tasks by due date; overdue and upcoming ones leave finished tasks out."""
    now = timezone.now()
    open_tasks = queryset.exclude(status="done")
    if value == "overdue":
        return open_tasks.filter(due_at__lt=now)
    if value == "today":
        end_of_day = timezone.localtime(now).replace(hour=23, minute=59, second=59)
        return open_tasks.filter(due_at__gte=now, due_at__lte=end_of_day)
    if value == "week":
        return open_tasks.filter(due_at__gte=now, due_at__lte=now + timedelta(days=7))
    if value == "none":
        return queryset.filter(due_at__isnull=True)
    return queryset


def sort_expressions(obj: RecordObject, sort: str) -> list:
    """Order-by expressions for a list column; relations sort by their display name and
    empty values go last either way."""
    name = sort.lstrip("-")
    descending = sort.startswith("-")
    model_field = obj.model._meta.get_field(name)
    if model_field.is_relation:
        related = model_field.related_model
        order = USER_ORDER if related is get_user_model() else RELATED_ORDER[related]
        paths = [f"{name}__{part}" for part in order]
    else:
        paths = [name]
    return [
        F(path).desc(nulls_last=True) if descending else F(path).asc(nulls_last=True)
        for path in paths
    ]
