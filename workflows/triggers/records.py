"""Record triggers (SPEC section 4): `record_created`, `record_updated`,
`record_created_or_updated`, `record_deleted`, `record_archived` and `record_restored`.

Archiving and restoring (crm/records.py) are saves marked with their lifecycle event: they
fire only the archive triggers. Every other write to an archived record fires nothing, as
archived records are out of record triggers unless asked (SPEC section 2).

They listen to Django's model signals on the five record models, so every write fires them,
whoever makes it: pages, admin, API, imports (`records_bulk_created`) and workflow steps.
`QuerySet.update()` and raw SQL send no signal and fire nothing, as in Django itself.

When a save happens:

1. the trigger index (triggers/index.py) says which active workflows listen to this
   workspace, object and event; none is the common case and costs no query;
2. for updates, `changed_fields` compares the record with the values it had when it was
   loaded (remembered in `post_init` only for objects some workflow watches for updates, so no
   extra query), or with the stored row read in `pre_save` when they were not remembered;
3. each listening workflow's `fields` filter (updates only: fire when one of them changed) and
   `when` condition decide. `when` sees the payload under `trigger`, exactly as the steps do:
   `{{trigger.record.stage}}`, `{{trigger.before.stage}}`, `{{trigger.changed_fields}}`;
4. the runs are stored in the writing transaction (`queue.start_runs`), so a rolled-back write
   starts nothing and a committed one never lacks its runs; workers are kicked only after the
   commit, so a run never reads a record that is not committed yet.

An update that changes no field fires nothing. Payload: `event` (what happened), `object`,
`record`, `before` (updates and deletes; null on creation), `changed_fields` (on creation, the
fields given a value).

Runs started by a run's own writes are one level deeper than that run; a chain stops at
`runtime.MAX_DEPTH`: the run that would be one too deep is not started and the writing step's
output says why (`notices`).
"""

import copy
import logging
from collections.abc import Iterable, Sequence
from functools import cache, cached_property

from django.db import models
from django.db.models.signals import post_delete, post_init, post_save, pre_save
from django.utils import timezone

from crm.models import Workspace
from crm.objects import OBJECTS, RecordObject, serialize
from crm.serializers import plain
from crm.signals_control import bulk_created, pop_lifecycle_event, triggers_are_suppressed

from .. import conditions, queue, runtime
from ..models import WorkflowRun
from .index import ARCHIVED, CREATED, DELETED, RESTORED, UPDATED, RecordTrigger, trigger_index

logger = logging.getLogger(__name__)

OBJECT_BY_MODEL: dict[type[models.Model], RecordObject] = {
    obj.model: obj for obj in OBJECTS.values()
}
# The values a record had when it was loaded or last saved, kept on the instance.
REMEMBERED = "_trigger_remembered_values"
# Bookkeeping that changes on every save or never: not a change a workflow listens to.
UNTRACKED = {"id", "workspace", "created_at", "updated_at", "created_by"}
LIFECYCLE_KINDS = (ARCHIVED, RESTORED)
MISSING = object()


def connect() -> None:
    """Connects the record signals (from WorkflowsConfig.ready)."""
    for model in OBJECT_BY_MODEL:
        post_init.connect(remember_loaded_values, sender=model, dispatch_uid=f"rt-init-{model}")
        pre_save.connect(read_stored_values, sender=model, dispatch_uid=f"rt-pre-{model}")
        post_save.connect(record_saved, sender=model, dispatch_uid=f"rt-save-{model}")
        post_delete.connect(record_deleted, sender=model, dispatch_uid=f"rt-delete-{model}")
    bulk_created.connect(records_created_in_bulk, dispatch_uid="rt-bulk-created")


# --- remembering what a record was ------------------------------------------------------------


@cache
def tracked_fields(model: type[models.Model]) -> tuple[tuple[str, str, bool], ...]:
    """(name, attname, is JSON) of the fields whose changes workflows can listen to."""
    return tuple(
        (f.name, f.attname, isinstance(f, models.JSONField))
        for f in model._meta.concrete_fields
        if f.name not in UNTRACKED
    )


