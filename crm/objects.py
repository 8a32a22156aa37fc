"""The registry of record objects by API name: the one place that maps `person` to its model,
serialiser, search fields and date fields. The API, pages, imports and workflow steps use it."""

from dataclasses import dataclass

from django.db import models

from . import serializers as s
from .models import Company, Meeting, Note, Opportunity, Person, Task


@dataclass(frozen=True)
class RecordObject:
    name: str  # API name, e.g. "person"
    plural: str  # URL segment, e.g. "people"
    model: type[models.Model]
    serializer: type[s.RecordSerializer]
    search_fields: tuple[str, ...]
    list_columns: tuple[str, ...]
    date_fields: tuple[str, ...] = ()
    # What a CSV import may match existing records on (`?match=`), besides `id`.
    match_keys: tuple[str, ...] = ()

    @property
    def match_fields(self) -> tuple[str, ...]:
        return ("id", *self.match_keys)

    @property
    def label(self) -> str:
        return self.model._meta.verbose_name.title()

    @property
    def label_plural(self) -> str:
        return self.model._meta.verbose_name_plural.title()

    @property
    def field_names(self) -> list[str]:
        """Writable and readable field names, as a workflow or a CSV sees them."""
        return list(self.serializer.Meta.fields)

    def queryset(self, workspace, archived: bool | None = False):
        """Every read of records goes through here: workspace isolation in one place.

        Lists, searches and find steps see live records only (the default); `archived=True`
        gives the archived ones, `archived=None` both (a record looked up by its id).
        """
        related = [
            name for name in (*self.serializer.relations, *self.serializer.users, "created_by")
        ]
        queryset = self.model.objects.filter(workspace=workspace)
        if archived is not None:
            queryset = queryset.filter(archived_at__isnull=not archived)
        queryset = queryset.select_related(*related)
        return (
            queryset.prefetch_related(*self.serializer.many) if self.serializer.many else queryset
        )


OBJECTS: dict[str, RecordObject] = {
    obj.name: obj
    for obj in [
        RecordObject(
            "company",
            "companies",
            Company,
            s.CompanySerializer,
            search_fields=("name", "domain", "city", "industry"),
            list_columns=("name", "domain", "industry", "employees", "city", "country"),
            match_keys=("domain",),
        ),
        RecordObject(
            "person",
            "people",
            Person,
            s.PersonSerializer,
            search_fields=("first_name", "last_name", "email", "job_title", "city"),
            list_columns=("first_name", "last_name", "email", "job_title", "company", "city"),
            match_keys=("email",),
        ),
        RecordObject(
            "opportunity",
            "opportunities",
            Opportunity,
            s.OpportunitySerializer,
            search_fields=("name",),
            list_columns=("name", "stage", "amount", "close_date", "company", "point_of_contact"),
            date_fields=("close_date",),
        ),
        RecordObject(
            "task",
            "tasks",
            Task,
            s.TaskSerializer,
            search_fields=("title", "body"),
            list_columns=("title", "status", "due_at", "assignee", "company", "person"),
            date_fields=("due_at",),
        ),
        RecordObject(
            "note",
            "notes",
            Note,
            s.NoteSerializer,
            search_fields=("title", "body"),
            list_columns=("title", "company", "person", "opportunity", "created_at"),
        ),
        RecordObject(
            "meeting",
            "meetings",
            Meeting,
            s.MeetingSerializer,
            search_fields=("title", "location"),
            list_columns=("title", "starts_at", "status", "location", "company", "opportunity"),
            date_fields=("starts_at", "ends_at"),
        ),
    ]
}
BY_PLURAL = {obj.plural: obj for obj in OBJECTS.values()}
BY_MODEL = {obj.model: obj for obj in OBJECTS.values()}


def get_object(name: str) -> RecordObject | None:
    return OBJECTS.get(name)


def serialize(instance, workspace=None) -> dict:
    """The record as JSON-safe data, exactly as the API shows it.

    Rendering reuses one serialiser per object type and thread (`represent`): building its
    fields was most of the cost of a workflow's record step.
    """
    return s.plain(s.represent(BY_MODEL[type(instance)].serializer, instance))
