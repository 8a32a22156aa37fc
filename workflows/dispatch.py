"""Starting runs and handing them to workers.

The database is the run queue: starting a run stores it `queued`, and nothing else. Workers
run `drain`, a django-q2 task that claims queued runs in small batches (respecting the
per-workspace cap `WORKFLOW_MAX_CONCURRENT_RUNS`), executes them and claims again until none
is left. A `kick` enqueues one `drain`, and kicks are coalesced (at most one enqueue per
`KICK_INTERVAL` per process), so intake of hundreds of runs per second costs a handful of queue
round trips, not one per run.

Durability: a claim takes a lease that the executor renews; `recover_expired_leases` puts runs
whose worker died back in the queue, and `resume_due_runs` wakes `waiting` runs whose delay is
over. Both run at the start of each drain and every minute from the `sweep` schedule.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from crm.models import Workspace

from .live import events
from .models import RunStatus, WorkflowRun, WorkflowVersion

logger = logging.getLogger(__name__)

CLAIM_BATCH = 8
KICK_INTERVAL = 0.05
DRAIN_SECONDS = 60


def start_run(
    version: WorkflowVersion,
    payload: dict | None,
    source: str = "trigger",
    *,
    started_by=None,
    parent_run: WorkflowRun | None = None,
    depth: int | None = None,
) -> WorkflowRun:
    """The one entry point that starts a run, whatever started it (SPEC section 3).

    The run is stored `queued`; a worker picks it up once the transaction commits.
    """
    return start_runs(
        version, [payload or {}], source, started_by=started_by, parent_run=parent_run, depth=depth
    )[0]


def start_runs(
    version: WorkflowVersion,
    payloads: Iterable[dict],
    source: str = "trigger",
    *,
    started_by=None,
    parent_run: WorkflowRun | None = None,
    depth: int | None = None,
) -> list[WorkflowRun]:
    """Starts one run per payload with one insert (bulk manual runs of thousands of records)."""
    if depth is None:
        depth = parent_run.depth + 1 if parent_run else 1
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
            created_at=now + timedelta(microseconds=index),
        )
        for index, payload in enumerate(payloads)
    ]
    WorkflowRun.objects.bulk_create(runs, batch_size=500)
    events.publish_many(events.runs_started(runs))
    kick()
    return runs


# --- waking workers --------------------------------------------------------------------------

_kick_lock = threading.Lock()
_kick_due = False
_kick_timer: threading.Timer | None = None
_inline = threading.local()


def kick() -> None:
    """Makes sure a worker will look at the run queue after the current transaction commits."""
    if settings.WORKFLOW_RUN_INLINE:
        _drain_inline()
        return
    transaction.on_commit(_request_drain, robust=True)


def _request_drain() -> None:
    """Trailing-edge coalescing: every request is followed by an enqueue that starts after it,
    but requests within KICK_INTERVAL share one."""
    global _kick_due, _kick_timer
    with _kick_lock:
        _kick_due = True
        if _kick_timer is None:
            _kick_timer = threading.Timer(KICK_INTERVAL, _enqueue_drain)
            _kick_timer.daemon = True
            _kick_timer.start()


def _enqueue_drain() -> None:
    global _kick_due, _kick_timer
    with _kick_lock:
        _kick_due = False
        _kick_timer = None
    try:
        from django_q.tasks import async_task

        async_task("workflows.tasks.drain", q_options={"ack_failure": True}, save=False)
    except Exception:  # noqa: BLE001 - the sweep picks the runs up within a minute
        logger.exception("Could not enqueue a drain task")
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def _drain_inline() -> None:
    """Tests run the engine in-process; a run that starts runs adds to the same loop."""
    if getattr(_inline, "active", False):
        _inline.more = True
        return
    _inline.active = True
    try:
        _inline.more = True
        while _inline.more:
            _inline.more = False
            drain(owner="inline", seconds=None)
    finally:
        _inline.active = False


# --- claiming and draining -------------------------------------------------------------------


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(owner: str, batch: int = CLAIM_BATCH) -> list:
    """Moves up to `batch` queued runs to `running` under this owner's lease, oldest first,
    never letting a workspace go over its cap of running runs."""
    cap = settings.WORKFLOW_MAX_CONCURRENT_RUNS
    now = timezone.now()
    with transaction.atomic():
        full = [
            row["workspace_id"]
            for row in WorkflowRun.objects.filter(status=RunStatus.RUNNING)
            .values("workspace_id")
            .annotate(n=Count("id"))
            .filter(n__gte=cap)
        ]
        queued = (
            WorkflowRun.objects.filter(status=RunStatus.QUEUED)
            .exclude(workspace_id__in=full)
            .order_by("created_at")
        )
        if connection.vendor == "postgresql":
            queued = queued.select_for_update(skip_locked=True, of=("self",))
        candidates = list(queued.values_list("id", "workspace_id")[: batch * 4])
        if not candidates:
            return []
        workspaces = sorted({ws for _, ws in candidates})
        if connection.vendor == "postgresql":
            # Serialises claims per workspace so two workers cannot both fill the last slot.
            list(
                Workspace.objects.select_for_update()
                .filter(id__in=workspaces)
                .values_list("id", flat=True)
            )
        running = dict(
            WorkflowRun.objects.filter(workspace_id__in=workspaces, status=RunStatus.RUNNING)
            .values("workspace_id")
            .annotate(n=Count("id"))
            .values_list("workspace_id", "n")
        )
        chosen = []
        for run_id, workspace_id in candidates:
            if running.get(workspace_id, 0) < cap:
                chosen.append(run_id)
                running[workspace_id] = running.get(workspace_id, 0) + 1
                if len(chosen) == batch:
                    break
        WorkflowRun.objects.filter(id__in=chosen, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.WORKFLOW_RUN_LEASE_SECONDS),
        )
        WorkflowRun.objects.filter(id__in=chosen, started_at__isnull=True).update(started_at=now)
        workspace_of = dict(candidates)
        events.runs_claimed({run_id: workspace_of[run_id] for run_id in chosen})
    return chosen


def drain(owner: str | None = None, seconds: float | None = DRAIN_SECONDS) -> int:
    """Claims and executes queued runs until none is left (or `seconds` have passed).

    When a claim comes back full, another drain is kicked first so idle workers join in.
    """
    from .engine import execute_claimed_run

    owner = owner or worker_id()
    recover_expired_leases()
    resume_due_runs(kick_after=False)
    deadline = None if seconds is None else time.monotonic() + seconds
    done = 0
    while deadline is None or time.monotonic() < deadline:
        claimed = claim(owner)
        if not claimed:
            return done
        if len(claimed) == CLAIM_BATCH and not settings.WORKFLOW_RUN_INLINE:
            _request_drain()
        for run_id in claimed:
            execute_claimed_run(run_id, owner)
            done += 1
    _request_drain()  # time is up and work may remain: hand over to a fresh task
    return done


def recover_expired_leases() -> int:
    """Runs left `running` by a dead worker go back to the queue, to resume by replay."""
    return WorkflowRun.objects.filter(
        status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
    ).update(status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None)


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
