"""Webhook triggers (SPEC sections 4 and 6): what a call to `/webhooks/<token>/` must be to
start a run, and the payload it starts it with. No I/O but the rate count: the two transports in
workflows/webhooks.py (a lean ASGI app under daphne, a Django view for the test client and
other servers) read the request, call `accept`, and store the run.

Checks, in order, each with its status: unknown token or inactive workflow 404, wrong method
405, body over 1 MB 413, failed token or signature 401, unparsable body 400, workspace over its
rate limit 429 (with Retry-After). Accepted calls answer 202 with the stored run's id.

Payload: `body` (JSON, a form as an object, other text as a string; `{}` for GET and empty
bodies), `query` (an object; a name given several times gets a list), `headers` (lower-case
names, without X-Workflow-Token, X-Signature, Authorization and Cookie).
"""

import hashlib
import hmac
import io
import json
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import runtime
from ..models import WebhookDelivery, Workflow, WorkflowRun, new_token
from . import senders
from .index import WebhookTarget
from .webhook_rate import rate_limiter

MAX_BODY_BYTES = 1024 * 1024
AUTH_HEADERS = frozenset(
    {"x-workflow-token", "x-signature", "authorization", "cookie", *senders.SIGNATURE_HEADERS}
)
# How long the former secret still works after `set_webhook_secret` (SPEC section 7).
PREVIOUS_SECRET_GRACE = 3600
JSON_TYPES = ("", "application/json", "text/json")


