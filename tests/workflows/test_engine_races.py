"""The engine's guarantees where they are races (SPEC section 5), with real threads and real
commits: each executor runs in its own thread on its own database connection, as a worker
would, never inside the test's transaction."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Task
from workflows import engine, forms, queue, services, tasks, worker
from workflows.models import FormRequest, RunStatus, StepRun, WorkflowRun
from workflows.steps import REGISTRY, register
from workflows.steps.base import StepHandler

from .helpers import graph, published, step
from .http_peer import Peer
from .test_step_email import smtp as real_smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
smtp = real_smtp_server  # aiosmtpd on 127.0.0.1, as in the email step tests


@pytest.fixture(autouse=True)
def real_workers(settings, monkeypatch):
    """Runs wait in the queue for the drains these tests start; no kick reaches a broker."""
    settings.WORKFLOW_RUN_INLINE = False
    monkeypatch.setattr(queue, "request_drain", lambda: None)


@pytest.fixture
def peer(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Peer()
    yield server
    server.stop()


class InThread(threading.Thread):
    """Calls `target` on a thread with its own database connection; keeps what it returns."""

    def __init__(self, target, *args):
        super().__init__(daemon=True)
        self.target, self.args, self.result, self.error = target, args, None, None
        self.start()

    def run(self):
        try:
            self.result = self.target(*self.args)
        except BaseException as error:  # noqa: BLE001 - re-raised by finish()
            self.error = error
        finally:
            connection.close()

    def finish(self, timeout=60):
        self.join(timeout)
        assert not self.is_alive(), "the thread did not finish"
        if self.error:
            raise self.error
        return self.result


def wait_for(condition, timeout=30, message="timed out"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(message)


def drain():
    return worker.drain(owner="worker-1", seconds=None)


def make_tasks_loop():
    return graph(
        step("each", "iterator", {"items": "{{trigger.items}}", "loop": ["make"]}),
        step("make", "create_record", {"object": "task", "values": {"title": "{{steps.each.item}}"}}),
    )  # fmt: skip


def slow_call_then_task(peer, seconds=1.0):
    return graph(
        step("call", "http_request", {"method": "GET", "url": peer.url(f"/slow?seconds={seconds}")},
             ["make"]),
        step("make", "create_record", {"object": "task", "values": {"title": "made"}}),
    )  # fmt: skip


def test_cancel_of_a_running_run_of_record_steps_takes_effect_after_its_current_step(workspace):
    workflow = published(workspace, make_tasks_loop())
    run = queue.start_run(workflow.active_version, {"items": list(range(900))}, "manual")
    draining = InThread(drain)
    wait_for(lambda: Task.objects.count() >= 20, message="the run never started")

    services.cancel_run(run)
    made_when_cancelled = Task.objects.count()
    draining.finish()

    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    # The step in progress when the cancel committed may still commit; nothing after it.
    assert Task.objects.count() <= made_when_cancelled + 1 < 900


def test_a_worker_that_lost_its_lease_commits_nothing_more(workspace, peer):
    workflow = published(workspace, slow_call_then_task(peer))
    run = queue.start_run(workflow.active_version, {}, "manual")
    assert worker.claim("worker-a") == [run.pk]
    first = InThread(engine.execute_claimed_run, run.pk, "worker-a")
    wait_for(lambda: StepRun.objects.filter(run=run, step_id="call", status="running").exists())

    # While worker A waits on its HTTP call its lease expires (a paused process), and
    # worker B recovers the run and claims it.
    WorkflowRun.objects.filter(pk=run.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert worker.recover_expired_leases() == 1
    assert worker.claim("worker-b") == [run.pk]

    assert first.finish() == "lost"
    assert Task.objects.count() == 0, "the worker that lost its lease wrote a record"
    assert StepRun.objects.get(run=run, step_id="call").status == "running"
    assert not StepRun.objects.filter(run=run, step_id="make").exists()

    assert engine.execute_claimed_run(run.pk, "worker-b") == RunStatus.COMPLETED
    assert Task.objects.count() == 1


class TakenOverMidWrite(StepHandler):
    """A record step during which another worker takes the run over: it writes a task, then
    the run's lease moves to worker B before the step run is stored (where the fence is)."""

    type = "taken_over_mid_write"
    writes_records = True

    def execute(self, ctx):
        Task.objects.create(workspace=ctx.workspace, title="written by the lost worker")
        WorkflowRun.objects.filter(pk=ctx.run.pk).update(lease_owner="worker-b")
        return {}


@pytest.fixture
def taken_over():
    register(TakenOverMidWrite)
    yield
    REGISTRY.pop(TakenOverMidWrite.type)


def test_a_record_step_whose_fence_fails_at_its_step_run_commits_nothing(workspace, taken_over):
    # On PostgreSQL the fence rides on the step run's INSERT, which also carries the COMMIT.
    workflow = published(workspace, graph(step("write", "taken_over_mid_write")))
    run = queue.start_run(workflow.active_version, {}, "manual")
    assert worker.claim("worker-a") == [run.pk]

    assert InThread(engine.execute_claimed_run, run.pk, "worker-a").finish() == "lost"

    assert Task.objects.count() == 0, "the worker that lost its lease wrote a record"
    assert not StepRun.objects.filter(run=run).exists()


