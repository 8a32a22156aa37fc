"""The workflow pages: list, workflow, runs, the run view and the forms inbox."""

import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows import queue, services
from workflows.models import FormRequest, Workflow, WorkflowRun

from .helpers import graph, person, published, step

pytestmark = pytest.mark.django_db

MAKE_TASK = graph(step("make", "create_record", {"object": "task", "values": {"title": "x"}}))


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_list_shows_workflows_with_search(browser, workspace):
    services.create_workflow(workspace, "Lead capture")
    services.create_workflow(workspace, "Invoices")
    page = browser.get("/workflows/")
    assert page.status_code == 200
    assert b"Lead capture" in page.content and b"Invoices" in page.content
    found = browser.get("/workflows/?q=lead", HTTP_HX_REQUEST="true")
    assert b"Lead capture" in found.content and b"Invoices" not in found.content


def test_an_empty_list_guides_to_the_first_workflow(browser):
    assert b"No workflows yet" in browser.get("/workflows/").content


def test_creating_a_workflow_opens_its_draft(browser):
    response = browser.post("/workflows/new/", {"name": "Onboarding"})
    workflow = Workflow.objects.get(name="Onboarding")
    assert response.url == f"/workflows/{workflow.pk}/"
    page = browser.get(response.url)
    assert page.status_code == 200 and b'aria-label="Choose a trigger"' in page.content


def test_saving_bad_json_shows_the_error_and_keeps_the_draft(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=MAKE_TASK)
    response = browser.post(
        f"/workflows/{workflow.pk}/draft/", {"graph": "{oops"}, HTTP_HX_REQUEST="true"
    )
    assert b"not valid JSON" in response.content
    assert workflow.draft.graph == MAKE_TASK


def test_saving_a_draft_shows_its_problems(browser, workspace):
    workflow = services.create_workflow(workspace, "W")
    bad = graph(step("a", "create_record", {"object": "planet"}))
    response = browser.post(
        f"/workflows/{workflow.pk}/draft/", {"graph": json.dumps(bad)}, HTTP_HX_REQUEST="true"
    )
    assert b"Unknown object" in response.content
    assert workflow.draft.graph == bad


def test_publish_activate_and_deactivate_from_the_page(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=MAKE_TASK)
    browser.post(f"/workflows/{workflow.pk}/publish/")
    workflow.refresh_from_db()
    assert workflow.status == "active" and workflow.active_version.number == 1
    browser.post(f"/workflows/{workflow.pk}/deactivate/")
    workflow.refresh_from_db()
    assert workflow.status == "inactive"
    page = browser.get(f"/workflows/{workflow.pk}/?tab=versions")
    assert b"v1" in page.content and b">Restore</button>" in page.content


def test_a_test_run_from_the_page_opens_the_run_view(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=MAKE_TASK)
    response = browser.post(f"/workflows/{workflow.pk}/test/", {"payload": "{}"})
    run = WorkflowRun.objects.get()
    assert response.url == f"/runs/{run.pk}/"
    page = browser.get(response.url)
    assert page.status_code == 200 and b"Make" in page.content and b"Completed" in page.content


def test_duplicate_and_delete(browser, workspace):
    workflow = services.create_workflow(workspace, "W", graph=MAKE_TASK)
    browser.post(f"/workflows/{workflow.pk}/duplicate/")
    assert Workflow.objects.filter(name="W (copy)").exists()
    browser.post(f"/workflows/{workflow.pk}/delete/")
    assert not Workflow.objects.filter(pk=workflow.pk).exists()


def test_members_cannot_change_workflows(workspace, owner):
    workflow = services.create_workflow(workspace, "W", graph=MAKE_TASK)
    member = Client()
    member.force_login(make_user("m@example.com", workspace, role=Role.MEMBER))
    assert member.get(f"/workflows/{workflow.pk}/").status_code == 200
    member.post(f"/workflows/{workflow.pk}/publish/")
    assert Workflow.objects.get(pk=workflow.pk).status == "inactive"


def test_another_workspace_gets_404(browser):
    other = services.create_workflow(make_workspace("other"), "Secret plan", graph=MAKE_TASK)
    assert browser.get(f"/workflows/{other.pk}/").status_code == 404
    assert browser.post(f"/workflows/{other.pk}/publish/").status_code == 404
    assert b"Secret plan" not in browser.get("/workflows/").content


