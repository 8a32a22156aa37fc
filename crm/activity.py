"""The activity log behind every record's timeline (issue 17).

The record services (crm/records.py, crm/csv_io.py) write it, so a change made by a page, the
API, an import or a workflow step appears the same way. Who made it comes from `acting_as`:
the request middleware sets the signed-in person or API key, workflow runs their workflow;
anything else (a shell, a command) is logged without an actor.

`timeline` merges the log with the notes, tasks and meetings linked to the record and with
what other apps contribute through the `record_timeline` signal (workflow runs and the emails
they sent), newest first.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import models
from django.dispatch import Signal

from .models import Activity, ActivityKind
from .objects import BY_MODEL, OBJECTS, RecordObject

# Not tracked: bookkeeping that changes on every save, and archiving (its own entry).
UNTRACKED = {"id", "workspace", "created_at", "updated_at", "created_by", "archived_at"}
TIMELINE_LIMIT = 100

# (label, user or None), or a request whose user is read when a write happens (DRF
# authenticates API keys inside the view, after the middleware ran).
_actor: ContextVar = ContextVar("activity_actor", default=None)

# Sent with sender=record class, workspace=, record=; receivers return a list of TimelineEntry.
record_timeline = Signal()


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # created, updated, archived, restored, note, task, meeting, run, email
    title: str
    actor: str = ""
    changes: list | None = None  # [(field label, before, after)]
    link: str = ""
    detail: str = ""
    status: str = ""
    actor_email: str = ""  # the tooltip of a person shown by name


@contextmanager
def acting_as(label: str, user=None) -> Iterator[None]:
    token = _actor.set((label, user))
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def request_actor(request) -> Iterator[None]:
    """Around each request (the workspace middleware): its person or API key made its writes.
    Reset afterwards, so nothing done later in the same thread is put on that request."""
    token = _actor.set(request)
    try:
        yield
    finally:
        _actor.reset(token)


def person_label(user) -> str:
    """People are shown by name everywhere, by email when they have no name."""
    if user is None:
        return ""
    return user.get_full_name() or user.email or user.get_username()


def current_actor() -> tuple[str, object | None]:
    actor = _actor.get()
    if actor is None:
        return "", None
    if isinstance(actor, tuple):
        return actor
    user = getattr(actor, "user", None)
    api_key = getattr(user, "api_key", None)
    if api_key is not None:
        return f"api key: {api_key.name}", None
    if user is not None and user.is_authenticated:
        return person_label(user), user
    return "", None


# --- what a record looks like to a person --------------------------------------------------


def _tracked(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if f.name not in UNTRACKED]


def _shown(instance, field: models.Field):
    if field.is_relation:
        cached = instance._state.fields_cache.get(field.name)
        return _related_label(field, getattr(instance, field.attname), cached)
    return _plain(getattr(instance, field.attname))


def _related_label(field: models.Field, related_id, cached=None):
    """A related record by name (a person by name or email); one query when not loaded."""
    if related_id is None:
        return None
    related = cached if cached is not None and cached.pk == related_id else None
    if related is None:
        related = field.related_model._base_manager.filter(pk=related_id).first()
    if related is None:
        return str(related_id)
    return person_label(related) if field.related_model is _user_model() else str(related)


def _user_model():
    from django.contrib.auth import get_user_model

    return get_user_model()


def snapshot(instance) -> dict:
    """The raw values of the tracked fields, taken before an update (cheap: no queries)."""
    return {f.attname: _copy(getattr(instance, f.attname)) for f in _tracked(type(instance))}


def _copy(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


# --- writing ---------------------------------------------------------------------------------


def _entry(instance, kind: str, changes: dict | None = None) -> Activity:
    label, user = current_actor()
    return Activity(
        workspace_id=instance.workspace_id,
        object_name=BY_MODEL[type(instance)].name,
        record_id=instance.pk,
        kind=kind,
        changes=changes or {},
        actor=label[:200],
        user=user,
    )


def log_created(instance) -> None:
    _entry(instance, ActivityKind.CREATED).save(force_insert=True)


def log_created_in_bulk(instances) -> None:
    Activity.objects.bulk_create([_entry(instance, ActivityKind.CREATED) for instance in instances])


def log_updated(instance, before: dict) -> None:
    """Logs the fields whose value changed since `snapshot`; nothing when none did."""
    changes = {}
    for field in _tracked(type(instance)):
        if before.get(field.attname) == getattr(instance, field.attname):
            continue
        after_shown = _shown(instance, field)
        if field.is_relation:
            before_shown = _related_label(field, before.get(field.attname))
        else:
            before_shown = _plain(before.get(field.attname))
        changes[field.name] = [before_shown, after_shown]
    if changes:
        _entry(instance, ActivityKind.UPDATED, changes).save(force_insert=True)


def _plain(value):
    if isinstance(value, Decimal | datetime):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def log_lifecycle(instance, archived: bool) -> None:
    kind = ActivityKind.ARCHIVED if archived else ActivityKind.RESTORED
    _entry(instance, kind).save(force_insert=True)


def forget(instance) -> None:
    """A deleted record's entries go with it."""
    Activity.objects.filter(workspace_id=instance.workspace_id, record_id=instance.pk).delete()


