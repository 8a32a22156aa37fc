"""Webhook triggers through the Django view at /webhooks/<token>/ (the test client's path):
every status of SPEC section 6, the payload, auth, rate limit and secret rotation. The lean
ASGI intake shares these checks: tests/workflows/test_webhook_asgi.py."""

import hashlib
import hmac
import json

import pytest
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows import services
from workflows.models import RunStatus, WorkflowRun
from workflows.triggers.webhook import MAX_BODY_BYTES, rate_limiter

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("got", "filter", {"when": {"all": []}})


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    rate_limiter.reset()
    yield
    rate_limiter.reset()


def webhook_workflow(workspace, name="Lead capture", **settings):
    return published(
        workspace, graph(PASS, trigger={"type": "webhook", "settings": settings}), name=name
    )


def url(workflow) -> str:
    return f"/webhooks/{workflow.webhook_token}/"


def post_json(client, workflow, body, **headers):
    return client.post(url(workflow), json.dumps(body), content_type="application/json", **headers)


def signature(workflow, body: bytes) -> str:
    key = workflow.webhook_secret.encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def the_run(response) -> WorkflowRun:
    return WorkflowRun.objects.get(pk=response.json()["run_id"])


# --- 202 --------------------------------------------------------------------------------------


def test_a_json_post_answers_202_once_the_run_is_stored(client, workspace):
    workflow = webhook_workflow(workspace)
    response = post_json(
        client, workflow, {"email": "a@x.io"}, QUERY_STRING="src=form", HTTP_USER_AGENT="tests"
    )
    assert response.status_code == 202
    run = the_run(response)
    assert run.workflow == workflow and run.source == WorkflowRun.Source.TRIGGER
    assert run.status == RunStatus.COMPLETED
    assert run.trigger_payload["body"] == {"email": "a@x.io"}
    assert run.trigger_payload["query"] == {"src": "form"}
    assert run.trigger_payload["headers"]["user-agent"] == "tests"


