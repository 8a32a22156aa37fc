"""The in-process index of active triggers: which workflows listen to which record events, and
which webhook token belongs to which workflow.

Record signals ask it on every save, so in steady state a lookup costs no query: the index is
built once from the database and kept until what workflows listen to may have changed:

- in this process, a save or delete of a workflow or a non-draft version invalidates it once
  the transaction commits (`note_workflow_change`, connected in apps.py);
- in other processes, that same save bumps `TriggerGeneration.number` inside the writing
  transaction; each process compares the number at most once per `refresh_seconds()` and
  rebuilds when it moved. So a workflow published through the API process fires in the worker
  processes within a second.

While the current thread's transaction holds uncommitted workflow changes (a test, or a
publish followed by saves in one transaction), lookups read the database each time instead of
the cache, so the cache never holds state that could still be rolled back.
"""

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from crm.objects import OBJECTS

from ..models import TriggerGeneration, Workflow, WorkflowVersion
from . import RECORD_EVENTS

CREATED, UPDATED, DELETED = "created", "updated", "deleted"
ARCHIVED, RESTORED = "archived", "restored"
# The record events each trigger type listens to.
EVENT_KINDS = {
    "record_created": (CREATED,),
    "record_updated": (UPDATED,),
    "record_created_or_updated": (CREATED, UPDATED),
    "record_deleted": (DELETED,),
    "record_archived": (ARCHIVED,),
    "record_restored": (RESTORED,),
}
INDEXED_TYPES = (*RECORD_EVENTS, "webhook")


def refresh_seconds() -> float:
    """How stale another process's workflow change may be here, at most."""
    return float(getattr(settings, "WORKFLOW_TRIGGER_REFRESH_SECONDS", 1.0))


@dataclass(frozen=True)
class RecordTrigger:
    """An active workflow listening to events of one object in one workspace."""

    version: WorkflowVersion  # with .workflow loaded: queue.start_runs takes it as is
    trigger_type: str
    fields: frozenset[str] | None  # updates fire only when one of these changed
    when: dict | None

    @property
    def workflow(self) -> Workflow:
        return self.version.workflow


@dataclass(frozen=True)
class WebhookTarget:
    """What an incoming webhook call needs to know about its workflow, without a query."""

    version: WorkflowVersion
    workspace_id: int
    method: str
    auth: str
    secret: str
    # The secret before the last `webhook-secret/` call, accepted until `previous_until`.
    previous_secret: str = ""
    previous_until: object = None  # datetime | None

    def secrets(self, now) -> list[str]:
        """The secrets a call may be signed with at `now`."""
        if self.previous_secret and self.previous_until and now < self.previous_until:
            return [self.secret, self.previous_secret]
        return [self.secret]


@dataclass
class IndexData:
    """One immutable build of the index; readers keep a reference while they use it."""

    generation: int | None
    records: dict[tuple[int, str, str], tuple[RecordTrigger, ...]] = field(default_factory=dict)
    # (workspace id, object) pairs with at least one update listener: saves of these records
    # remember their loaded values so `before` and `changed_fields` need no query.
    watched_updates: frozenset[tuple[int, str]] = frozenset()
    # (workspace id, object) → attnames of the fields its update listeners filter on, or None
    # when one of them takes any change: an update changing none of these fires nothing.
    update_fields: dict[tuple[int, str], frozenset[str] | None] = field(default_factory=dict)
    webhooks: dict[str, WebhookTarget] = field(default_factory=dict)


def build(generation: int | None) -> IndexData:
    """Reads every active record and webhook trigger: one query."""
    versions = (
        WorkflowVersion.objects.filter(
            status=WorkflowVersion.Status.ACTIVE,
            workflow__status=Workflow.Status.ACTIVE,
            trigger_type__in=INDEXED_TYPES,
        )
        .select_related("workflow")
        .order_by("workflow__created_at", "pk")
    )
    records: dict[tuple[int, str, str], list[RecordTrigger]] = defaultdict(list)
    webhooks: dict[str, WebhookTarget] = {}
    for version in versions:
        trigger = (version.graph or {}).get("trigger") or {}
        trigger_settings = trigger.get("settings") or {}
        workspace_id = version.workflow.workspace_id
        if version.trigger_type == "webhook":
            webhooks[version.workflow.webhook_token] = WebhookTarget(
                version=version,
                workspace_id=workspace_id,
                method=str(trigger_settings.get("method") or "POST").upper(),
                auth=str(trigger_settings.get("auth") or "none"),
                secret=version.workflow.webhook_secret,
                previous_secret=version.workflow.previous_webhook_secret,
                previous_until=version.workflow.previous_secret_expires_at,
            )
            continue
        fields = trigger_settings.get("fields")
        entry = RecordTrigger(
            version=version,
            trigger_type=version.trigger_type,
            fields=frozenset(fields) if isinstance(fields, list) and fields else None,
            when=trigger_settings.get("when") or None,
        )
        for kind in EVENT_KINDS[version.trigger_type]:
            records[(workspace_id, version.trigger_object, kind)].append(entry)
    return IndexData(
        generation=generation,
        records={key: tuple(entries) for key, entries in records.items()},
        watched_updates=frozenset((ws, obj) for ws, obj, kind in records if kind == UPDATED),
        update_fields={
            (ws, obj): _filtered_attnames(obj, entries)
            for (ws, obj, kind), entries in records.items()
            if kind == UPDATED
        },
        webhooks=webhooks,
    )