class Rejected(Exception):
    """A call that starts no run: its status and a message for the caller."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class WebhookCall:
    """An incoming call, independent of the server that received it."""

    method: str
    headers: dict[str, str]  # lower-case names
    query_string: str
    body: bytes = b""
    remote: str = ""
    content_type: str = field(init=False)

    def __post_init__(self):
        self.content_type = self.headers.get("content-type", "")


def accept(target: WebhookTarget | None, call: WebhookCall) -> dict:
    """The run's payload if `call` may start a run of `target`'s workflow; raises Rejected."""
    check_target(target)
    check_method(target, call.method)
    if len(call.body) > MAX_BODY_BYTES:
        raise too_large()
    check_auth(target, call)
    new_run_depth(call)
    body = parse_body(call)
    check_rate(target.workspace_id)
    return {
        "body": body,
        "query": parse_query(call.query_string),
        "headers": {
            name: value for name, value in call.headers.items() if name not in AUTH_HEADERS
        },
    }


def new_run_depth(call: WebhookCall) -> int:
    """One more than the X-Workflow-Depth of a call sent by a workflow run (SPEC section 6);
    409 when that run is at the last depth, so a loop through this webhook stops."""
    calling = runtime.depth_from_header(call.headers.get(runtime.DEPTH_HEADER.lower()))
    try:
        return runtime.depth_for_new_run(calling)
    except runtime.ChainTooDeep as error:
        raise Rejected(409, str(error)) from None


def check_target(target: WebhookTarget | None) -> None:
    if target is None:
        raise Rejected(404, "No active workflow listens at this address.")


def check_method(target: WebhookTarget, method: str) -> None:
    if method.upper() != target.method:
        raise Rejected(405, f"This webhook accepts {target.method} only.", {"Allow": target.method})


def too_large() -> Rejected:
    return Rejected(413, f"The body is larger than {MAX_BODY_BYTES // 1024 // 1024} MB.")


def check_auth(target: WebhookTarget, call: WebhookCall) -> None:
    secrets = [s.encode() for s in target.secrets(timezone.now())]
    if target.auth in senders.SCHEMES:
        try:
            senders.verify(target.auth, call.headers, call.body, target.secrets(timezone.now()))
        except senders.SignatureError as error:
            raise Rejected(401, str(error)) from None
    elif target.auth == "token":
        given = call.headers.get("x-workflow-token", "").encode()
        if not any([hmac.compare_digest(given, secret) for secret in secrets]):
            raise Rejected(401, "Missing or wrong X-Workflow-Token header.")
    elif target.auth == "hmac":
        given = call.headers.get("x-signature", "").strip().lower().encode()
        expected = [
            b"sha256=" + hmac.new(secret, call.body, hashlib.sha256).hexdigest().encode()
            for secret in secrets
        ]
        if not any([hmac.compare_digest(given, e) for e in expected]):
            raise Rejected(
                401,
                "Missing or wrong X-Signature header (sha256=<hex HMAC-SHA256 "
                "of the raw body, keyed with the webhook secret>).",
            )


def parse_body(call: WebhookCall):
    if call.method.upper() == "GET" or not call.body.strip():
        return {}
    media_type = call.content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return parse_query(call.body.decode("utf-8", "replace"))
    if media_type == "multipart/form-data":
        return parse_multipart(call)
    if media_type in JSON_TYPES or media_type.endswith("+json"):
        try:
            return json.loads(call.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise Rejected(400, f"The body is not valid JSON: {error}.") from None
    return call.body.decode("utf-8", "replace")


def parse_query(text: str) -> dict:
    values: dict = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        if name in values:
            previous = values[name]
            values[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[name] = value
    return values


def parse_multipart(call: WebhookCall) -> dict:
    """Form fields as values; uploaded files as {filename, content_type, size}."""
    from django.core.files.uploadhandler import MemoryFileUploadHandler
    from django.http.multipartparser import MultiPartParser, MultiPartParserError

    meta = {"CONTENT_TYPE": call.content_type, "CONTENT_LENGTH": str(len(call.body))}
    try:
        fields, files = MultiPartParser(
            meta, io.BytesIO(call.body), [MemoryFileUploadHandler()], "utf-8"
        ).parse()
    except MultiPartParserError as error:
        raise Rejected(400, f"The multipart body cannot be read: {error}.") from None
    body = {name: values[0] if len(values) == 1 else values for name, values in fields.lists()}
    for name, upload in files.items():
        body[name] = {
            "filename": upload.name,
            "content_type": upload.content_type,
            "size": upload.size,
        }
    return body


# --- rate limit (counted in workflows/triggers/webhook_rate.py) --------------------------------


def check_rate(workspace_id: int) -> None:
    wait = rate_limiter.retry_after(workspace_id)
    if wait is not None:
        raise Rejected(
            429,
            "Too many webhook calls for this workspace; try again later.",
            {"Retry-After": str(wait)},
        )


# --- secret rotation ----------------------------------------------------------------------------


def rotate_webhook_secret(workflow: Workflow) -> str:
    """Gives the workflow a new webhook secret; the old one stops working at once here and
    within a second in other processes (the save moves the trigger generation)."""
    workflow.webhook_secret = new_token()
    workflow.save(update_fields=["webhook_secret", "updated_at"])
    return workflow.webhook_secret


def set_webhook_secret(workflow: Workflow, secret: str | None = None) -> str:
    """Sets the sender-issued `secret`, or a new random one when None; the former secret is
    still accepted for an hour, as senders such as Shopify take that long to switch over.
    Returns the secret now in force."""
    with transaction.atomic():
        workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
        workflow.previous_webhook_secret = workflow.webhook_secret
        workflow.previous_secret_expires_at = timezone.now() + timedelta(
            seconds=PREVIOUS_SECRET_GRACE
        )
        workflow.webhook_secret = secret if secret is not None else new_token()
        workflow.webhook_secret_given = secret is not None
        workflow.save(
            update_fields=[
                "webhook_secret",
                "webhook_secret_given",
                "previous_webhook_secret",
                "previous_secret_expires_at",
                "updated_at",
            ]
        )
    return workflow.webhook_secret


# --- delivery ids -------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCall:
    run_id: str
    repeated: bool  # a delivery seen before: its first run, nothing new started


def store_webhook_run(target: WebhookTarget, call: WebhookCall, payload: dict) -> StoredCall:
    """Stores the run of an accepted call. A call with a sender's delivery id is stored at
    most once per workflow: its id row and its run commit together, and a repeat (also one
    racing the first) answers with the first run."""
    from ..queue import start_run

    depth = new_run_depth(call)
    delivery = senders.delivery_id(target.auth, call.headers, call.body)
    workflow_id = target.version.workflow_id
    if delivery is None:
        run = start_run(target.version, payload, WorkflowRun.Source.TRIGGER, depth=depth)
        return StoredCall(str(run.pk), repeated=False)
    first = _first_run_of(workflow_id, delivery)
    if first is not None:
        return first
    try:
        with transaction.atomic():
            row = WebhookDelivery.objects.create(workflow_id=workflow_id, delivery_id=delivery)
            run = start_run(target.version, payload, WorkflowRun.Source.TRIGGER, depth=depth)
            WebhookDelivery.objects.filter(pk=row.pk).update(run=run)
    except IntegrityError:  # the same delivery, stored meanwhile by another request
        return _first_run_of(workflow_id, delivery) or StoredCall("", repeated=True)
    return StoredCall(str(run.pk), repeated=False)


def _first_run_of(workflow_id, delivery: str) -> StoredCall | None:
    row = (
        WebhookDelivery.objects.filter(workflow_id=workflow_id, delivery_id=delivery)
        .values_list("run_id", flat=True)
        .first()
    )
    if (
        row is None
        and not WebhookDelivery.objects.filter(
            workflow_id=workflow_id, delivery_id=delivery
        ).exists()
    ):
        return None
    return StoredCall(str(row) if row else "", repeated=True)
