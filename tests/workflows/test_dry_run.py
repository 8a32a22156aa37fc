"""Dry runs (issue 12, "Test"): the run's record writes roll back at its end, its emails stay
unsent in the outbox, its record triggers start nothing; its step runs and outcome stay."""

import pytest
from django.core import mail
from django.db import connection, connections

from crm.models import Person
from workflows import services
from workflows.dry_run import DryRunExecutor
from workflows.models import FormRequest, OutboxEmail, RunStatus, WorkflowRun
from workflows.selectors import runs_for_record
from workflows.timeline import record_timeline_entries

from .helpers import graph, person, published, step, steps_of

# Real commits and rollbacks: the engine runs after the test run's row is committed, as a
# worker would, and a dry run's rollback is a real one.
pytestmark = pytest.mark.django_db(transaction=True)

CREATE_FIND_UPDATE_EMAIL = graph(
    step(
        "create", "create_record",
        {"object": "person", "values": {"first_name": "Grace", "email": "{{trigger.email}}"}},
        ["find"],
    ),
    step(
        "find", "find_records",
        {"object": "person",
         "where": {"all": [{"field": "email", "op": "eq", "value": "{{trigger.email}}"}]}},
        ["update"],
    ),
    step(
        "update", "update_record",
        {"object": "person", "id": "{{steps.find.first.id}}", "values": {"job_title": "Admiral"}},
        ["email"],
    ),
    step(
        "email", "send_email",
        {"to": "{{steps.update.record.email}}", "subject": "Hi {{steps.update.record.job_title}}"},
    ),
)  # fmt: skip
PAYLOAD = {"email": "grace@navy.example"}


def workflow_with(workspace, raw_graph, name="Dry run"):
    return services.create_workflow(workspace, name, graph=raw_graph)


def test_run(workflow, payload=None, dry_run=True) -> WorkflowRun:
    run = services.start_test_run(workflow, payload or {}, dry_run=dry_run)
    run.refresh_from_db()
    return run


test_run.__test__ = False  # a helper, not a test


def test_a_dry_run_writes_no_record_and_sends_no_email(workspace):
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.dry_run
    assert not Person.objects.exists()
    assert mail.outbox == []
    [email] = OutboxEmail.objects.filter(run=run)
    assert email.dry_run and email.status == OutboxEmail.Status.PENDING
    assert email.to == ["grace@navy.example"] and email.subject == "Hi Admiral"


def test_a_dry_runs_steps_show_what_its_rolled_back_writes_did(workspace):
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    steps = steps_of(run)
    assert [s.step_id for s in run.steps.order_by("sequence")] == [
        "create", "find", "update", "email"
    ]  # fmt: skip
    created = steps[("create", "")].output["record"]
    assert created["first_name"] == "Grace" and created["email"] == "grace@navy.example"
    found = steps[("find", "")].output
    assert found["count"] == 1 and found["first"]["id"] == created["id"]
    assert steps[("update", "")].output["record"]["job_title"] == "Admiral"
    assert any("not sent" in n for n in steps[("email", "")].output["notices"])


def test_the_same_workflow_as_a_normal_test_run_writes_and_sends(workspace):
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD, dry_run=False)
    assert run.status == RunStatus.COMPLETED, run.error
    assert not run.dry_run
    assert Person.objects.get().job_title == "Admiral"
    assert len(mail.outbox) == 1
    email = OutboxEmail.objects.get(run=run)
    assert not email.dry_run and email.status == OutboxEmail.Status.SENT


def test_a_dry_runs_record_writes_start_no_record_triggered_runs(workspace):
    listener = published(
        workspace,
        graph(
            step("tag", "update_record",
                 {"object": "person", "id": "{{trigger.record.id}}", "values": {"job_title": "x"}}),
            trigger={"type": "record_created", "settings": {"object": "person"}},
        ),
        name="On new person",
    )  # fmt: skip
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    assert run.status == RunStatus.COMPLETED, run.error
    assert not WorkflowRun.objects.filter(workflow=listener).exists()
    notices = steps_of(run)[("create", "")].output["notices"]
    assert notices == ["Dry run: workflow 'On new person' was not started."]


def test_a_normal_test_runs_record_writes_start_record_triggered_runs(workspace):
    listener = published(
        workspace,
        graph(
            step("noted", "filter", {"when": {"all": []}}),
            trigger={"type": "record_created", "settings": {"object": "person"}},
        ),
    )
    test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD, dry_run=False)
    assert WorkflowRun.objects.filter(workflow=listener).count() == 1


def test_a_dry_run_skips_a_delay_and_says_so(workspace):
    raw = graph(
        step("wait", "delay", {"duration": {"amount": 3, "unit": "days"}}, ["after"]),
        step("after", "filter", {"when": {"all": []}}),
    )
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.COMPLETED, run.error
    wait = steps_of(run)[("wait", "")].output
    assert "would_resume_at" in wait and "skipped" in wait["notices"][0]
    assert steps_of(run)[("after", "")].status == "succeeded"