@cache
def _attnames(model: type[models.Model]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = tracked_fields(model)
    return (
        tuple(a for _, a, is_json in fields if not is_json),
        tuple(a for _, a, is_json in fields if is_json),
    )


def current_values(instance: models.Model) -> dict:
    values = instance.__dict__
    plain, json_fields = _attnames(type(instance))
    # Deferred fields are not loaded, so not compared.
    remembered = {name: values[name] for name in plain if name in values}
    for name in json_fields:  # mutable: a tag appended in place must still count as a change
        if name in values:
            remembered[name] = copy_json(values[name])
    return remembered


def copy_json(value):
    """A copy of plain JSON data (much cheaper than copy.deepcopy, which runs on every save
    of a watched object)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()} if value else {}
    if isinstance(value, list):
        return [copy_json(item) for item in value] if value else []
    return value


def _watched(instance: models.Model) -> bool:
    workspace_id = instance.__dict__.get("workspace_id")
    obj = OBJECT_BY_MODEL[type(instance)]
    return workspace_id is not None and trigger_index.watches_updates(workspace_id, obj.name)


def remember_loaded_values(sender, instance, **kwargs) -> None:
    if _watched(instance):
        instance.__dict__[REMEMBERED] = current_values(instance)


def read_stored_values(sender, instance, raw=False, **kwargs) -> None:
    """The fallback for records loaded before any workflow watched them: one query, only when
    an active workflow listens to updates of this object."""
    if raw or instance._state.adding or REMEMBERED in instance.__dict__:
        return
    if triggers_are_suppressed():
        return
    obj = OBJECT_BY_MODEL[sender]
    if not trigger_index.record_triggers(instance.workspace_id, obj.name, UPDATED):
        return
    stored = sender._base_manager.filter(pk=instance.pk).first()
    if stored is not None:
        instance.__dict__[REMEMBERED] = current_values(stored)


# --- the events -------------------------------------------------------------------------------


class RecordEvent:
    """One write to one record, with what a trigger needs computed only when asked."""

    def __init__(
        self,
        obj: RecordObject,
        instance,
        kind: str,
        before_values: dict | None = None,
        record: dict | None = None,
    ):
        self.obj = obj
        self.instance = instance
        self.kind = kind
        self.before_values = before_values
        self.record = record  # the serialised record, when serialised in bulk already

    @cached_property
    def changed_fields(self) -> list[str] | None:
        """Names of the fields this write changed; None when the update's former values are
        unknown (the row had vanished)."""
        values = self.instance.__dict__
        fields = tracked_fields(type(self.instance))
        if self.kind == CREATED:
            return [
                name for name, attname, _ in fields if not conditions.is_empty(values.get(attname))
            ]
        if self.kind == DELETED:
            return []
        if self.kind in LIFECYCLE_KINDS:
            return ["archived_at"]
        if self.before_values is None:
            return None
        return [
            name
            for name, attname, _ in fields
            if self.before_values.get(attname, MISSING) != values.get(attname, MISSING)
        ]

    @cached_property
    def payload(self) -> dict:
        record = self.record if self.record is not None else self._serialize(self.instance)
        before = None
        if self.kind == DELETED:
            before = record
        elif self.kind == UPDATED and self.before_values is not None:
            before = self._serialize(self._before_instance())
        return {
            "event": f"record_{self.kind}",
            "object": self.obj.name,
            "record": record,
            "before": before,
            "changed_fields": self.changed_fields or [],
        }

    def matches(self, trigger: RecordTrigger) -> bool:
        if self.kind == UPDATED:
            changed = self.changed_fields
            if changed is not None and not changed:
                return False
            if trigger.fields and changed is not None and not trigger.fields.intersection(changed):
                return False
        if trigger.when:
            try:
                return conditions.evaluate(
                    trigger.when, {"trigger": self.payload, "now": timezone.now().isoformat()}
                )
            except Exception:  # noqa: BLE001 - a broken condition must not break the write
                logger.exception("The 'when' of workflow %s failed", trigger.workflow.pk)
                return False
        return True

    def _serialize(self, instance) -> dict:
        # Output needs no workspace: a stand-in spares the query for instance.workspace.
        workspace = instance._state.fields_cache.get("workspace") or Workspace(
            pk=instance.workspace_id
        )
        return serialize(instance, workspace)

    def _before_instance(self):
        before = copy.copy(self.instance)
        before.__dict__.update(self.before_values)
        cache_ = before._state.fields_cache
        for field in type(self.instance)._meta.concrete_fields:
            if (
                field.is_relation
                and field.name in cache_
                and (
                    self.before_values.get(field.attname, MISSING)
                    != self.instance.__dict__.get(field.attname)
                )
            ):
                del cache_[field.name]  # the cached object is the new one
        return before


# --- signal receivers ------------------------------------------------------------------------


def record_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    before_values = instance.__dict__.pop(REMEMBERED, None)
    obj = OBJECT_BY_MODEL[sender]
    kind = pop_lifecycle_event(instance) or (CREATED if created else UPDATED)
    if kind in (CREATED, UPDATED) and instance.__dict__.get("archived_at") is not None:
        pass  # a write to an archived record: out of record triggers
    elif not triggers_are_suppressed():
        data = trigger_index.current()
        triggers = data.records.get((instance.workspace_id, obj.name, kind))
        if triggers and not _surely_unwanted(data, obj, instance, kind, before_values):
            fire([RecordEvent(obj, instance, kind, before_values)], triggers)
    if trigger_index.watches_updates(instance.workspace_id, obj.name):
        instance.__dict__[REMEMBERED] = current_values(instance)


def _surely_unwanted(data, obj: RecordObject, instance, kind: str, before_values) -> bool:
    """An update that changed none of the fields its listeners filter on (the common case of
    a watched object): rejected before any event is built."""
    if kind != UPDATED or before_values is None:
        return False
    wanted = data.update_fields.get((instance.workspace_id, obj.name))
    if wanted is None:
        return False
    values = instance.__dict__
    return all(before_values.get(name, MISSING) == values.get(name, MISSING) for name in wanted)


def record_deleted(sender, instance, **kwargs) -> None:
    if triggers_are_suppressed():
        return
    obj = OBJECT_BY_MODEL[sender]
    if instance.__dict__.get("archived_at") is not None:
        return  # deleting an archived record for good: out of record triggers
    triggers = trigger_index.record_triggers(instance.workspace_id, obj.name, DELETED)
    if triggers:
        fire([RecordEvent(obj, instance, DELETED)], triggers)


def records_created_in_bulk(sender, instances: Sequence[models.Model], **kwargs) -> None:
    """`bulk_create` sends no post_save: a CSV import reports its batches here."""
    obj = OBJECT_BY_MODEL.get(sender)
    if obj is None or triggers_are_suppressed():
        return
    by_workspace: dict[int, list] = {}
    for instance in instances:
        by_workspace.setdefault(instance.workspace_id, []).append(instance)
    for workspace_id, batch in by_workspace.items():
        triggers = trigger_index.record_triggers(workspace_id, obj.name, CREATED)
        if triggers:
            # One serialiser for the batch: its fields are built once, not once per record.
            records = plain(
                obj.serializer(
                    batch, many=True, context={"workspace": Workspace(pk=workspace_id)}
                ).data
            )
            fire(
                [
                    RecordEvent(obj, instance, CREATED, record=record)
                    for instance, record in zip(batch, records, strict=True)
                ],
                triggers,
            )


# --- starting the runs ------------------------------------------------------------------------


def fire(events: Iterable[RecordEvent], triggers: Sequence[RecordTrigger]) -> None:
    """Starts, after commit, one run per matching (event, workflow), one insert per workflow."""
    payloads: dict[int, tuple[RecordTrigger, list[dict]]] = {}
    for event in events:
        for trigger in triggers:
            if event.matches(trigger):
                payloads.setdefault(trigger.version.pk, (trigger, []))[1].append(event.payload)
    if not payloads:
        return
    if runtime.in_dry_run():  # the write rolls back at the end of the dry run
        for trigger, _ in payloads.values():
            runtime.add_notice(f"Dry run: workflow '{trigger.workflow.name}' was not started.")
        return
    step = runtime.current_step()
    depth = runtime.calling_depth() + 1  # a step's run, or an API call from a run (HTTP)
    if depth > runtime.MAX_DEPTH:
        for trigger, _ in payloads.values():
            if step:
                _explain_depth_limit(step, trigger)
        return
    parent = WorkflowRun(pk=step.run_id, depth=step.depth) if step else None
    # Stored in the writing transaction (SPEC 5: a write never commits without the runs it
    # triggers, and they roll back with it); only the kick waits for the commit, so no
    # worker reads a record that is not committed yet.
    for trigger, batch in payloads.values():
        queue.start_runs(
            trigger.version, batch, WorkflowRun.Source.TRIGGER, parent_run=parent, depth=depth
        )


def _explain_depth_limit(step: runtime.RunningStep, trigger: RecordTrigger) -> None:
    notice = (
        f"Workflow '{trigger.workflow.name}' was not started: runs started by runs stop at "
        f"depth {runtime.MAX_DEPTH}, and this run is at depth {step.depth}."
    )
    if notice not in step.notices:
        step.notices.append(notice)
