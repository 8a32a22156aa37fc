"""The lean webhook intake that crm/asgi.py puts in front of Django under daphne: the same
answers as the Django view, and a 202 only once the run is committed, calls arriving together
being stored together (group commit). Called as an ASGI app, in-process; its writer thread has
its own database connection, hence committed (transactional) tests."""

import asyncio
import json

import pytest

from workflows import webhooks
from workflows.models import WorkflowRun
from workflows.triggers.webhook import rate_limiter
from workflows.webhooks import GroupCommitWriter, WebhookIntake, route_webhooks

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db(transaction=True)

PASS = step("got", "filter", {"when": {"all": []}})


@pytest.fixture(scope="module")
def intake():
    """One intake (one writer thread) for the module, as in a daphne process."""
    return WebhookIntake()


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    rate_limiter.reset()


def webhook_workflow(workspace, **settings):
    return published(workspace, graph(PASS, trigger={"type": "webhook", "settings": settings}))


async def call(app, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """One HTTP request through an ASGI app: (status, headers, JSON body)."""
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        **(headers or {}),
    }
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": b"a=1",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start, body_message = sent
    return (start["status"], dict(start["headers"]), json.loads(body_message["body"]))


def test_the_intake_answers_202_with_the_committed_run(intake, workspace):
    workflow = webhook_workflow(workspace)
    status, headers, body = asyncio.run(
        call(intake, "POST", f"/webhooks/{workflow.webhook_token}/", b'{"email": "a@x.io"}')
    )
    assert status == 202 and headers[b"content-type"] == b"application/json"
    run = WorkflowRun.objects.get(pk=body["run_id"])
    assert run.trigger_payload["body"] == {"email": "a@x.io"}
    assert run.trigger_payload["query"] == {"a": "1"}


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("unknown token", 404),
        ("wrong method", 405),
        ("too large", 413),
        ("no token", 401),
        ("bad json", 400),
    ],
)
def test_the_intake_refuses_like_the_django_view(intake, workspace, case, status):
    workflow = webhook_workflow(workspace, auth="token")
    path = f"/webhooks/{workflow.webhook_token}/"
    auth = {"x-workflow-token": workflow.webhook_secret}
    request = {
        "unknown token": ("POST", "/webhooks/nope/", b"{}", auth),
        "wrong method": ("GET", path, b"", auth),
        "too large": ("POST", path, b"x", {**auth, "content-length": str(2 * 1024 * 1024)}),
        "no token": ("POST", path, b"{}", {}),
        "bad json": ("POST", path, b"{oops", auth),
    }[case]
    answer, _, body = asyncio.run(call(intake, *request))
    assert answer == status and body["detail"]
    assert not WorkflowRun.objects.exists()


def test_calls_arriving_together_are_stored_in_one_batch_each_once(intake, workspace, monkeypatch):
    workflow = webhook_workflow(workspace)
    batches = []
    store = GroupCommitWriter.store

    def counting_store(batch):
        batches.append(len(batch))
        return store(batch)

    monkeypatch.setattr(GroupCommitWriter, "store", staticmethod(counting_store))

    async def many():
        path = f"/webhooks/{workflow.webhook_token}/"
        return await asyncio.gather(
            *[call(intake, "POST", path, b'{"n": %d}' % n) for n in range(40)]
        )

    answers = asyncio.run(many())
    assert {status for status, _, _ in answers} == {202}
    run_ids = {body["run_id"] for _, _, body in answers}
    assert len(run_ids) == 40 == WorkflowRun.objects.filter(pk__in=run_ids).count()
    assert sum(batches) == 40 and max(batches) > 1


def test_other_paths_go_to_django(intake):
    seen = []

    async def django_app(scope, receive, send):
        seen.append(scope["path"])

    app = route_webhooks(django_app, intake)
    asyncio.run(app({"type": "http", "path": "/people/"}, None, None))
    assert seen == ["/people/"]


def test_webhook_tokens_come_from_the_path():
    assert webhooks.token_from_path("/webhooks/abc/") == "abc"
    assert webhooks.token_from_path("/webhooks/abc") == "abc"
    assert webhooks.token_from_path("/webhooks/abc/def/") is None
    assert webhooks.token_from_path("/webhooks/") is None


def test_the_intake_starts_one_run_for_a_replayed_github_delivery(intake, workspace):
    import hashlib
    import hmac

    workflow = webhook_workflow(workspace, auth="github")
    body = b'{"action": "opened"}'
    signature = (
        "sha256=" + hmac.new(workflow.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    )
    headers = {"x-hub-signature-256": signature, "x-github-delivery": "d-1"}
    path = f"/webhooks/{workflow.webhook_token}/"
    first = asyncio.run(call(intake, "POST", path, body, headers))
    again = asyncio.run(call(intake, "POST", path, body, headers))
    assert (first[0], again[0]) == (202, 200)
    assert again[2] == {"run_id": first[2]["run_id"]}
    assert WorkflowRun.objects.filter(workflow=workflow).count() == 1