def test_a_dry_run_answers_a_form_with_its_defaults_and_creates_none(workspace):
    raw = graph(
        step("ask", "form", {"title": "Budget?", "fields": [
            {"name": "budget", "label": "Budget", "type": "number", "default": 500},
            {"name": "fit", "label": "Fit", "type": "text"},
        ]}, ["after"]),
        step("after", "filter", {"when": {"all": []}}),
    )  # fmt: skip
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.COMPLETED, run.error
    ask = steps_of(run)[("ask", "")].output
    assert ask["values"] == {"budget": 500, "fit": None}
    assert "no form was created" in ask["notices"][0]
    assert not FormRequest.objects.exists()


def test_a_failed_dry_run_keeps_its_steps_and_error_but_no_writes(workspace):
    raw = graph(
        step("create", "create_record", {"object": "person", "values": {"first_name": "Ada"}},
             ["broken"]),
        step("broken", "update_record",
             {"object": "person", "id": "{{trigger.id}}", "values": {"job_title": "x"}}),
    )  # fmt: skip
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.FAILED and "No person id" in run.error
    assert steps_of(run)[("broken", "")].status == "failed"
    assert steps_of(run)[("create", "")].status == "succeeded"
    assert not Person.objects.exists()


def test_a_dry_run_is_not_retried(workspace):
    raw = graph(
        step(
            "broken",
            "update_record",
            {"object": "person", "id": "{{trigger.id}}", "values": {"job_title": "x"}},
        )
    )
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.FAILED
    with pytest.raises(services.WorkflowError, match="not retried"):
        services.retry_run(run)


def test_a_dry_run_whose_worker_lost_the_run_writes_nothing(workspace, monkeypatch):
    """Another worker took the run over while this one executed it: after the rollback, the
    fenced write of the kept steps finds the lease gone and writes none of them."""
    original = DryRunExecutor.write_kept

    def taken_over(self, steps, emails):
        WorkflowRun.objects.filter(pk=self.run.pk).update(lease_owner="another-worker")
        return original(self, steps, emails)

    monkeypatch.setattr(DryRunExecutor, "write_kept", taken_over)
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    assert run.status == RunStatus.RUNNING and run.lease_owner == "another-worker"
    assert not run.steps.exists()
    assert not OutboxEmail.objects.exists()
    assert not Person.objects.exists()


def test_a_dry_run_publishes_its_steps_and_outcome_after_the_rollback(workspace, published_events):
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    steps = [e["step_id"] for _, e in published_events.of_type("step") if e["run"] == str(run.pk)]
    assert set(steps) == {"create", "find", "update", "email"}
    statuses = [e["status"] for _, e in published_events.of_type("run") if e["run"] == str(run.pk)]
    assert statuses[-1] == RunStatus.COMPLETED


def test_a_step_whose_query_fails_fails_only_that_step_of_a_dry_run(workspace, monkeypatch):
    """On PostgreSQL a failed statement aborts the transaction: each step has a savepoint."""
    from workflows.steps.records import FindRecords

    def broken_query(self, ctx):
        with connection.cursor() as cursor:  # NOT NULL columns left out: IntegrityError
            cursor.execute(f"INSERT INTO {Person._meta.db_table} (id) VALUES ('x')")

    monkeypatch.setattr(FindRecords, "execute", broken_query)
    raw = graph(
        step("create", "create_record", {"object": "person", "values": {"first_name": "Ada"}},
             ["find"]),
        step("find", "find_records", {"object": "person"}, on_error={"continue": True}),
    )  # fmt: skip
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.COMPLETED, run.error
    assert steps_of(run)[("find", "")].status == "failed"
    assert not Person.objects.exists()
    assert person(workspace).pk  # the connection is usable after the dry run


# --- the API and the pages ----------------------------------------------------------------


def test_the_api_starts_a_dry_run_and_shows_it_on_the_run(api, workspace):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/",
        {"payload": PAYLOAD, "dry_run": True},
        format="json",
    )
    assert response.status_code == 202, response.json()
    run = api.get(f"/api/v1/runs/{response.json()['run_id']}/").json()
    assert run["dry_run"] is True and run["status"] == "completed", run["error"]
    assert run["steps"][1]["output"]["count"] == 1
    assert not Person.objects.exists()
    listed = api.get(f"/api/v1/runs/?workflow={workflow.pk}").json()["results"]
    assert [r["dry_run"] for r in listed] == [True]


def test_the_api_with_dry_run_false_makes_a_normal_test_run(api, workspace):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/",
        {"payload": PAYLOAD, "dry_run": False},
        format="json",
    )
    assert response.status_code == 202, response.json()
    run = api.get(f"/api/v1/runs/{response.json()['run_id']}/").json()
    assert run["dry_run"] is False and run["status"] == "completed", run["error"]
    assert Person.objects.get().email == "grace@navy.example"