def test_the_minute_sweep_drains_runs_whose_kick_was_lost(workspace):
    workflow = published(workspace, make_tasks_loop())
    runs = queue.start_runs(workflow.active_version, [{"items": [1]}, {"items": [2]}], "manual")
    assert WorkflowRun.objects.filter(status=RunStatus.QUEUED).count() == 2  # nobody kicked

    tasks.sweep()

    assert {run.status for run in WorkflowRun.objects.filter(pk__in=[r.pk for r in runs])} == {
        RunStatus.COMPLETED
    }


def test_a_drain_claims_only_the_run_it_executes(workspace, peer, settings):
    settings.WORKFLOW_MAX_CONCURRENT_RUNS = 10
    workflow = published(workspace, slow_call_then_task(peer, seconds=1))
    first, second = queue.start_runs(workflow.active_version, [{}, {}], "manual")
    draining = InThread(drain)
    wait_for(lambda: StepRun.objects.filter(run=first, step_id="call", status="running").exists())

    # The first run waits on its HTTP call: the second holds no slot meanwhile.
    assert WorkflowRun.objects.get(pk=second.pk).status == RunStatus.QUEUED
    assert WorkflowRun.objects.filter(status=RunStatus.RUNNING).count() == 1

    assert draining.finish() == 2
    assert Task.objects.count() == 2


def form_workflow():
    return graph(
        step("ask", "form", {"title": "Budget?", "fields": [{"name": "budget", "type": "number"}]},
             ["make"]),
        step("make", "create_record", {"object": "task", "values": {
            "title": "{{steps.ask.values.budget}}"}}),
    )  # fmt: skip


def test_a_form_submitted_before_its_run_parked_resumes_the_run(workspace, monkeypatch):
    workflow = published(workspace, form_workflow())
    run = queue.start_run(workflow.active_version, {}, "manual")
    park = engine.RunExecutor.park

    def submitted_in_the_park_window(executor, resume_at, parked=None):
        # The form exists and the run is still `running`: a person (another thread, its
        # own connection) submits it now, before the run parks.
        form = FormRequest.objects.get(run=run)
        InThread(forms.submit_form, form, {"budget": 42}).finish()
        return park(executor, resume_at, parked)

    monkeypatch.setattr(engine.RunExecutor, "park", submitted_in_the_park_window)
    InThread(drain).finish()

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED, (run.status, run.waiting_for)
    assert list(Task.objects.values_list("title", flat=True)) == ["42"]


class WorkerKilled(BaseException):
    """Stands for SIGKILL inside a step: nothing of the executor runs after it."""


class KillsItsWorker(StepHandler):
    type = "kills_its_worker"
    slow = True
    calls = 0

    def execute(self, ctx):
        KillsItsWorker.calls += 1
        raise WorkerKilled()


@pytest.fixture
def killer():
    KillsItsWorker.calls = 0
    register(KillsItsWorker)
    yield KillsItsWorker
    REGISTRY.pop(KillsItsWorker.type)


def die_and_recover(run, owner):
    """A worker claims the run and dies in it; its lease expires and the run is recovered."""
    assert worker.claim(owner) == [run.pk]
    with pytest.raises(WorkerKilled):
        InThread(engine.execute_claimed_run, run.pk, owner).finish()
    WorkflowRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now())
    assert worker.recover_expired_leases() == 1


def test_a_step_that_kills_its_worker_three_times_fails_the_run(workspace, killer):
    workflow = published(workspace, graph(step("boom", "kills_its_worker")))
    run = queue.start_run(workflow.active_version, {}, "manual")
    for owner in ("worker-1", "worker-2", "worker-3"):
        die_and_recover(run, owner)

    assert worker.claim("worker-4") == [run.pk]
    assert engine.execute_claimed_run(run.pk, "worker-4") == RunStatus.FAILED
    assert killer.calls == 3
    run.refresh_from_db()
    assert "stopped 3 times" in run.error


def test_after_a_crash_during_the_smtp_hand_off_the_email_is_not_sent_again(
    workspace, smtp, monkeypatch
):
    from workflows.steps import email

    def sent_then_killed(row, content):
        email.build_message(content, row.message_id).send()  # SMTP has it; the row still
        raise WorkerKilled()  # says `pending` when the worker dies

    raw = graph(step("mail", "send_email", {"to": "ada@example.com", "subject": "Hi"}))
    workflow = published(workspace, raw)
    run = queue.start_run(workflow.active_version, {}, "manual")
    with monkeypatch.context() as patch:
        patch.setattr(email, "deliver", sent_then_killed)
        die_and_recover(run, "worker-1")

    InThread(drain).finish()

    run.refresh_from_db()
    assert len(smtp.messages) == 1
    assert run.status == RunStatus.FAILED
    assert "delivery unknown: see the outbox" in run.error


def test_after_a_crash_once_the_email_was_sent_the_replay_completes_without_sending(
    workspace, smtp, monkeypatch
):
    from workflows.steps import email

    deliver = email.deliver

    def delivered_then_killed(row, content):
        deliver(row, content)
        raise WorkerKilled()  # before the step run says `succeeded`

    raw = graph(step("mail", "send_email", {"to": "ada@example.com", "subject": "Hi"}))
    workflow = published(workspace, raw)
    run = queue.start_run(workflow.active_version, {}, "manual")
    with monkeypatch.context() as patch:
        patch.setattr(email, "deliver", delivered_then_killed)
        die_and_recover(run, "worker-1")

    InThread(drain).finish()

    run.refresh_from_db()
    assert len(smtp.messages) == 1
    assert run.status == RunStatus.COMPLETED, run.error