def test_runs_list_filters_by_status(browser, workspace):
    workflow = published(workspace, MAKE_TASK)
    queue.start_run(workflow.active_version, {}, "manual")
    assert b"Completed" in browser.get("/runs/").content
    assert b"No runs match" in browser.get("/runs/?status=failed").content


def test_a_manual_run_from_a_record_selection(browser, workspace):
    workflow = published(
        workspace,
        graph(
            step(
                "make",
                "create_record",
                {"object": "task", "values": {"title": "{{trigger.record.first_name}}"}},
            ),
            trigger={"type": "manual", "settings": {"object": "person"}},
        ),
    )
    people = [person(workspace, first_name=n) for n in ("A", "B")]
    response = browser.post(
        f"/workflows/{workflow.pk}/run/", {"record_ids": [str(p.pk) for p in people]}
    )
    assert response.status_code == 302 and "/runs/?workflow=" in response.url
    page = browser.get(response.url)
    assert b"2 of 2 runs finished" in page.content


def test_the_record_page_lists_its_runs(browser, workspace):
    workflow = published(
        workspace,
        graph(
            step("make", "create_record", {"object": "task", "values": {"title": "t"}}),
            trigger={"type": "manual", "settings": {"object": "person"}},
        ),
        name="Greeter",
    )
    ada = person(workspace)
    services.start_manual_runs(workflow, record_ids=[str(ada.pk)])
    assert b"Greeter" in browser.get(f"/people/{ada.pk}/").content


FORM_GRAPH = graph(
    step(
        "ask",
        "form",
        {
            "title": "Budget?",
            "fields": [{"name": "budget", "label": "Budget", "type": "number", "required": True}],
        },
    )
)


def test_the_forms_inbox_fills_a_form_and_resumes_its_run(browser, workspace):
    workflow = published(workspace, FORM_GRAPH)
    run = queue.start_run(workflow.active_version, {}, "manual")
    page = browser.get("/forms/")
    assert b"Budget?" in page.content
    form = FormRequest.objects.get()
    invalid = browser.post(f"/forms/{form.pk}/submit/", {"budget": ""}, HTTP_HX_REQUEST="true")
    assert b"This field is required" in invalid.content
    browser.post(f"/forms/{form.pk}/submit/", {"budget": "12"})
    run.refresh_from_db()
    assert run.status == "completed"
    assert b"Nothing to fill in" in browser.get("/forms/").content


async def open_run_socket(run, session: str):
    """Connects to a run's live view as the browser does, with the session cookie."""
    from crm.asgi import application

    communicator = WebsocketCommunicator(
        application,
        f"/ws/runs/{run.pk}/",
        headers=[(b"cookie", f"sessionid={session}".encode()), (b"origin", b"http://testserver")],
    )
    connected, _ = await communicator.connect()
    return communicator, connected


@pytest.mark.django_db(transaction=True)
async def test_the_run_view_socket_accepts_a_member_of_the_runs_workspace(settings):
    from asgiref.sync import sync_to_async

    @sync_to_async
    def setup():
        workspace = make_workspace("live")
        user = make_user("live@example.com", workspace)
        workflow = published(workspace, MAKE_TASK)
        run = queue.start_run(workflow.active_version, {}, "manual")
        client = Client()
        client.force_login(user)
        return run, client.cookies["sessionid"].value

    run, session = await setup()
    communicator, connected = await open_run_socket(run, session)
    assert connected
    message = await communicator.receive_json_from(timeout=5)
    assert message == {"type": "ready"}
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_run_socket_refuses_strangers():
    from asgiref.sync import sync_to_async

    @sync_to_async
    def setup():
        workflow = published(make_workspace("a"), MAKE_TASK)
        run = queue.start_run(workflow.active_version, {}, "manual")
        stranger = make_user("s@example.com", make_workspace("b"))
        client = Client()
        client.force_login(stranger)
        return run, client.cookies["sessionid"].value

    run, session = await setup()
    communicator, connected = await open_run_socket(run, session)
    assert not connected
