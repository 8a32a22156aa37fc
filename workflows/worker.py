"""The worker loop: claim queued runs, execute them, recover runs of dead workers.

This is what the django-q2 tasks call, and the only part that imports the executor. A claim
takes a lease that the executor renews; `recover_expired_leases` puts runs whose worker died
back in the queue. Both it and `resume_due_runs` run at the start of each drain and every
minute from the `sweep` schedule.
"""

import os
import socket
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.models import Workspace

from .engine import execute_claimed_run
from .live import events
from .models import RunStatus, WorkflowRun
from .queue import request_drain, resume_due_runs, schedule_next_resume

# One run per claim: a claimed run is `running` and holds a slot of its workspace's cap, so a
# worker claims only the run it is about to execute (a batch would sit idle behind a slow run).
CLAIM_BATCH = 1
DRAIN_SECONDS = 60


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(owner: str, batch: int = CLAIM_BATCH) -> "Claimed":
    """Moves up to `batch` queued runs to `running` under this owner's lease, oldest first,
    never letting a workspace go over its cap of running runs.

    The list has attributes `more` (whether other runs were waiting for a worker) and `fresh`
    (the runs that never started, so have no step runs to load)."""
    cap = settings.WORKFLOW_MAX_CONCURRENT_RUNS
    now = timezone.now()
    with transaction.atomic():
        candidates, running = _claimable(batch, full=())
        chosen = _choose(candidates, running, cap, batch)
        if candidates and not chosen:
            # The oldest runs' workspaces are at their cap: look past those workspaces. Only
            # then is the count over all running runs worth its query (docs/benchmarks.md).
            candidates, running = _claimable(batch, full=_full_workspaces(cap))
            chosen = _choose(candidates, running, cap, batch)
        if not chosen:
            return Claimed(more=bool(candidates))
        # One UPDATE: the lease, and the start time of a run that never started.
        WorkflowRun.objects.filter(id__in=chosen, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            lease_owner=owner,
            lease_expires_at=now + timedelta(seconds=settings.WORKFLOW_RUN_LEASE_SECONDS),
            started_at=Coalesce(F("started_at"), Value(now)),
        )
        details = {run_id: (workspace_id, fresh) for run_id, workspace_id, fresh in candidates}
        events.runs_claimed({run_id: details[run_id][0] for run_id in chosen})
    return Claimed(
        chosen,
        more=len(candidates) > len(chosen),
        fresh={run_id for run_id in chosen if details[run_id][1]},
    )


def _claimable(batch: int, full) -> tuple[list[tuple], dict]:
    """The oldest queued runs outside the `full` workspaces (one more than `batch`, which
    tells whether more wait), locked; and the running runs of their workspaces."""
    queued = WorkflowRun.objects.filter(status=RunStatus.QUEUED).order_by("created_at")
    if full:
        queued = queued.exclude(workspace_id__in=full)
    if connection.vendor == "postgresql":
        queued = queued.select_for_update(skip_locked=True, of=("self",))
    rows = list(queued.values_list("id", "workspace_id", "started_at", "retry_of_id")[: batch + 1])
    # A run that never started and is no retry (which gets copies of the old step runs) has
    # no step runs: the executor skips loading them.
    candidates = [
        (i, ws, started is None and retry_of is None) for i, ws, started, retry_of in rows
    ]
    if not candidates:
        return [], {}
    workspaces = sorted({ws for _, ws, _ in candidates})
    if connection.vendor == "postgresql":
        # Serialises claims per workspace so two workers cannot both fill the last slot. NO
        # KEY: the inserts of record steps and new runs (foreign keys to the workspace take
        # KEY SHARE) need not wait for a claim to commit.
        list(
            Workspace.objects.select_for_update(no_key=True)
            .filter(id__in=workspaces)
            .values_list("id", flat=True)
        )
    running = dict(
        WorkflowRun.objects.filter(workspace_id__in=workspaces, status=RunStatus.RUNNING)
        .values("workspace_id")
        .annotate(n=Count("id"))
        .values_list("workspace_id", "n")
    )
    return candidates, running


def _choose(candidates, running: dict, cap: int, batch: int) -> list:
    chosen = []
    for run_id, workspace_id, _ in candidates:
        if running.get(workspace_id, 0) < cap:
            chosen.append(run_id)
            running[workspace_id] = running.get(workspace_id, 0) + 1
            if len(chosen) == batch:
                break
    return chosen


def _full_workspaces(cap: int) -> list:
    return [
        row["workspace_id"]
        for row in WorkflowRun.objects.filter(status=RunStatus.RUNNING)
        .values("workspace_id")
        .annotate(n=Count("id"))
        .filter(n__gte=cap)
    ]


class Claimed(list):
    def __init__(self, run_ids=(), more: bool = False, fresh=frozenset()):
        super().__init__(run_ids)
        self.more = more
        self.fresh = fresh


def drain(owner: str | None = None, seconds: float | None = DRAIN_SECONDS) -> int:
    """Claims and executes queued runs until none is left (or `seconds` have passed).

    When more runs wait than this drain claimed first, another drain is kicked so an idle
    worker joins in (that one does the same, so workers join one by one while work remains).
    Once the queue is empty, the next due delay gets a timer (queue.schedule_next_resume).
    """
    owner = owner or worker_id()
    recover_expired_leases()
    resume_due_runs(kick_after=False)
    deadline = None if seconds is None else time.monotonic() + seconds
    done = 0
    asked_for_help = settings.WORKFLOW_RUN_INLINE
    while deadline is None or time.monotonic() < deadline:
        claimed = claim(owner)
        if not claimed:
            schedule_next_resume()
            return done
        if claimed.more and not asked_for_help:
            request_drain()
            asked_for_help = True
        for run_id in claimed:
            outcome = execute_claimed_run(run_id, owner, fresh=run_id in claimed.fresh)
            done += 1
            if outcome == "released":
                return done  # the database is in trouble: the kick of the release resumes
    request_drain()  # time is up and work may remain: hand over to a fresh task
    return done


def recover_expired_leases() -> int:
    """Runs left `running` by a dead worker go back to the queue, to resume by replay."""
    return WorkflowRun.objects.filter(
        status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
    ).update(status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None)
