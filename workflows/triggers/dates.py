"""`date_relative` triggers (SPEC section 4): a run per record when a moment relative to one of
its dates comes (`offset` {amount, unit, direction} before or after `field`: a task's `due_at`,
an opportunity's `close_date`, read as midnight in the server's time zone). Payload: `record`,
`due`.

`fire_due_date_triggers` runs every minute from the sweep. It computes each record's due time
from the record's date as it is now, so a changed date simply gives a new due time and the
old one never fires; `DateTriggerFiring` (unique per workflow, record and due time) makes each
due time start exactly one run, also when two sweeps overlap.

Which due times fire: those in the window (since, now], where `since` is the later of the
moment the workflow's version became active and now − `LOOKBACK`. So activating a workflow
never fires for due times already past, and a cluster that was down for less than `LOOKBACK`
catches up on the due times it missed (later than their moment, but once).
"""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.objects import OBJECTS, serialize

from .. import queue
from ..models import DateTriggerFiring, Workflow, WorkflowRun, WorkflowVersion

logger = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(hours=24)


def fire_due_date_triggers(now: dt.datetime | None = None) -> int:
    """Starts the runs of every due time that came; returns how many started."""
    now = now or timezone.now()
    versions = WorkflowVersion.objects.filter(
        status=WorkflowVersion.Status.ACTIVE,
        trigger_type="date_relative",
        workflow__status=Workflow.Status.ACTIVE,
    ).select_related("workflow", "workflow__workspace")
    # Due times before the window can never fire again: their firing rows are history.
    # (A `datetime` trigger's row, with no record, is kept: it is what stops a second run.)
    DateTriggerFiring.objects.filter(due__lt=now - 2 * LOOKBACK).exclude(record_id="").delete()
    started = 0
    for version in versions:
        try:
            started += fire_version(version, now)
        except Exception:  # noqa: BLE001 - one broken workflow must not stop the others
            logger.exception("Date trigger of workflow %s failed", version.workflow_id)
    return started


def offset_of(settings: dict) -> dt.timedelta:
    """Due time minus the record's date."""
    offset = settings.get("offset") or {}
    amount = offset.get("amount", 0) or 0
    delta = dt.timedelta(**{offset.get("unit", "days"): amount})  # minutes, hours or days
    return -delta if offset.get("direction", "before") == "before" else delta


def as_moment(value) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    return timezone.make_aware(dt.datetime.combine(value, dt.time()))


def fire_version(version: WorkflowVersion, now: dt.datetime) -> int:
    settings = (version.graph.get("trigger") or {}).get("settings") or {}
    obj = OBJECTS[settings["object"]]
    field = settings["field"]
    offset = offset_of(settings)
    since = max(version.updated_at, now - LOOKBACK)  # updated_at: when it became active
    if since >= now:
        return 0
    workspace = version.workflow.workspace
    records = obj.queryset(workspace).filter(
        **_date_window(obj, field, since - offset, now - offset)
    )
    due_records = []
    for record in records:
        due = as_moment(getattr(record, field))
        if due is None:
            continue
        due += offset
        if since < due <= now:
            due_records.append((record, due))
    if not due_records:
        return 0
    return _start_once(version, workspace, due_records, since, now)


def _date_window(obj, field: str, start: dt.datetime, end: dt.datetime) -> dict:
    """Query filter for dates whose due time may fall in (start, end] (shifted by offset)."""
    if obj.model._meta.get_field(field).get_internal_type() == "DateField":
        local = timezone.get_current_timezone()
        return {
            f"{field}__gte": start.astimezone(local).date(),
            f"{field}__lte": end.astimezone(local).date(),
        }
    return {f"{field}__gt": start, f"{field}__lte": end}


def _start_once(version: WorkflowVersion, workspace, due_records, since, now) -> int:
    """One transaction: skip the due times already fired, start the rest, remember them. A
    concurrent sweep that fired some meanwhile makes the insert fail and the whole batch roll
    back (no run without its firing row); the next sweep retries."""
    workflow = version.workflow
    try:
        with transaction.atomic():
            fired = set(
                DateTriggerFiring.objects.filter(
                    workflow=workflow, due__gt=since, due__lte=now
                ).values_list("record_id", "due")
            )
            todo = [(r, due) for r, due in due_records if (str(r.pk), due) not in fired]
            if not todo:
                return 0
            payloads = [
                {"record": serialize(r, workspace), "due": due.isoformat()} for r, due in todo
            ]
            runs = queue.start_runs(version, payloads, WorkflowRun.Source.TRIGGER)
            DateTriggerFiring.objects.bulk_create(
                [
                    DateTriggerFiring(workflow=workflow, record_id=str(r.pk), due=due, run=run)
                    for (r, due), run in zip(todo, runs, strict=True)
                ]
            )
    except IntegrityError:
        logger.info("Date trigger of workflow %s fired concurrently; retrying later", workflow.pk)
        return 0
    return len(todo)
