"""Durability with real workers: a worker killed with SIGKILL mid-run loses no run and
duplicates no record (SPEC section 5)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django_q.tasks import async_task

from crm.models import Task
from workflows import queue
from workflows.models import RunStatus, StepRun, WorkflowRun

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
RUNS = 150
STEPS = 5


def worker_env() -> dict:
    """The environment of a worker process that uses this test's database."""
    env = {
        **os.environ,
        "WORKFLOW_RUN_LEASE_SECONDS": "2",
        "Q_WORKERS": "2",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
    }
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = db["NAME"]
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


def start_worker() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=worker_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_hard(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill_hard(worker)


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(message)


def completed() -> int:
    return WorkflowRun.objects.filter(status=RunStatus.COMPLETED).count()


def test_a_worker_killed_mid_run_loses_no_run_and_duplicates_no_record(workspace, settings):
    settings.WORKFLOW_RUN_INLINE = False
    chain = [
        step(
            f"s{i}",
            "create_record",
            {"object": "task", "values": {"title": f"{{{{trigger.n}}}}-{i}"}},
            [f"s{i + 1}"] if i + 1 < STEPS else [],
        )
        for i in range(STEPS)
    ]
    workflow = published(workspace, graph(*chain))
    queue.start_runs(workflow.active_version, [{"n": n} for n in range(RUNS)], "manual")
    async_task("workflows.tasks.drain")

    first = start_worker()
    try:
        wait_for(lambda: completed() >= 10, 90, "the first worker never completed a run")
        kill_hard(first)
    finally:
        stop(first)
    interrupted = WorkflowRun.objects.filter(status=RunStatus.RUNNING).count()
    assert completed() < RUNS, "the worker finished everything before it was killed"

    second = start_worker()
    try:
        time.sleep(2.5)  # let the dead worker's leases expire
        async_task("workflows.tasks.drain")
        wait_for(lambda: completed() == RUNS, 120, f"only {completed()} of {RUNS} completed")
    finally:
        stop(second)

    assert interrupted >= 1, "the kill did not interrupt any run"
    titles = list(Task.objects.values_list("title", flat=True))
    assert len(titles) == len(set(titles)) == RUNS * STEPS
    assert StepRun.objects.filter(status="succeeded").count() == RUNS * STEPS


def test_a_delay_resumes_within_a_second_of_its_due_time(workspace, settings):
    settings.WORKFLOW_RUN_INLINE = False
    wait = step("wait", "delay", {"duration": {"amount": 2, "unit": "seconds"}}, ["make"])
    make = step("make", "create_record", {"object": "task", "values": {"title": "after"}})
    workflow = published(workspace, graph(wait, make))
    worker = start_worker()
    try:
        run = queue.start_run(workflow.active_version, {}, "manual")  # kicks after commit
        wait_for(lambda: completed() == 1, 30, "the delayed run never completed")
    finally:
        stop(worker)
    due = StepRun.objects.get(run=run, step_id="wait").started_at.timestamp() + 2
    resumed = StepRun.objects.get(run=run, step_id="make").started_at.timestamp()
    assert 0 <= resumed - due < 1.0, f"resumed {resumed - due:.2f} s after its due time"