@pytest.mark.parametrize("value", ["maybe", 3, [], {}, None])
def test_the_api_refuses_a_dry_run_that_is_not_a_boolean(api, workspace, value):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/test/",
        {"payload": PAYLOAD, "dry_run": value},
        format="json",
    )
    assert response.status_code == 400
    assert "dry_run" in str(response.json())
    assert not WorkflowRun.objects.exists()


def test_the_api_refuses_to_retry_a_dry_run(api, workspace):
    raw = graph(
        step(
            "broken",
            "update_record",
            {"object": "person", "id": "{{trigger.id}}", "values": {"job_title": "x"}},
        )
    )
    run = test_run(workflow_with(workspace, raw))
    response = api.post(f"/api/v1/runs/{run.pk}/retry/")
    assert response.status_code == 409 and "not retried" in str(response.json())


@pytest.fixture
def browser(owner):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    return client


def test_the_builders_test_dialog_offers_a_dry_run_ticked_by_default(browser, workspace):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    page = browser.get(f"/workflows/{workflow.pk}/").content.decode()
    assert 'type="checkbox" name="dry_run" checked' in page
    assert "Dry run (no records written, no email sent)" in page


def test_a_dry_run_from_the_test_dialog_shows_its_badge_on_the_run_view(browser, workspace):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    response = browser.post(
        f"/workflows/{workflow.pk}/test/",
        {"payload": '{"email": "grace@navy.example"}', "dry_run": "on"},
    )
    run = WorkflowRun.objects.get()
    assert response.url == f"/runs/{run.pk}/" and run.dry_run
    page = browser.get(response.url).content.decode()
    assert ">Dry run</span>" in page and "Dry run: not sent" in page
    assert not Person.objects.exists()


def test_the_test_dialog_with_dry_run_unticked_writes(browser, workspace):
    workflow = workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL)
    browser.post(f"/workflows/{workflow.pk}/test/", {"payload": '{"email": "g@navy.example"}'})
    run = WorkflowRun.objects.get()
    assert not run.dry_run and Person.objects.count() == 1
    assert ">Dry run</span>" not in browser.get(f"/runs/{run.pk}/").content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite: one writer at a time")
def test_a_dry_run_renews_its_lease_where_other_workers_see_it(workspace, monkeypatch, settings):
    """Its transaction commits nothing, so the lease is renewed on a second connection: a
    recovering worker must see it, or it would take a long dry run over again and again."""
    settings.WORKFLOW_RUN_LEASE_SECONDS = 1  # the code step's 1 s limit outlasts half of it
    committed = []
    keep_lease = DryRunExecutor.keep_lease

    def watched(self, extra):
        keep_lease(self, extra)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT lease_expires_at FROM workflows_workflowrun WHERE id = %s",
                    [self.run.pk],
                )
                committed.append(cursor.fetchone()[0])
        finally:
            other.close()

    monkeypatch.setattr(DryRunExecutor, "keep_lease", watched)
    raw = graph(
        step("create", "create_record", {"object": "person", "values": {"first_name": "Ada"}},
             ["code"]),
        step("code", "code", {"source": "function main(input) { return 1 }", "timeout_ms": 1000}),
    )  # fmt: skip
    claimed_until = []
    monkeypatch.setattr(
        DryRunExecutor, "execute",
        lambda self, run=DryRunExecutor.execute: claimed_until.append(self.lease_until) or run(self),
    )  # fmt: skip
    run = test_run(workflow_with(workspace, raw))
    assert run.status == RunStatus.COMPLETED, run.error
    assert max(committed) > claimed_until[0]  # renewed past the claim's lease, committed


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the cap is SQLite's (its write lock)")
def test_a_dry_run_on_sqlite_stops_when_it_held_the_write_lock_too_long(workspace, monkeypatch):
    from workflows import dry_run

    monkeypatch.setattr(dry_run, "SQLITE_DRY_RUN_SECONDS", -1)  # every step boundary is late
    run = test_run(workflow_with(workspace, CREATE_FIND_UPDATE_EMAIL), PAYLOAD)
    assert run.status == RunStatus.FAILED and "stops after" in run.error
    assert not Person.objects.exists() and not OutboxEmail.objects.filter(run=run).exists()


def test_a_dry_run_about_an_existing_record_leaves_nothing_on_its_timeline(workspace):
    """The Test dialog's sample is the last real run's payload, so a dry run is often about a
    real record: its run and its unsent email must not show on that record's page."""
    ada = person(workspace, email="ada@example.com")
    raw = graph(
        step("email", "send_email", {"to": "{{trigger.record.email}}", "subject": "Hi"}),
        trigger={"type": "record_created", "settings": {"object": "person"}},
    )
    payload = {"record": {"id": str(ada.pk), "email": ada.email}}
    run = test_run(workflow_with(workspace, raw), payload)
    assert run.status == RunStatus.COMPLETED, run.error
    assert OutboxEmail.objects.filter(run=run).exists()  # kept for the run view...
    assert record_timeline_entries(None, workspace, ada) == []  # ...not for the record's
    assert runs_for_record(workspace, ada) == []
