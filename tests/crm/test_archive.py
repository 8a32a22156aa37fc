"""Archive and restore (SPEC sections 2 and 7): a soft delete every record object has, out of
lists, searches, find steps and record triggers unless asked."""

import pytest

from crm import records
from crm.models import Company, Person
from crm.objects import OBJECTS
from tests.conftest import make_workspace
from tests.crm.api_factories import PLURALS, client_for, make_records
from tests.workflows.factories import execute
from tests.workflows.helpers import company, graph, person, published, step
from workflows.models import RunStatus, WorkflowRun
from workflows.steps.base import StepError

pytestmark = pytest.mark.django_db

PASS = step("noted", "filter", {"when": {"all": []}})


def runs_of(workflow) -> list[WorkflowRun]:
    return list(WorkflowRun.objects.filter(workflow=workflow).order_by("created_at"))


def record_workflow(workspace, event, obj="person", name="On record"):
    trigger = {"type": event, "settings": {"object": obj}}
    return published(workspace, graph(PASS, trigger=trigger), name=name)


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", PLURALS)
def test_archive_answers_the_record_with_archived_at_and_hides_it_from_the_list(workspace, plural):
    record = make_records(workspace)[plural]
    api = client_for(workspace)
    response = api.post(f"/api/v1/{plural}/{record.pk}/archive/")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(record.pk)
    assert response.json()["archived_at"]
    listed = [row["id"] for row in api.get(f"/api/v1/{plural}/").json()["results"]]
    assert str(record.pk) not in listed
    archived = api.get(f"/api/v1/{plural}/?archived=true").json()["results"]
    assert [row["id"] for row in archived] == [str(record.pk)]


@pytest.mark.parametrize("plural", PLURALS)
def test_restore_brings_the_record_back_into_the_list(workspace, plural):
    record = make_records(workspace)[plural]
    api = client_for(workspace)
    api.post(f"/api/v1/{plural}/{record.pk}/archive/")
    response = api.post(f"/api/v1/{plural}/{record.pk}/restore/")
    assert response.status_code == 200
    assert response.json()["archived_at"] is None
    listed = [row["id"] for row in api.get(f"/api/v1/{plural}/").json()["results"]]
    assert str(record.pk) in listed
    assert api.get(f"/api/v1/{plural}/?archived=true").json()["results"] == []


def test_archiving_an_archived_record_answers_409_with_a_message(workspace):
    ada = person(workspace)
    api = client_for(workspace)
    api.post(f"/api/v1/people/{ada.pk}/archive/")
    response = api.post(f"/api/v1/people/{ada.pk}/archive/")
    assert response.status_code == 409
    assert "already archived" in response.json()["detail"]


def test_restoring_a_live_record_answers_409_with_a_message(workspace):
    ada = person(workspace)
    response = client_for(workspace).post(f"/api/v1/people/{ada.pk}/restore/")
    assert response.status_code == 409
    assert "not archived" in response.json()["detail"]


def test_an_archived_record_is_still_read_by_its_id_and_out_of_search(workspace):
    ada = person(workspace, first_name="Ada", email="ada@x.io")
    records.archive_record(ada)
    api = client_for(workspace)
    assert api.get(f"/api/v1/people/{ada.pk}/").json()["archived_at"]
    assert api.get("/api/v1/people/?search=ada").json()["results"] == []
    assert api.get("/api/v1/people/?archived=yes-please").status_code == 400


def test_archive_of_another_workspaces_record_is_404(workspace):
    other = company(make_workspace("other"))
    assert client_for(workspace).post(f"/api/v1/companies/{other.pk}/archive/").status_code == 404
    other.refresh_from_db()
    assert other.archived_at is None


def test_the_csv_export_leaves_archived_records_out_unless_asked(workspace):
    kept, gone = company(workspace, name="Kept"), company(workspace, name="Gone")
    records.archive_record(gone)
    api = client_for(workspace)
    text = b"".join(api.get("/api/v1/companies/export/").streaming_content).decode()
    assert "Kept" in text and "Gone" not in text
    text = b"".join(api.get("/api/v1/companies/export/?archived=true").streaming_content).decode()
    assert "Gone" in text and "Kept" not in text
    assert kept.pk


