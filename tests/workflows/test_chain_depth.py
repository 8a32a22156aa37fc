"""Chains of runs through HTTP stop at depth 5 (SPEC sections 4 and 6): every outgoing request
of a run carries X-Workflow-Depth, and this app's API and webhooks start runs one deeper, so
a workflow that calls its own webhook or the API loops five times, not forever."""

import asyncio

import pytest
from django.test import Client

from tests.workflows.test_webhook_asgi import call
from workflows import services
from workflows.models import WorkflowRun
from workflows.triggers.webhook import rate_limiter
from workflows.webhooks import WebhookIntake

from .helpers import graph, published, step

PASS = step("got", "filter", {"when": {"all": []}})


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    rate_limiter.reset()


def webhook_workflow(workspace, *steps):
    return published(workspace, graph(*(steps or [PASS]), trigger={"type": "webhook",
                                                                   "settings": {}}))  # fmt: skip


def post(client, workflow, depth=None):
    headers = {} if depth is None else {"HTTP_X_WORKFLOW_DEPTH": str(depth)}
    return client.post(
        f"/webhooks/{workflow.webhook_token}/", "{}", content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_a_webhook_call_from_a_run_starts_a_run_one_deeper(client, workspace):
    workflow = webhook_workflow(workspace)
    response = post(client, workflow, depth=3)
    assert response.status_code == 202
    assert WorkflowRun.objects.get(pk=response.json()["run_id"]).depth == 4


@pytest.mark.django_db
def test_a_webhook_call_without_the_header_starts_at_depth_one(client, workspace):
    response = post(client, webhook_workflow(workspace))
    assert WorkflowRun.objects.get(pk=response.json()["run_id"]).depth == 1


@pytest.mark.django_db
def test_a_webhook_call_from_a_run_at_depth_five_is_refused_clearly(client, workspace):
    response = post(client, webhook_workflow(workspace), depth=5)
    assert response.status_code == 409
    assert "chains of runs stop at depth 5" in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_lean_intake_honours_the_depth_too(workspace):
    workflow = webhook_workflow(workspace)
    path = f"/webhooks/{workflow.webhook_token}/"
    intake = WebhookIntake()
    status, _, body = asyncio.run(call(intake, "POST", path, b"{}", {"x-workflow-depth": "2"}))
    assert status == 202 and WorkflowRun.objects.get(pk=body["run_id"]).depth == 3
    status, _, body = asyncio.run(call(intake, "POST", path, b"{}", {"x-workflow-depth": "5"}))
    assert status == 409 and "depth 5" in body["detail"]
    assert WorkflowRun.objects.count() == 1


@pytest.mark.django_db
def test_a_manual_run_through_the_api_from_a_run_at_depth_five_is_refused(api, workspace):
    workflow = published(workspace, graph(PASS))
    answer = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json",
                      HTTP_X_WORKFLOW_DEPTH="5")  # fmt: skip
    assert answer.status_code == 409 and "depth 5" in answer.json()["detail"]
    answer = api.post(f"/api/v1/workflows/{workflow.pk}/run/", {}, format="json",
                      HTTP_X_WORKFLOW_DEPTH="4")  # fmt: skip
    assert answer.status_code == 202
    assert WorkflowRun.objects.get(pk=answer.json()["run_ids"][0]).depth == 5


@pytest.mark.django_db
def test_a_record_written_through_the_api_by_a_run_triggers_runs_one_deeper(
    api, workspace, django_capture_on_commit_callbacks
):
    published(workspace, graph(PASS, trigger={"type": "record_created",
                                              "settings": {"object": "company"}}))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/companies/", {"name": "Deep"}, format="json",
                        HTTP_X_WORKFLOW_DEPTH="2").status_code == 201  # fmt: skip
    assert WorkflowRun.objects.get().depth == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/companies/", {"name": "Deeper"}, format="json",
                        HTTP_X_WORKFLOW_DEPTH="5").status_code == 201  # fmt: skip
    assert WorkflowRun.objects.count() == 1  # the write is kept; the sixth run is not started


@pytest.mark.django_db(transaction=True)
def test_a_workflow_calling_its_own_webhook_stops_at_depth_five(live_server, settings, workspace):
    """The loop of review note 1.16: each run's HTTP step posts to its own workflow's webhook,
    through a real server."""
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [live_server.url.split("//", 1)[1]]  # host:port
    workflow = webhook_workflow(workspace)
    own_url = f"{live_server.url}/webhooks/{workflow.webhook_token}/"
    call_self = step("again", "http_request", {"method": "POST", "url": own_url, "body": {}})
    services.save_draft(workflow, graph(call_self, trigger={"type": "webhook", "settings": {}}))
    services.publish(workflow)

    assert post(Client(), workflow).status_code == 202
    runs = list(WorkflowRun.objects.filter(workflow=workflow).order_by("depth"))
    assert [run.depth for run in runs] == [1, 2, 3, 4, 5]
    last = runs[-1].steps.get(step_id="again")
    assert last.status == "failed" and "HTTP 409" in last.error
    assert "chains of runs stop at depth 5" in last.error
    assert all(run.steps.get(step_id="again").status == "succeeded" for run in runs[:-1])
