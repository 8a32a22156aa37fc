"""Webhooks from real senders (SPEC section 4, `auth`): each request signed exactly as the
sender documents (../shared/notes/builder-anchors.md section 5), a replayed delivery id that
starts nothing, and `webhook-secret/` with the former secret accepted for an hour."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from crm.models import Role
from tests.conftest import make_user
from workflows.models import WebhookDelivery, Workflow, WorkflowRun
from workflows.triggers import senders
from workflows.triggers.webhook import rate_limiter

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db

PASS = step("got", "filter", {"when": {"all": []}})
BODY = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    rate_limiter.reset()


def sender_workflow(workspace, auth, secret=None):
    workflow = published(
        workspace, graph(PASS, trigger={"type": "webhook", "settings": {"auth": auth}})
    )
    if secret:
        Workflow.objects.filter(pk=workflow.pk).update(webhook_secret=secret)
        workflow.refresh_from_db()
    return workflow


def post(client, workflow, body=BODY, **headers):
    return client.post(
        f"/webhooks/{workflow.webhook_token}/", body, content_type="application/json", **headers
    )


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def runs(workflow) -> int:
    return WorkflowRun.objects.filter(workflow=workflow).count()


# --- GitHub -------------------------------------------------------------------------------------


def test_github_published_test_vector_verifies():
    headers = {
        "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    senders.verify("github", headers, b"Hello, World!", ["It's a Secret to Everybody"])
    with pytest.raises(senders.SignatureError):
        senders.verify("github", headers, b"Hello, World?", ["It's a Secret to Everybody"])


def github_headers(workflow, body=BODY, delivery="72d3162e-cc78-11e3-81ab-4c9367dc0958"):
    return {
        "HTTP_X_HUB_SIGNATURE_256": "sha256=" + hex_hmac(workflow.webhook_secret, body),
        "HTTP_X_GITHUB_DELIVERY": delivery,
        "HTTP_X_GITHUB_EVENT": "push",
    }


def test_a_github_delivery_signed_with_the_secret_starts_a_run(client, workspace):
    workflow = sender_workflow(workspace, "github")
    response = post(client, workflow, **github_headers(workflow))
    assert response.status_code == 202, response.content
    run = WorkflowRun.objects.get(pk=response.json()["run_id"])
    assert run.trigger_payload["body"]["type"] == "invoice.paid"
    assert "x-hub-signature-256" not in run.trigger_payload["headers"]
    assert run.trigger_payload["headers"]["x-github-event"] == "push"


def test_a_github_delivery_with_a_wrong_signature_answers_401_and_stores_nothing(client, workspace):
    workflow = sender_workflow(workspace, "github")
    headers = github_headers(workflow, body=b"{}")  # signed another body
    assert post(client, workflow, **headers).status_code == 401
    assert runs(workflow) == 0 and not WebhookDelivery.objects.exists()


def test_a_signature_of_another_scheme_answers_401(client, workspace):
    workflow = sender_workflow(workspace, "github")
    signed = "sha256=" + hex_hmac(workflow.webhook_secret, BODY)
    assert post(client, workflow, HTTP_X_SIGNATURE=signed).status_code == 401
    assert runs(workflow) == 0


def test_a_replayed_github_delivery_answers_200_with_the_first_run_and_starts_nothing(
    client, workspace
):
    workflow = sender_workflow(workspace, "github")
    first = post(client, workflow, **github_headers(workflow))
    again = post(client, workflow, **github_headers(workflow))
    assert first.status_code == 202 and again.status_code == 200
    assert again.json() == {"run_id": first.json()["run_id"]}
    assert runs(workflow) == 1
    other = post(client, workflow, **github_headers(workflow, delivery="another"))
    assert other.status_code == 202 and runs(workflow) == 2


# --- Stripe -------------------------------------------------------------------------------------


def stripe_header(secret, body=BODY, t=None, extra=""):
    t = int(time.time()) if t is None else t
    return f"t={t},v1={hex_hmac(secret, f'{t}.'.encode() + body)}{extra}"


def test_a_stripe_event_signed_with_t_and_v1_starts_one_run_per_event_id(client, workspace):
    workflow = sender_workflow(workspace, "stripe", secret=WHSEC)
    header = stripe_header(WHSEC, extra=",v0=ignored")
    assert post(client, workflow, HTTP_STRIPE_SIGNATURE=header).status_code == 202
    assert post(client, workflow, HTTP_STRIPE_SIGNATURE=header).status_code == 200
    assert runs(workflow) == 1


def test_stripe_accepts_any_matching_v1(client, workspace):
    workflow = sender_workflow(workspace, "stripe", secret=WHSEC)
    t = int(time.time())
    header = f"t={t},v1={'0' * 64},v1={hex_hmac(WHSEC, f'{t}.'.encode() + BODY)}"
    assert post(client, workflow, HTTP_STRIPE_SIGNATURE=header).status_code == 202


def test_a_stripe_timestamp_older_than_300_seconds_answers_401(client, workspace):
    workflow = sender_workflow(workspace, "stripe", secret=WHSEC)
    header = stripe_header(WHSEC, t=int(time.time()) - 301)
    response = post(client, workflow, HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 401 and "300 seconds" in response.json()["detail"]
    assert runs(workflow) == 0


# --- Shopify ------------------------------------------------------------------------------------


def test_a_shopify_webhook_with_the_base64_hmac_starts_a_run_once_per_webhook_id(client, workspace):
    workflow = sender_workflow(workspace, "shopify", secret="shpss_client_secret_1234")
    digest = hmac.new(b"shpss_client_secret_1234", BODY, hashlib.sha256).digest()
    headers = {
        "HTTP_X_SHOPIFY_HMAC_SHA256": base64.b64encode(digest).decode(),
        "HTTP_X_SHOPIFY_WEBHOOK_ID": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "HTTP_X_SHOPIFY_TOPIC": "orders/create",
    }
    assert post(client, workflow, **headers).status_code == 202
    assert post(client, workflow, **headers).status_code == 200
    hexed = {
        **headers,
        "HTTP_X_SHOPIFY_HMAC_SHA256": digest.hex(),
        "HTTP_X_SHOPIFY_WEBHOOK_ID": "2",
    }
    assert post(client, workflow, **hexed).status_code == 401  # hex is not Shopify's encoding
    assert runs(workflow) == 1


# --- Slack --------------------------------------------------------------------------------------


def slack_headers(secret, body=BODY, ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    return {
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
        "HTTP_X_SLACK_SIGNATURE": "v0=" + hex_hmac(secret, f"v0:{ts}:".encode() + body),
    }


def test_a_slack_request_signed_with_v0_starts_a_run(client, workspace):
    workflow = sender_workflow(workspace, "slack", secret="8f742231b10e8888abcd99yyyzzz85a5")
    assert (
        post(client, workflow, **slack_headers("8f742231b10e8888abcd99yyyzzz85a5")).status_code
        == 202
    )


@pytest.mark.parametrize("shift", [-301, 301])
def test_a_slack_timestamp_more_than_five_minutes_away_answers_401(client, workspace, shift):
    workflow = sender_workflow(workspace, "slack", secret="8f742231b10e8888abcd99yyyzzz85a5")
    headers = slack_headers("8f742231b10e8888abcd99yyyzzz85a5", ts=int(time.time()) + shift)
    assert post(client, workflow, **headers).status_code == 401
    assert runs(workflow) == 0


# --- Standard Webhooks and Svix -----------------------------------------------------------------


def standard_signature(secret, msg_id, ts, body=BODY):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{ts}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_the_standard_webhooks_spec_example_verifies():
    # standard-webhooks spec / svix docs example: secret, msg id, timestamp and body.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    msg_id, ts, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}'
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": ts,
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    senders.verify("standard", headers, body, [secret], now=1614265330)
    with pytest.raises(senders.SignatureError):
        senders.verify("standard", headers, body, [secret], now=1614265330 + 301)


@pytest.mark.parametrize("prefix", ["webhook", "svix"])
def test_a_standard_or_svix_delivery_starts_one_run_per_message_id(client, workspace, prefix):
    workflow = sender_workflow(workspace, "standard", secret=WHSEC)
    ts = str(int(time.time()))
    header = prefix.upper()
    headers = {
        f"HTTP_{header}_ID": "msg_1",
        f"HTTP_{header}_TIMESTAMP": ts,
        f"HTTP_{header}_SIGNATURE": "v1,bm90IGl0 " + standard_signature(WHSEC, "msg_1", ts),
    }
    assert post(client, workflow, **headers).status_code == 202
    assert post(client, workflow, **headers).status_code == 200
    assert runs(workflow) == 1


def test_a_standard_delivery_with_a_future_timestamp_answers_401(client, workspace):
    workflow = sender_workflow(workspace, "standard", secret=WHSEC)
    ts = str(int(time.time()) + 400)
    headers = {
        "HTTP_WEBHOOK_ID": "msg_2",
        "HTTP_WEBHOOK_TIMESTAMP": ts,
        "HTTP_WEBHOOK_SIGNATURE": standard_signature(WHSEC, "msg_2", ts),
    }
    assert post(client, workflow, **headers).status_code == 401
    assert runs(workflow) == 0 and not WebhookDelivery.objects.exists()


# --- webhook-secret/ ----------------------------------------------------------------------------


def test_setting_a_sender_secret_is_write_only_and_the_old_secret_works_for_an_hour(
    client, workspace, api
):
    workflow = sender_workflow(workspace, "stripe")
    old = workflow.webhook_secret
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/webhook-secret/", {"secret": WHSEC}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["webhook_secret"] is None
    assert WHSEC not in json.dumps(api.get(f"/api/v1/workflows/{workflow.pk}/").json())
    new_body = json.dumps({"id": "evt_new"}).encode()
    assert (
        post(
            client, workflow, new_body, HTTP_STRIPE_SIGNATURE=stripe_header(WHSEC, new_body)
        ).status_code
        == 202
    )
    assert post(client, workflow, HTTP_STRIPE_SIGNATURE=stripe_header(old)).status_code == 202
    Workflow.objects.filter(pk=workflow.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    late = json.dumps({"id": "evt_late"}).encode()
    assert (
        post(client, workflow, late, HTTP_STRIPE_SIGNATURE=stripe_header(old, late)).status_code
        == 401
    )


def test_rotating_through_webhook_secret_shows_the_new_random_secret_once(workspace, api):
    workflow = sender_workflow(workspace, "github")
    response = api.post(f"/api/v1/workflows/{workflow.pk}/webhook-secret/")
    assert response.status_code == 200
    new = response.json()["webhook_secret"]
    workflow.refresh_from_db()
    assert new == workflow.webhook_secret and workflow.previous_webhook_secret


def test_a_too_short_secret_answers_400(workspace, api):
    workflow = sender_workflow(workspace, "github")
    response = api.post(
        f"/api/v1/workflows/{workflow.pk}/webhook-secret/", {"secret": "abc"}, format="json"
    )
    assert response.status_code == 400


def test_members_cannot_set_the_webhook_secret(workspace):
    workflow = sender_workflow(workspace, "github")
    member = APIClient()
    member.force_authenticate(make_user("member@example.com", workspace, Role.MEMBER))
    response = member.post(
        f"/api/v1/workflows/{workflow.pk}/webhook-secret/", {"secret": WHSEC}, format="json"
    )
    assert response.status_code == 403


# --- Housekeeping -------------------------------------------------------------------------------


def test_the_sweep_forgets_delivery_ids_after_the_keep_window_and_keeps_recent_ones(
    client, workspace
):
    from workflows.maintenance import WEBHOOK_DELIVERY_KEEP_DAYS, prune_webhook_deliveries

    workflow = sender_workflow(workspace, "github")
    post(client, workflow, **github_headers(workflow, delivery="old"))
    post(client, workflow, **github_headers(workflow, delivery="recent"))
    WebhookDelivery.objects.filter(delivery_id="old").update(
        created_at=timezone.now() - timedelta(days=WEBHOOK_DELIVERY_KEEP_DAYS, minutes=1)
    )
    assert prune_webhook_deliveries() == 1
    assert list(WebhookDelivery.objects.values_list("delivery_id", flat=True)) == ["recent"]