# --- triggers ---------------------------------------------------------------------------------


def test_archiving_starts_record_archived_runs_and_no_update_runs(workspace, after_commit):
    archived = record_workflow(workspace, "record_archived", name="Archived")
    updated = record_workflow(workspace, "record_updated", name="Updated")
    ada = person(workspace)
    with after_commit():
        records.archive_record(ada)
    [run] = runs_of(archived)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.trigger_payload["event"] == "record_archived"
    assert run.trigger_payload["record"]["archived_at"]
    assert run.trigger_payload["changed_fields"] == ["archived_at"]
    assert runs_of(updated) == []


def test_restoring_starts_record_restored_runs(workspace, after_commit):
    restored = record_workflow(workspace, "record_restored")
    archived_run = record_workflow(workspace, "record_archived", name="Archived")
    ada = person(workspace)
    records.archive_record(ada)
    archive_runs = len(runs_of(archived_run))  # the archive's own run, stored with its write
    with after_commit():
        records.restore_record(ada)
    [run] = runs_of(restored)
    assert run.trigger_payload["event"] == "record_restored"
    assert run.trigger_payload["record"]["archived_at"] is None
    assert len(runs_of(archived_run)) == archive_runs  # restoring starts no archive run


def test_writes_to_an_archived_record_fire_no_record_trigger(workspace, after_commit):
    updated = record_workflow(workspace, "record_updated", name="Updated")
    deleted = record_workflow(workspace, "record_deleted", name="Deleted")
    ada = person(workspace)
    records.archive_record(ada)
    with after_commit():
        records.update_record(OBJECTS["person"], ada, {"job_title": "CTO"})
        records.delete_record(ada)
    assert runs_of(updated) == [] and runs_of(deleted) == []


def test_a_live_record_update_still_fires_record_updated(workspace, after_commit):
    updated = record_workflow(workspace, "record_updated")
    ada = person(workspace)
    with after_commit():
        records.update_record(OBJECTS["person"], ada, {"job_title": "CTO"})
    assert len(runs_of(updated)) == 1


# --- steps ------------------------------------------------------------------------------------


def test_archive_record_step_archives_and_outputs_the_record(workspace):
    acme = company(workspace)
    output = execute(
        "archive_record", {"object": "company", "id": str(acme.pk)}, workspace=workspace
    )
    assert output["record"]["id"] == str(acme.pk) and output["record"]["archived_at"]
    assert Company.objects.get(pk=acme.pk).archived_at is not None


def test_restore_record_step_restores_an_archived_record(workspace):
    ada = person(workspace)
    records.archive_record(ada)
    output = execute(
        "restore_record",
        {"object": "person", "id": "{{trigger.record.id}}"},
        workspace=workspace,
        trigger={"record": {"id": str(ada.pk)}},
    )
    assert output["record"]["archived_at"] is None
    assert Person.objects.get(pk=ada.pk).archived_at is None


def test_archive_record_step_fails_clearly_on_an_archived_record(workspace):
    ada = person(workspace)
    records.archive_record(ada)
    with pytest.raises(StepError, match="already archived"):
        execute("archive_record", {"object": "person", "id": str(ada.pk)}, workspace=workspace)


def test_find_records_leaves_archived_records_out(workspace):
    kept, gone = person(workspace, first_name="Kept"), person(workspace, first_name="Gone")
    records.archive_record(gone)
    output = execute("find_records", {"object": "person"}, workspace=workspace)
    assert [r["id"] for r in output["records"]] == [str(kept.pk)]


def test_archive_steps_are_labelled_in_the_records_group():
    from workflows.steps import get_handler

    archive, restore = get_handler("archive_record"), get_handler("restore_record")
    assert (archive.label, archive.group) == ("Archive record", "Records")
    assert (restore.label, restore.group) == ("Restore record", "Records")
    assert [s.name for s in archive.settings_schema] == ["object", "id"]


def test_a_workflow_with_an_archive_trigger_and_step_validates(workspace):
    from workflows.validation import validate

    raw = graph(
        step("archive", "archive_record", {"object": "person", "id": "{{trigger.record.id}}"}),
        trigger={"type": "record_restored", "settings": {"object": "person"}},
    )
    assert validate(raw) == []
