"""Record triggers: every write fires them after commit, with `fields` and `when` filters, a
recursion guard, bulk imports, and no query for saves nobody listens to."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.csv_io import import_csv
from crm.models import Company, Person
from crm.objects import OBJECTS
from crm.signals_control import triggers_suppressed
from tests.conftest import make_workspace
from workflows import runtime, services
from workflows.models import RunStatus, WorkflowRun
from workflows.triggers import records
from workflows.triggers.index import TriggerIndex

from .helpers import company, graph, person, published, step

pytestmark = pytest.mark.django_db

PASS = step("noted", "filter", {"when": {"all": []}})


def record_workflow(
    workspace, event="record_created", obj="person", name="On record", *steps, **settings
):
    trigger = {"type": event, "settings": {"object": obj, **settings}}
    return published(workspace, graph(*(steps or [PASS]), trigger=trigger), name=name)


def runs_of(workflow) -> list[WorkflowRun]:
    return list(WorkflowRun.objects.filter(workflow=workflow).order_by("created_at"))


@pytest.fixture
def steady_index(monkeypatch):
    """A trigger index in its steady state: built once, then served from memory. (The shared
    index reads the database on each save while the test's transaction holds uncommitted
    workflow changes, which is every test.)"""
    index = TriggerIndex()
    monkeypatch.setattr(records, "trigger_index", index)
    return index


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """Runs the on-commit callbacks (and those they add) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_creating_a_person_starts_a_record_created_run_with_the_record(workspace, after_commit):
    workflow = record_workflow(workspace)
    with after_commit():
        ada = person(workspace, first_name="Ada", email="ada@x.io")
    [run] = runs_of(workflow)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.source == WorkflowRun.Source.TRIGGER and run.depth == 1
    payload = run.trigger_payload
    assert payload["event"] == "record_created" and payload["object"] == "person"
    assert payload["record"]["id"] == str(ada.pk)
    assert payload["record"]["email"] == "ada@x.io"
    assert payload["before"] is None
    assert {"first_name", "email"} <= set(payload["changed_fields"])


def test_a_write_stores_its_runs_in_its_own_transaction_and_kicks_workers_after_commit(
    workspace, settings, django_capture_on_commit_callbacks
):
    from workflows import queue

    settings.WORKFLOW_RUN_INLINE = False  # a real worker would only look after the kick
    workflow = record_workflow(workspace)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            person(workspace)
            # Before the commit, in the writing transaction: a crash after the commit can
            # no longer lose the run, and a rollback takes it away with the write.
            assert [run.status for run in runs_of(workflow)] == [RunStatus.QUEUED]
    assert queue.request_drain in callbacks  # the kick, after the commit


def test_a_rolled_back_write_starts_nothing(workspace, after_commit):
    workflow = record_workflow(workspace)
    with after_commit():
        with pytest.raises(RuntimeError), transaction.atomic():
            person(workspace)
            raise RuntimeError("the request failed")
    assert runs_of(workflow) == []


def test_an_update_gives_the_record_before_and_after_and_the_changed_fields(
    workspace, after_commit
):
    acme = company(workspace, name="Acme")
    ada = person(workspace, job_title="Dev", company=acme)
    workflow = record_workflow(workspace, "record_updated")
    ada = Person.objects.get(pk=ada.pk)
    with after_commit():
        ada.job_title = "CTO"
        ada.save()
    [run] = runs_of(workflow)
    payload = run.trigger_payload
    assert payload["event"] == "record_updated"
    assert payload["changed_fields"] == ["job_title"]
    assert payload["before"]["job_title"] == "Dev" and payload["record"]["job_title"] == "CTO"
    assert payload["before"]["company_name"] == "Acme"


def test_the_before_state_of_a_changed_relation_names_the_former_company(workspace, after_commit):
    old, new = company(workspace, name="Old"), company(workspace, name="New")
    ada = person(workspace, company=old)
    workflow = record_workflow(workspace, "record_updated")
    ada = Person.objects.select_related("company").get(pk=ada.pk)
    with after_commit():
        ada.company = new
        ada.save()
    payload = runs_of(workflow)[0].trigger_payload
    assert payload["changed_fields"] == ["company"]
    assert payload["before"]["company_name"] == "Old"
    assert payload["record"]["company_name"] == "New"