def test_a_form_post_gives_its_fields_as_the_body(client, workspace):
    workflow = webhook_workflow(workspace)
    response = client.post(
        url(workflow),
        "email=a%40x.io&tag=a&tag=b",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 202
    assert the_run(response).trigger_payload["body"] == {"email": "a@x.io", "tag": ["a", "b"]}


def test_a_multipart_form_post_gives_its_fields_as_the_body(client, workspace):
    workflow = webhook_workflow(workspace)
    response = client.post(url(workflow), {"email": "a@x.io"})
    assert response.status_code == 202
    assert the_run(response).trigger_payload["body"] == {"email": "a@x.io"}


def test_a_get_webhook_reads_the_query(client, workspace):
    workflow = webhook_workflow(workspace, method="GET")
    response = client.get(url(workflow), {"email": "a@x.io"})
    assert response.status_code == 202
    payload = the_run(response).trigger_payload
    assert payload["query"] == {"email": "a@x.io"} and payload["body"] == {}


def test_auth_headers_never_reach_the_payload(client, workspace):
    workflow = webhook_workflow(workspace, auth="token")
    client.cookies["sessionid"] = "secret-session"
    response = post_json(
        client,
        workflow,
        {},
        HTTP_X_WORKFLOW_TOKEN=workflow.webhook_secret,
        HTTP_AUTHORIZATION="Bearer x",
        HTTP_X_SIGNATURE="sha256=00",
        HTTP_X_TRACE="t1",
    )
    headers = the_run(response).trigger_payload["headers"]
    assert headers["x-trace"] == "t1"
    assert not {"x-workflow-token", "authorization", "x-signature", "cookie"} & set(headers)


def test_no_csrf_token_is_needed(workspace):
    workflow = webhook_workflow(workspace)
    response = post_json(Client(enforce_csrf_checks=True), workflow, {"a": 1})
    assert response.status_code == 202


# --- refusals ---------------------------------------------------------------------------------


def test_unparsable_json_answers_400(client, workspace):
    workflow = webhook_workflow(workspace)
    response = client.post(url(workflow), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    assert not WorkflowRun.objects.exists()


def test_an_unknown_token_answers_404(client, workspace):
    webhook_workflow(workspace)
    response = client.post("/webhooks/no-such-token/", "{}", content_type="application/json")
    assert response.status_code == 404


def test_an_inactive_workflow_answers_404(client, workspace):
    workflow = webhook_workflow(workspace)
    services.deactivate(workflow)
    assert post_json(client, workflow, {}).status_code == 404


def test_a_workflow_without_a_webhook_trigger_answers_404(client, workspace):
    workflow = published(workspace, graph(PASS))  # manual trigger
    assert post_json(client, workflow, {}).status_code == 404


def test_a_wrong_method_answers_405_with_the_allowed_one(client, workspace):
    workflow = webhook_workflow(workspace)
    response = client.get(url(workflow))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_a_body_over_one_megabyte_answers_413(client, workspace):
    workflow = webhook_workflow(workspace)
    body = json.dumps({"blob": "x" * MAX_BODY_BYTES})
    response = client.post(url(workflow), body, content_type="application/json")
    assert response.status_code == 413
    assert not WorkflowRun.objects.exists()


def test_a_missing_or_wrong_token_answers_401(client, workspace):
    workflow = webhook_workflow(workspace, auth="token")
    assert post_json(client, workflow, {}).status_code == 401
    assert post_json(client, workflow, {}, HTTP_X_WORKFLOW_TOKEN="guess").status_code == 401
    assert not WorkflowRun.objects.exists()


def test_the_right_token_answers_202(client, workspace):
    workflow = webhook_workflow(workspace, auth="token")
    response = post_json(client, workflow, {}, HTTP_X_WORKFLOW_TOKEN=workflow.webhook_secret)
    assert response.status_code == 202


def test_a_missing_or_wrong_signature_answers_401(client, workspace):
    workflow = webhook_workflow(workspace, auth="hmac")
    body = b'{"amount": 10}'
    assert client.post(url(workflow), body, content_type="application/json").status_code == 401
    forged = signature(workflow, b'{"amount": 99999}')
    response = client.post(
        url(workflow), body, content_type="application/json", HTTP_X_SIGNATURE=forged
    )
    assert response.status_code == 401


def test_a_valid_signature_of_the_raw_body_answers_202(client, workspace):
    workflow = webhook_workflow(workspace, auth="hmac")
    body = b'{"amount": 10}'
    response = client.post(
        url(workflow),
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature(workflow, body),
    )
    assert response.status_code == 202
    assert the_run(response).trigger_payload["body"] == {"amount": 10}


def test_calls_over_the_workspace_rate_limit_answer_429_with_retry_after(
    client, workspace, settings
):
    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 2
    first, second = webhook_workflow(workspace, "A"), webhook_workflow(workspace, "B")
    assert post_json(client, first, {}).status_code == 202
    assert post_json(client, second, {}).status_code == 202
    response = post_json(client, first, {})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert WorkflowRun.objects.count() == 2


def test_the_rate_limit_counts_each_workspace_apart(client, workspace, settings):
    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 1
    ours, theirs = webhook_workflow(workspace), webhook_workflow(make_workspace("other"))
    assert post_json(client, ours, {}).status_code == 202
    assert post_json(client, theirs, {}).status_code == 202
    assert post_json(client, ours, {}).status_code == 429


def test_the_rate_limit_window_is_a_clock_minute(settings):
    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 1
    assert rate_limiter.retry_after(1, now=120.0) is None
    assert rate_limiter.retry_after(1, now=150.5) == 30
    assert rate_limiter.retry_after(1, now=180.0) is None


# --- secret rotation --------------------------------------------------------------------------


def test_rotating_the_secret_makes_the_old_one_fail(client, workspace, api):
    workflow = webhook_workflow(workspace, auth="token")
    old = workflow.webhook_secret
    response = api.post(f"/api/v1/workflows/{workflow.pk}/rotate-secret/")
    assert response.status_code == 200
    new = response.json()["webhook_secret"]
    assert new and new != old
    assert post_json(client, workflow, {}, HTTP_X_WORKFLOW_TOKEN=old).status_code == 401
    assert post_json(client, workflow, {}, HTTP_X_WORKFLOW_TOKEN=new).status_code == 202


def test_members_cannot_rotate_the_secret(workspace):
    from rest_framework.test import APIClient

    workflow = webhook_workflow(workspace)
    member = APIClient()
    member.force_authenticate(make_user("member@example.com", workspace, Role.MEMBER))
    response = member.post(f"/api/v1/workflows/{workflow.pk}/rotate-secret/")
    assert response.status_code == 403
