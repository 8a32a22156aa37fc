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
from django.db.models import Count
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


def claim(owner: str, batch: int = CLAIM_BATCH) -> list:
    """Moves up to `batch` queued runs to `running` under this owner's lease, oldest first,
    never letting a workspace go over its cap of running runs.

    The list has an attribute `more`: whether other runs were waiting for a worker."""
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
            return Claimed()
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
    return Claimed(chosen, more=len(candidates) > len(chosen))


class Claimed(list):
    def __init__(self, run_ids=(), more: bool = False):
        super().__init__(run_ids)
        self.more = more


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
            execute_claimed_run(run_id, owner)
            done += 1
    request_drain()  # time is up and work may remain: hand over to a fresh task
    return done


def recover_expired_leases() -> int:
    """Runs left `running` by a dead worker go back to the queue, to resume by replay."""
    return WorkflowRun.objects.filter(
        status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
    ).update(status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None)