def test_an_update_that_changes_nothing_starts_no_run(workspace, after_commit):
    ada = person(workspace)
    workflow = record_workflow(workspace, "record_updated")
    with after_commit():
        Person.objects.get(pk=ada.pk).save()
    assert runs_of(workflow) == []


def test_the_fields_filter_fires_only_when_a_listed_field_changed(workspace, after_commit):
    ada = person(workspace)
    workflow = record_workflow(workspace, "record_updated", fields=["email"])
    with after_commit():
        ada.job_title = "CTO"
        ada.save()
    assert runs_of(workflow) == []
    with after_commit():
        ada.email = "ada@x.io"
        ada.save()
    assert len(runs_of(workflow)) == 1


def test_the_when_condition_reads_the_record_under_trigger(workspace, after_commit):
    won = {
        "all": [
            {"left": "{{trigger.record.stage}}", "op": "eq", "right": "won"},
            {"left": "{{trigger.before.stage}}", "op": "ne", "right": "won"},
        ]
    }
    workflow = record_workflow(workspace, "record_updated", "opportunity", when=won)
    deal = OBJECTS["opportunity"].model.objects.create(workspace=workspace, name="Deal")
    with after_commit():
        deal.stage = "qualified"
        deal.save()
    assert runs_of(workflow) == []
    with after_commit():
        deal.stage = "won"
        deal.save()
    assert [r.trigger_payload["record"]["stage"] for r in runs_of(workflow)] == ["won"]


def test_created_or_updated_fires_on_both(workspace, after_commit):
    workflow = record_workflow(workspace, "record_created_or_updated")
    with after_commit():
        ada = person(workspace)
        ada.last_name = "Lovelace"
        ada.save()
    assert [r.trigger_payload["event"] for r in runs_of(workflow)] == [
        "record_created",
        "record_updated",
    ]


def test_deleting_a_record_gives_the_record_as_it_was(workspace, after_commit):
    ada = person(workspace, email="ada@x.io")
    workflow = record_workflow(workspace, "record_deleted")
    with after_commit():
        ada.delete()
    payload = runs_of(workflow)[0].trigger_payload
    assert payload["event"] == "record_deleted"
    assert payload["record"]["email"] == "ada@x.io" == payload["before"]["email"]


def test_only_workflows_of_that_workspace_and_object_fire(workspace, after_commit):
    other = make_workspace("other")
    theirs = record_workflow(other, name="Theirs")
    on_companies = record_workflow(workspace, "record_created", "company", name="Companies")
    with after_commit():
        person(workspace)
    assert runs_of(theirs) == [] and runs_of(on_companies) == []


def test_a_deactivated_workflow_no_longer_fires(workspace, after_commit):
    workflow = record_workflow(workspace)
    services.deactivate(workflow)
    with after_commit():
        person(workspace)
    assert runs_of(workflow) == []


def test_writes_through_the_api_fire_record_triggers(workspace, api, after_commit):
    workflow = record_workflow(workspace)
    with after_commit():
        response = api.post("/api/v1/people/", {"first_name": "Api"}, format="json")
    assert response.status_code == 201
    assert runs_of(workflow)[0].trigger_payload["record"]["first_name"] == "Api"


def test_a_csv_import_fires_record_created_for_each_row(workspace, after_commit):
    workflow = record_workflow(workspace)
    rows = "\n".join(f"Csv{i},csv{i}@x.io" for i in range(30))
    with after_commit():
        result = import_csv(OBJECTS["person"], workspace, f"first_name,email\n{rows}\n")
    assert result.created == 30
    runs = runs_of(workflow)
    assert len(runs) == 30
    assert {r.trigger_payload["record"]["email"] for r in runs} == {
        f"csv{i}@x.io" for i in range(30)
    }
    assert all(r.status == RunStatus.COMPLETED for r in runs)


def test_an_import_told_not_to_fire_triggers_starts_nothing(workspace, after_commit):
    workflow = record_workflow(workspace)
    with after_commit():
        import_csv(OBJECTS["person"], workspace, "first_name\nQuiet\n", fire_triggers=False)
    assert runs_of(workflow) == []


def test_writes_inside_triggers_suppressed_start_nothing(workspace, after_commit):
    workflow = record_workflow(workspace, "record_created_or_updated")
    with after_commit(), triggers_suppressed():
        ada = person(workspace)
        ada.last_name = "L"
        ada.save()
        ada.delete()
    assert runs_of(workflow) == []