def _filtered_attnames(object_name: str, entries: list[RecordTrigger]) -> frozenset[str] | None:
    if any(entry.fields is None for entry in entries):
        return None
    model = OBJECTS[object_name].model
    names = set().union(*(entry.fields for entry in entries))
    return frozenset(
        model._meta.get_field(name).attname
        for name in names
        if name in {f.name for f in model._meta.concrete_fields}
    )


def read_generation() -> int:
    row = TriggerGeneration.objects.filter(pk=1).values_list("number", flat=True).first()
    return row or 0


def bump_generation() -> None:
    """Tells every process that what workflows listen to may have changed (inside the
    transaction that changes it, so both commit or roll back together)."""
    if not TriggerGeneration.objects.filter(pk=1).update(number=F("number") + 1):
        TriggerGeneration.objects.get_or_create(pk=1, defaults={"number": 1})


class TriggerIndex:
    def __init__(self):
        self._data: IndexData | None = None
        self._fresh_until = 0.0  # time.monotonic() until which _data needs no check
        self._lock = threading.Lock()
        self._local = threading.local()  # this thread's uncommitted-change marker

    # --- reads ---------------------------------------------------------------------------

    def current(self) -> IndexData:
        """The index as this thread must see it; queries only when it may be out of date."""
        if self._has_uncommitted_changes():
            return build(generation=None)
        data = self._data
        if data is None or time.monotonic() > self._fresh_until:
            data = self._refresh(data)
        return data

    def peek(self) -> tuple[IndexData | None, bool]:
        """The cached index without touching the database, and whether it needs a refresh
        (for async callers, which refresh through `current()` in a thread)."""
        data = self._data
        return data, data is None or time.monotonic() > self._fresh_until

    def record_triggers(self, workspace_id, object_name: str, kind: str) -> tuple:
        return self.current().records.get((workspace_id, object_name, kind), ())

    def watches_updates(self, workspace_id, object_name: str) -> bool:
        """Cache only, never a query: used on every record instance created in memory."""
        data = self._data
        return data is not None and (workspace_id, object_name) in data.watched_updates

    def webhook_target(self, token: str) -> WebhookTarget | None:
        return self.current().webhooks.get(token)

    # --- invalidation --------------------------------------------------------------------

    def invalidate(self) -> None:
        with self._lock:
            self._data = None

    def note_workflow_change(self) -> None:
        """A workflow or version was saved or deleted in the current transaction."""
        bump_generation()
        if not connection.in_atomic_block:
            self.invalidate()
            return
        marker = _CommitMarker(self)
        transaction.on_commit(marker)
        self._local.marker = marker

    def _refresh(self, data: IndexData | None) -> IndexData:
        with self._lock:
            if self._data is not data and self._data is not None:
                return self._data  # another thread refreshed meanwhile
            generation = read_generation()
            if data is None or data.generation != generation:
                data = build(generation)
            self._data = data
            self._fresh_until = time.monotonic() + refresh_seconds()
            return data

    def _has_uncommitted_changes(self) -> bool:
        marker = getattr(self._local, "marker", None)
        if marker is None:
            return False
        # Still queued on this connection: the transaction has neither committed nor rolled
        # back. (Committing runs and clears the hooks; rolling back discards them.)
        if any(callback is marker for _, callback, _ in connection.run_on_commit):
            return True
        self._local.marker = None
        return False


class _CommitMarker:
    """The on-commit hook of an uncommitted workflow change; also tells that it is pending."""

    def __init__(self, index: TriggerIndex):
        self.index = index

    def __call__(self) -> None:
        self.index.invalidate()


trigger_index = TriggerIndex()
