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
from django.utils import timezone
from django_q.tasks import async_task

from crm.models import Task
from workflows import queue
from workflows.models import RunStatus, StepRun, WorkflowRun

from .helpers import graph, published, step
from .http_peer import Peer

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
RUNS = 100
STEPS = 4


def worker_env(**overrides) -> dict:
    """The environment of a worker process that uses this test's database."""
    env = {
        **os.environ,
        "WORKFLOW_RUN_LEASE_SECONDS": "2",
        "Q_WORKERS": "2",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "WORKFLOW_HTTP_ALLOWED_HOSTS": "127.0.0.1",
        **overrides,
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


def start_worker(**env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=worker_env(**env),
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


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.stop()


def test_a_worker_killed_mid_run_loses_no_run_and_duplicates_no_record(workspace, settings, peer):
    settings.WORKFLOW_RUN_INLINE = False
    # s0 -> s1 -> call -> s2 -> s3: the kill lands while some run waits on its HTTP call,
    # after two of its record steps committed and before the other two.
    order = ["s0", "s1", "call", "s2", "s3"]
    steps = [
        step(name, "http_request", {"method": "GET", "url": peer.url("/slow?seconds=0.05")})
        if name == "call"
        else step(name, "create_record", {"object": "task", "values": {"title": f"{{{{trigger.n}}}}-{name}"}})
        for name in order
    ]  # fmt: skip
    for current, following in zip(steps, order[1:], strict=False):
        current["next"] = [following]
    workflow = published(workspace, graph(*steps))
    queue.start_runs(workflow.active_version, [{"n": n} for n in range(RUNS)], "manual")
    async_task("workflows.tasks.drain")

    in_call = StepRun.objects.filter(step_id="call", status="running")
    first = start_worker()
    try:
        wait_for(lambda: completed() >= 10 and in_call.exists(), 90, "no run reached its call")
        kill_hard(first)
    finally:
        stop(first)
    interrupted = set(in_call.values_list("run_id", flat=True))
    assert completed() < RUNS, "the worker finished everything before it was killed"
    assert interrupted, "the kill did not interrupt any run"
    assert all(StepRun.objects.filter(run_id=i, step_id="s1").exists() for i in interrupted)

    second = start_worker()
    try:
        wait_for(recovered_leases_expired, 10, "the dead worker's leases never expired")
        async_task("workflows.tasks.drain")
        wait_for(lambda: completed() == RUNS, 120, f"only {completed()} of {RUNS} completed")
    finally:
        stop(second)

    titles = list(Task.objects.values_list("title", flat=True))
    assert len(titles) == len(set(titles)) == RUNS * STEPS
    assert StepRun.objects.filter(status="succeeded").count() == RUNS * (STEPS + 1)


def recovered_leases_expired() -> bool:
    return not WorkflowRun.objects.filter(
        status=RunStatus.RUNNING, lease_expires_at__gte=timezone.now()
    ).exists()


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


def test_two_workers_drain_500_runs_under_the_cap_losing_and_duplicating_none(
    workspace, settings, peer
):
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("the cluster test runs on PostgreSQL + Redis")
    settings.WORKFLOW_RUN_INLINE = False
    runs, cap = 500, 10
    # Each run waits 50 ms on a loopback call between its two record steps, so runs overlap
    # and the 12 executors would run more than 10 at once if the cap did not hold them back.
    make = [
        step("s0", "create_record", {"object": "task", "values": {"title": "{{trigger.n}}-0"}}, ["call"]),
        step("call", "http_request", {"method": "GET", "url": peer.url("/slow?seconds=0.05")}, ["s1"]),
        step("s1", "create_record", {"object": "task", "values": {"title": "{{trigger.n}}-1"}}),
    ]  # fmt: skip
    workflow = published(workspace, graph(*make))
    queue.start_runs(workflow.active_version, [{"n": n} for n in range(runs)], "manual")
    # 2 x 6 executors for a cap of 10: the cap, not the workers, limits the running runs.
    env = {"Q_WORKERS": "6", "WORKFLOW_MAX_CONCURRENT_RUNS": str(cap),
           "WORKFLOW_RUN_LEASE_SECONDS": "30"}  # fmt: skip
    workers = [start_worker(**env), start_worker(**env)]
    most_running = 0
    try:
        for _ in range(12):  # one drain per executor: the cap, not a late join, bounds them
            async_task("workflows.tasks.drain")
        deadline = time.monotonic() + 60
        while completed() < runs and time.monotonic() < deadline:
            running = WorkflowRun.objects.filter(status=RunStatus.RUNNING).count()
            most_running = max(most_running, running)
            time.sleep(0.01)
    finally:
        for worker in workers:
            stop(worker)

    assert completed() == runs, f"only {completed()} of {runs} completed"
    assert 1 < most_running <= cap, most_running
    titles = list(Task.objects.values_list("title", flat=True))
    assert len(titles) == len(set(titles)) == runs * 2
    assert StepRun.objects.count() == runs * 3
