"""The run queue: starting runs, waking workers, resuming waiting runs.

This is what triggers and services call; it never imports the executor (workflows/worker.py
does). The database is the queue: starting a run stores it `queued`, and nothing else. A `kick`
enqueues one django-q2 `drain` task after the current transaction commits, and kicks are
coalesced (at most one enqueue per `KICK_INTERVAL` per process), so intake of hundreds of runs
per second costs a handful of queue round trips, not one per run. A lost kick delays runs, it
never loses them: the minute sweep drains whatever is queued.
"""

import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import runtime
from .live import events
from .models import RunStatus, WorkflowRun, WorkflowVersion

logger = logging.getLogger(__name__)

KICK_INTERVAL = 0.05


def start_run(
    version: WorkflowVersion,
    payload: dict | None,
    source: str = "trigger",
    *,
    started_by=None,
    parent_run: WorkflowRun | None = None,
    depth: int | None = None,
    dry_run: bool = False,
) -> WorkflowRun:
    """The one entry point that starts a run, whatever started it (SPEC section 3).

    The run is stored `queued` in the caller's transaction; a worker picks it up once that
    transaction commits.
    """
    return start_runs(
        version, [payload or {}], source, started_by=started_by, parent_run=parent_run,
        depth=depth, dry_run=dry_run,
    )[0]  # fmt: skip


def start_runs(
    version: WorkflowVersion,
    payloads: Iterable[dict],
    source: str = "trigger",
    *,
    started_by=None,
    parent_run: WorkflowRun | None = None,
    depth: int | None = None,
    dry_run: bool = False,
) -> list[WorkflowRun]:
    """Starts one run per payload with one insert (bulk manual runs of thousands of records)."""
    # Without a parent run, one deeper than the caller (`runtime.calling_depth`: an HTTP
    # call from a run carries X-Workflow-Depth); runtime.ChainTooDeep past depth 5.
    if depth is None:
        depth = runtime.depth_for_new_run(parent_run.depth if parent_run else None)
    elif depth > runtime.MAX_DEPTH:
        raise runtime.ChainTooDeep(f"Not started: runs stop at depth {runtime.MAX_DEPTH}.")
    workflow = version.workflow
    now = timezone.now()
    runs = [
        WorkflowRun(
            id=uuid.uuid4(),
            workspace_id=workflow.workspace_id,
            workflow=workflow,
            version=version,
            source=source,
            status=RunStatus.QUEUED,
            trigger_payload=payload,
            started_by=started_by if getattr(started_by, "pk", None) else None,
            parent_run=parent_run,
            depth=depth,
            dry_run=dry_run,
            created_at=now + timedelta(microseconds=index),
        )
        for index, payload in enumerate(payloads)
    ]
    WorkflowRun.objects.bulk_create(runs, batch_size=500)
    events.publish_many(events.runs_started(runs))
    kick()
    return runs


def resume_due_runs(kick_after: bool = True) -> int:
    """`waiting` runs whose time has come (a delay, a parked retry) go back to the queue."""
    count = WorkflowRun.objects.filter(
        status=RunStatus.WAITING, resume_at__lte=timezone.now()
    ).update(status=RunStatus.QUEUED, resume_at=None, waiting_for="")
    if count and kick_after:
        kick()
    return count


def resume_run(run: WorkflowRun) -> bool:
    """Puts one waiting run back in the queue now (a form was submitted)."""
    updated = WorkflowRun.objects.filter(pk=run.pk, status=RunStatus.WAITING).update(
        status=RunStatus.QUEUED, resume_at=None, waiting_for=""
    )
    if updated:
        events.publish_many(events.run_events(run, status=RunStatus.QUEUED, waiting_for=""))
        kick()
    return bool(updated)


# --- waking delays on time (SPEC 5: within 1 s of the due time) -------------------------------

# The minute sweep only guarantees a delay resumes within a minute, even across restarts; a
# process that parks a run, or finds the queue empty, also keeps one timer for the earliest
# resume due before the next sweep, so a worker that is free picks the run up on time.
RESUME_HORIZON_SECONDS = 65
_resume_lock = threading.Lock()
_resume_timer: threading.Timer | None = None
_resume_due: float | None = None  # epoch seconds the timer fires at


def schedule_resume(at) -> None:
    """Wakes waiting runs due at `at` (a datetime) on time, if that is before the next sweep."""
    global _resume_timer, _resume_due
    if at is None or settings.WORKFLOW_RUN_INLINE:
        return
    due = at.timestamp()
    delay = due - timezone.now().timestamp()
    if delay > RESUME_HORIZON_SECONDS:
        return
    with _resume_lock:
        if _resume_due is not None and _resume_due <= due:
            return  # an earlier timer will look again once it fires
        if _resume_timer is not None:
            _resume_timer.cancel()
        _resume_due = due
        _resume_timer = threading.Timer(max(delay, 0) + 0.005, _resume_on_time)
        _resume_timer.daemon = True
        _resume_timer.start()


def schedule_next_resume() -> None:
    """A timer for the earliest `waiting` run due before the next sweep."""
    if settings.WORKFLOW_RUN_INLINE:
        return
    due = (
        WorkflowRun.objects.filter(status=RunStatus.WAITING, resume_at__isnull=False)
        .order_by("resume_at")
        .values_list("resume_at", flat=True)
        .first()
    )
    schedule_resume(due)


def _resume_on_time() -> None:
    global _resume_timer, _resume_due
    with _resume_lock:
        _resume_timer, _resume_due = None, None
    try:
        if resume_due_runs(kick_after=False):
            # Enqueued now, not after a kick's coalescing interval: these runs are due already
            # (bench: delay lateness).
            _send_drain()
        schedule_next_resume()
    except Exception:  # noqa: BLE001 - the minute sweep resumes what a failed timer left
        logger.exception("Could not resume due runs")
    finally:
        connection.close()


# --- waking workers --------------------------------------------------------------------------

_kick_lock = threading.Lock()
_kick_timer: threading.Timer | None = None
_inline = threading.local()


def kick() -> None:
    """Makes sure a worker will look at the run queue after the current transaction commits."""
    if settings.WORKFLOW_RUN_INLINE:
        _drain_inline()
        return
    transaction.on_commit(request_drain, robust=True)


def request_drain() -> None:
    """Trailing-edge coalescing: every request is followed by an enqueue that starts after it,
    but requests within KICK_INTERVAL share one."""
    global _kick_timer
    with _kick_lock:
        if _kick_timer is None:
            _kick_timer = threading.Timer(KICK_INTERVAL, _enqueue_drain)
            _kick_timer.daemon = True
            _kick_timer.start()


def _enqueue_drain() -> None:
    global _kick_timer
    with _kick_lock:
        _kick_timer = None
    try:
        _send_drain()
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def _send_drain() -> None:
    try:
        from django_q.tasks import async_task

        async_task("workflows.tasks.drain", q_options={"ack_failure": True}, save=False)
    except Exception:  # noqa: BLE001 - the minute sweep drains what a lost kick left queued
        logger.exception("Could not enqueue a drain task")


def _drain_inline() -> None:
    """Tests (WORKFLOW_RUN_INLINE) run the engine in-process; a run that starts runs adds to
    the same loop."""
    if getattr(_inline, "active", False):
        _inline.more = True
        return
    from .worker import drain  # test mode only: the queue never needs the executor otherwise

    _inline.active = True
    try:
        _inline.more = True
        while _inline.more:
            _inline.more = False
            drain(owner="inline", seconds=None)
    finally:
        _inline.active = False