# --- reading ---------------------------------------------------------------------------------


def _field_label(obj: RecordObject, name: str) -> str:
    try:
        return str(obj.model._meta.get_field(name).verbose_name).capitalize()
    except Exception:  # a field since removed: its name is the best label left
        return name


def _value_text(value) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_value_text(item)}" for key, item in value.items())
    return str(value)


def timeline(workspace, record, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    obj = BY_MODEL[type(record)]
    entries = []
    log = Activity.objects.filter(workspace=workspace, record_id=record.pk).select_related("user")
    for row in log[:limit]:
        changes = [
            (_field_label(obj, name), _value_text(before), _value_text(after))
            for name, (before, after) in row.changes.items()
        ]
        title = {
            ActivityKind.CREATED: f"{obj.label} created",
            ActivityKind.UPDATED: "Changed " + ", ".join(label for label, _, _ in changes),
            ActivityKind.ARCHIVED: f"{obj.label} archived",
            ActivityKind.RESTORED: f"{obj.label} restored",
        }[row.kind]
        email = row.user.email if row.user else ""
        entries.append(
            TimelineEntry(row.created_at, row.kind, title, row.actor, changes, actor_email=email)
        )
    entries += _linked_records(workspace, obj, record, limit)
    for _, extra in record_timeline.send(sender=type(record), workspace=workspace, record=record):
        entries += extra or []
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


# Which linked records appear on whose timeline: (object, its field pointing at the record).
LINKED = {
    "company": [("note", "company"), ("task", "company"), ("meeting", "company")],
    "person": [("note", "person"), ("task", "person"), ("meeting", "attendees")],
    "opportunity": [("note", "opportunity"), ("task", "opportunity"), ("meeting", "opportunity")],
}


def _linked_records(workspace, obj: RecordObject, record, limit: int) -> list[TimelineEntry]:
    entries = []
    for name, link in LINKED.get(obj.name, []):
        linked = OBJECTS[name]
        rows = (
            linked.queryset(workspace)
            .filter(**{link: record})
            .select_related("created_by")
            .order_by("-created_at")
        )
        for row in rows[:limit]:
            entries.append(
                TimelineEntry(
                    row.created_at,
                    name,
                    _linked_title(name, row),
                    person_label(row.created_by) if row.created_by_id else "",
                    link=f"/{linked.plural}/{row.pk}/",
                    detail=(getattr(row, "body", "") or "")[:280],
                    status=getattr(row, "status", ""),
                    actor_email=row.created_by.email if row.created_by_id else "",
                )
            )
    return entries


def _linked_title(name: str, row) -> str:
    if name == "note":
        return f"Note: {row.title}"
    if name == "task":
        return f"Task: {row.title}"
    return f"Meeting: {row.title}"
