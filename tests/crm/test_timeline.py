"""A record's timeline (issue 17): one activity log written by the record services, so
pages, the API, imports and workflow steps all appear, with before and after values."""

import pytest

from crm import activity, records
from crm.models import Activity, ApiKey, Note, Person, Role
from crm.objects import OBJECTS
from tests.conftest import make_user, make_workspace
from tests.crm.test_pages import HTMX, logged_in, make_company, make_person

pytestmark = pytest.mark.django_db


def titles(workspace, record) -> list[str]:
    return [entry.title for entry in activity.timeline(workspace, record)]


def test_an_inline_edit_shows_before_after_and_who_by_name(client):
    workspace = make_workspace()
    user = logged_in(client, workspace)
    user.first_name, user.last_name = "Alex", "Morgan"
    user.save()
    person = make_person(workspace, email="ada@old.com")
    client.post(f"/people/{person.pk}/fields/email/", {"email": "ada@new.com"}, **HTMX)

    [entry] = activity.timeline(workspace, person)
    assert entry.title == "Changed Email"
    assert entry.changes == [("Email", "ada@old.com", "ada@new.com")]
    assert entry.actor == "Alex Morgan"
    page = client.get(f"/people/{person.pk}/").content.decode()
    assert "Timeline" in page and "ada@old.com" in page and "Alex Morgan" in page


def test_an_api_change_names_its_key_and_relations_are_shown_by_name(client):
    workspace = make_workspace()
    old, new = make_company(workspace, "Northwind"), make_company(workspace, "Contoso")
    person = make_person(workspace, company=old)
    _, raw = ApiKey.issue(workspace, "Zapier")
    response = client.patch(
        f"/api/v1/people/{person.pk}/",
        {"company": str(new.pk)},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 200, response.content
    [entry] = activity.timeline(workspace, person)
    assert entry.changes == [("Company", "Northwind", "Contoso")]
    assert entry.actor == "api key: Zapier"


def test_a_save_that_changes_nothing_adds_nothing():
    workspace = make_workspace()
    person = make_person(workspace, email="ada@example.com")
    records.update_record(OBJECTS["person"], person, {"email": "ada@example.com"})
    assert not Activity.objects.exists()


def test_created_archived_restored_and_linked_notes_appear_newest_first():
    workspace = make_workspace()
    person = records.create_record(OBJECTS["person"], workspace, {"first_name": "Ada"})
    records.archive_record(person)
    records.restore_record(person)
    Note.objects.create(workspace=workspace, title="Called", person=person)
    assert titles(workspace, person) == [
        "Note: Called",
        "Person restored",
        "Person archived",
        "Person created",
    ]


def test_an_import_logs_each_created_record(client):
    workspace = make_workspace()
    _, raw = ApiKey.issue(workspace, "Importer")
    response = client.post(
        "/api/v1/people/import/",
        "first_name,email\nAda,ada@example.com\nGrace,grace@example.com\n",
        content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code in (200, 201), response.content
    ada = Person.objects.get(email="ada@example.com")
    [entry] = activity.timeline(workspace, ada)
    assert (entry.kind, entry.actor) == ("created", "api key: Importer")


def test_deleting_a_record_deletes_its_entries():
    workspace = make_workspace()
    person = records.create_record(OBJECTS["person"], workspace, {"first_name": "Ada"})
    records.delete_record(person)
    assert not Activity.objects.exists()


def test_an_owner_change_shows_people_by_name():
    workspace = make_workspace()
    owner = make_user("grace@example.com", workspace=workspace, role=Role.MEMBER)
    owner.first_name, owner.last_name = "Grace", "Hopper"
    owner.save()
    company = make_company(workspace)
    with activity.acting_as("workflow: Assign owners"):
        records.update_record(OBJECTS["company"], company, {"owner": owner.pk}, workspace=workspace)
    [entry] = activity.timeline(workspace, company)
    assert entry.changes == [("Owner", "—", "Grace Hopper")]
    assert entry.actor == "workflow: Assign owners"


def test_a_workflow_step_appears_on_the_timeline_under_the_workflows_name():
    from tests.workflows.helpers import graph, published, step
    from workflows import queue

    workspace = make_workspace()
    person = make_person(workspace, job_title="Engineer")
    values = {"object": "person", "id": str(person.pk), "values": {"job_title": "CTO"}}
    workflow = published(workspace, graph(step("promote", "update_record", values)), "Promote")
    run = queue.start_run(workflow.active_version, {}, "manual")
    run.refresh_from_db()
    assert run.status == "completed", run.error

    entries = activity.timeline(workspace, person)
    changed = [entry for entry in entries if entry.kind == "updated"]
    assert changed[0].changes == [("Job title", "Engineer", "CTO")]
    assert changed[0].actor == "workflow: Promote"


def test_a_request_is_not_named_as_the_actor_of_writes_made_after_it(client):
    workspace = make_workspace()
    logged_in(client, workspace)
    client.get("/")  # the middleware ran in this thread
    person = make_person(workspace)
    records.update_record(OBJECTS["person"], person, {"job_title": "CTO"})
    [entry] = activity.timeline(workspace, person)
    assert entry.actor == ""