def test_a_step_write_starts_the_next_workflow_one_level_deeper(workspace, after_commit):
    make_company = step(
        "make",
        "create_record",
        {"object": "company", "values": {"name": "{{trigger.record.first_name}} Inc"}},
    )
    first = record_workflow(workspace, "record_created", "person", "First", make_company)
    second = record_workflow(workspace, "record_created", "company", "Second")
    with after_commit():
        person(workspace, first_name="Ada")
    [parent], [child] = runs_of(first), runs_of(second)
    assert child.depth == parent.depth + 1 == 2
    assert child.parent_run_id == parent.pk
    assert child.trigger_payload["record"]["name"] == "Ada Inc"


def test_a_workflow_that_updates_its_own_trigger_object_stops_at_depth_five(
    workspace, after_commit
):
    touch = step(
        "touch",
        "update_record",
        {
            "object": "person",
            "id": "{{trigger.record.id}}",
            "values": {"last_name": "{{trigger.record.last_name}}x"},
        },
    )
    workflow = record_workflow(workspace, "record_updated", "person", "Loop", touch)
    ada = person(workspace)
    with after_commit():
        ada.last_name = "L"
        ada.save()
    runs = runs_of(workflow)
    assert [r.depth for r in runs] == [1, 2, 3, 4, 5]
    assert all(r.status == RunStatus.COMPLETED for r in runs)
    ada.refresh_from_db()
    assert ada.last_name == "Lxxxxx"
    fifth_step = runs[-1].steps.get(step_id="touch")
    assert "depth 5" in " ".join(fifth_step.output["notices"])
    assert "notices" not in runs[-2].steps.get(step_id="touch").output


def test_the_depth_limit_is_runtime_max_depth():
    assert runtime.MAX_DEPTH == 5


# --- cost ------------------------------------------------------------------------------------


def test_a_save_no_workflow_listens_to_costs_no_query(workspace, steady_index):
    record_workflow(workspace, "record_updated", "company")
    record_workflow(workspace, "record_updated", "person", "Emails", fields=["email"])
    steady_index.current()  # warm, as in any process after its first save
    with CaptureQueriesContext(connection) as queries:
        ada = Person.objects.create(workspace=workspace, first_name="Bo")
        ada.job_title = "CTO"
        ada.save()
        company(workspace, name="Quiet")
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 3, sql  # INSERT, UPDATE, INSERT
    assert not any("workflows_" in q or q.startswith("SELECT") for q in sql)


def test_the_index_is_read_once_and_then_served_from_memory(workspace):
    record_workflow(workspace)
    index = TriggerIndex()
    index.current()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            index.record_triggers(workspace.pk, "person", "created")
    assert len(queries.captured_queries) == 0


def test_another_process_sees_a_published_workflow_once_its_refresh_interval_passed(workspace):
    other_process = TriggerIndex()  # its own cache, like a worker process
    assert other_process.record_triggers(workspace.pk, "person", "created") == ()
    workflow = record_workflow(workspace)
    assert other_process.record_triggers(workspace.pk, "person", "created") == ()
    other_process._fresh_until = 0  # a second later
    [entry] = other_process.record_triggers(workspace.pk, "person", "created")
    assert entry.workflow.pk == workflow.pk


def test_a_loaded_record_needs_no_query_to_know_its_former_values(
    workspace, steady_index, settings
):
    settings.WORKFLOW_RUN_INLINE = False  # count the save's queries, not a run's
    workflow = record_workflow(workspace, "record_updated", fields=["email"])
    steady_index.current()
    ada = Person.objects.get(pk=person(workspace).pk)
    with CaptureQueriesContext(connection) as queries:
        ada.email = "ada@x.io"
        ada.save()
    assert not any(q["sql"].startswith("SELECT") for q in queries.captured_queries)
    assert len(runs_of(workflow)) == 1  # stored with the write
    assert queries.captured_queries[0]["sql"].startswith("UPDATE")


def test_records_bulk_created_reports_each_instance_as_created(workspace, after_commit):
    from crm.signals_control import records_bulk_created

    workflow = record_workflow(workspace, "record_created", "company")
    batch = [Company(workspace=workspace, name=f"C{i}") for i in range(3)]
    with after_commit():
        Company.objects.bulk_create(batch)
        records_bulk_created(Company, batch)
    assert sorted(r.trigger_payload["record"]["name"] for r in runs_of(workflow)) == [
        "C0",
        "C1",
        "C2",
    ]
