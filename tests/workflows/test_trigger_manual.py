"""Manual triggers: global, one run per record, one run for all records, thousands at once,
and the "Run workflow" action on record list pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Person, Role
from tests.conftest import make_user
from workflows import services, worker
from workflows.models import RunStatus, WorkflowRun

from .helpers import graph, person, published, step

pytestmark = pytest.mark.django_db

MAKE_NOTE = step(
    "note",
    "create_record",
    {
        "object": "note",
        "values": {"title": "For {{trigger.record.first_name}}{{trigger.records.0.first_name}}"},
    },
)


def manual_workflow(workspace, name="Qualify", first_step=MAKE_NOTE, **settings):
    return published(
        workspace, graph(first_step, trigger={"type": "manual", "settings": settings}), name=name
    )


def runs_of(workflow):
    return list(WorkflowRun.objects.filter(workflow=workflow).order_by("created_at"))


def test_a_global_manual_workflow_runs_once_with_the_user_and_no_record(workspace, owner):
    workflow = manual_workflow(workspace)
    [run] = services.start_manual_runs(workflow, owner, payload={"reason": "demo"})
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED and run.source == WorkflowRun.Source.MANUAL
    assert run.trigger_payload["user"]["email"] == owner.email
    assert run.trigger_payload["payload"] == {"reason": "demo"}
    assert "record" not in run.trigger_payload


def test_single_mode_starts_one_run_per_selected_record(workspace, owner):
    workflow = manual_workflow(workspace, object="person")
    people = [person(workspace, first_name=name) for name in ("Ada", "Bo", "Cy")]
    runs = services.start_manual_runs(workflow, owner, [p.pk for p in people])
    assert len(runs) == 3
    assert [r.trigger_payload["record"]["first_name"] for r in runs_of(workflow)] == [
        "Ada",
        "Bo",
        "Cy",
    ]


def test_bulk_mode_starts_one_run_with_every_record(workspace, owner):
    workflow = manual_workflow(workspace, object="person", mode="bulk")
    people = [person(workspace, first_name=name) for name in ("Ada", "Bo")]
    [run] = services.start_manual_runs(workflow, owner, [p.pk for p in people])
    run.refresh_from_db()
    assert [r["first_name"] for r in run.trigger_payload["records"]] == ["Ada", "Bo"]
    assert run.steps.get(step_id="note").output["record"]["title"] == "For Ada"


def test_thousands_of_records_are_accepted_at_once_and_drain_under_the_cap(
    workspace, owner, settings
):
    settings.WORKFLOW_RUN_INLINE = False  # leave them queued, as a web request does
    settings.WORKFLOW_MAX_CONCURRENT_RUNS = 20
    workflow = manual_workflow(workspace, object="person")
    Person.objects.bulk_create(
        [Person(workspace=workspace, first_name=f"P{i}") for i in range(3000)]
    )
    ids = list(Person.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        runs = services.start_manual_runs(workflow, owner, ids)
    assert len(runs) == 3000
    assert len(queries.captured_queries) < 100  # batched inserts, no query per record
    assert WorkflowRun.objects.filter(workflow=workflow, status=RunStatus.QUEUED).count() == 3000
    assert len(worker.claim("worker", batch=100)) == 20


def test_a_record_list_offers_the_active_manual_workflows_of_its_object(client, workspace, owner):
    for_people = manual_workflow(workspace, "Qualify lead", object="person")
    manual_workflow(workspace, "Enrich company", object="company")
    inactive = manual_workflow(workspace, "Old one", object="person")
    services.deactivate(inactive)
    person(workspace)
    client.force_login(owner)
    page = client.get("/people/").content.decode()
    assert "Run workflow" in page
    assert f'formaction="/workflows/{for_people.pk}/run/"' in page
    assert "Enrich company" not in page and "Old one" not in page


def test_a_record_list_without_manual_workflows_shows_no_run_menu(client, workspace, owner):
    person(workspace)
    client.force_login(owner)
    assert "Run workflow" not in client.get("/people/").content.decode()


def test_a_member_runs_a_workflow_on_the_ticked_records_and_follows_its_progress(client, workspace):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    workflow = manual_workflow(workspace, object="person")
    people = [person(workspace, first_name=name) for name in ("Ada", "Bo")]
    client.force_login(member)
    response = client.post(
        f"/workflows/{workflow.pk}/run/",
        {"record_ids": [str(p.pk) for p in people], "next": "/people/"},
    )
    assert response.status_code == 302
    assert len(runs_of(workflow)) == 2
    progress = client.get(response["Location"]).content.decode()
    assert "2 of 2 runs finished" in progress
