"""Webhook signature schemes of real senders (SPEC section 4, `auth`): each checked exactly as
the sender signs, over the raw body, with constant-time comparisons and the sender's own
timestamp window. Sources: ../shared/notes/builder-anchors.md section 5.

- `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`; no timestamp.
- `stripe`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`, HMAC-SHA256 of `<t>.<body>` with
  the `whsec_...` secret as it is; any `v1` may match; `t` at most 300 s old (Stripe's
  library rejects only old timestamps).
- `shopify`: `X-Shopify-Hmac-SHA256` (or `shopify-hmac-sha256`): base64 HMAC-SHA256 of the body.
- `slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:<ts>:<body>")>` with
  `X-Slack-Request-Timestamp` within 5 minutes either way.
- `standard` (Standard Webhooks, Svix): `webhook-id`, `webhook-timestamp`, `webhook-signature`
  (or `svix-*`); HMAC-SHA256 of `<id>.<ts>.<body>` keyed with base64-decode(secret without
  `whsec_`), base64; a space-separated list of `v1,<sig>`; timestamp within 5 minutes either
  way.

A delivery id the sender gives (`delivery_id`) lets a repeated delivery start nothing new.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence

SCHEMES = ("github", "stripe", "shopify", "slack", "standard")
# Headers that carry a signature: never part of the run's payload.
SIGNATURE_HEADERS = frozenset(
    {
        "x-hub-signature-256",
        "x-hub-signature",
        "stripe-signature",
        "x-shopify-hmac-sha256",
        "shopify-hmac-sha256",
        "x-slack-signature",
        "webhook-signature",
        "svix-signature",
    }
)
STRIPE_TOLERANCE = 300
SLACK_TOLERANCE = 5 * 60
STANDARD_TOLERANCE = 5 * 60


class SignatureError(Exception):
    """The call is not signed as the scheme says; the message tells the sender why."""


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def _timestamp(value: str, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SignatureError(f"Missing or unreadable {name} header.") from None


def _github(headers: dict, body: bytes, key: bytes, now: float) -> bool:
    given = headers.get("x-hub-signature-256", "")
    return _matches("sha256=" + _hmac(key, body).hex(), given)


def _stripe(headers: dict, body: bytes, key: bytes, now: float) -> bool:
    parts = [item.split("=", 1) for item in headers.get("stripe-signature", "").split(",")]
    pairs = [(name.strip(), value.strip()) for name, value, *_ in (p + [""] for p in parts)]
    timestamp = _timestamp(next((v for n, v in pairs if n == "t"), ""), "Stripe-Signature t=")
    if timestamp < now - STRIPE_TOLERANCE:
        raise SignatureError("Stripe-Signature timestamp is older than 300 seconds.")
    expected = _hmac(key, f"{timestamp}.".encode() + body).hex()
    # Every v1 is compared (no early exit), so the time taken says nothing about which matched.
    return any([_matches(expected, value) for name, value in pairs if name == "v1"])


def _shopify(headers: dict, body: bytes, key: bytes, now: float) -> bool:
    given = headers.get("x-shopify-hmac-sha256") or headers.get("shopify-hmac-sha256") or ""
    return _matches(base64.b64encode(_hmac(key, body)).decode(), given.strip())


def _slack(headers: dict, body: bytes, key: bytes, now: float) -> bool:
    raw = headers.get("x-slack-request-timestamp", "")
    timestamp = _timestamp(raw, "X-Slack-Request-Timestamp")
    if abs(now - timestamp) > SLACK_TOLERANCE:
        raise SignatureError("X-Slack-Request-Timestamp is more than 5 minutes away from now.")
    expected = "v0=" + _hmac(key, f"v0:{raw}:".encode() + body).hex()
    return _matches(expected, headers.get("x-slack-signature", ""))


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after `whsec_`; a secret without
    the prefix that is not base64 is used as its UTF-8 bytes."""
    text = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        if secret.startswith("whsec_"):
            raise SignatureError("The webhook secret is not a valid whsec_ secret.") from None
        return secret.encode()


def standard_headers(headers: dict) -> tuple[str, str, str]:
    """(id, timestamp, signature) from `webhook-*` headers, else Svix's `svix-*`."""
    prefix = "webhook-" if "webhook-signature" in headers else "svix-"
    return (
        headers.get(prefix + "id", ""),
        headers.get(prefix + "timestamp", ""),
        headers.get(prefix + "signature", ""),
    )


def _standard(headers: dict, body: bytes, key: bytes, now: float) -> bool:
    message_id, raw, signatures = standard_headers(headers)
    if not message_id:
        raise SignatureError("Missing webhook-id (or svix-id) header.")
    timestamp = _timestamp(raw, "webhook-timestamp (or svix-timestamp)")
    if abs(now - timestamp) > STANDARD_TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes away from now.")
    signed = f"{message_id}.{raw}.".encode() + body
    expected = base64.b64encode(_hmac(key, signed)).decode()
    given = [item.split(",", 1) for item in signatures.split()]
    return any(
        [_matches(expected, sig) for version, *rest in given for sig in rest if version == "v1"]
    )


VERIFIERS: dict[str, Callable[[dict, bytes, bytes, float], bool]] = {
    "github": _github,
    "stripe": _stripe,
    "shopify": _shopify,
    "slack": _slack,
    "standard": _standard,
}


def verify(
    scheme: str, headers: dict, body: bytes, secrets: Sequence[str], now: float | None = None
) -> None:
    """Passes if `body` is signed with one of `secrets` as `scheme` signs; else SignatureError.

    `headers` have lower-case names. Several secrets: the current one and, for an hour after
    a rotation, the previous one.
    """
    now = time.time() if now is None else now
    check = VERIFIERS[scheme]
    keys = [standard_key(s) if scheme == "standard" else s.encode() for s in secrets if s]
    if not any([check(headers, body, key, now) for key in keys]):
        raise SignatureError(f"Missing or wrong {scheme} signature.")


def delivery_id(scheme: str, headers: dict, body: bytes) -> str | None:
    """The sender's id of this delivery, the same on each retry of it, or None."""
    if scheme == "github":
        value = headers.get("x-github-delivery")
    elif scheme == "shopify":
        value = headers.get("x-shopify-webhook-id") or headers.get("shopify-webhook-id")
    elif scheme == "standard":
        value = standard_headers(headers)[0]
    elif scheme == "stripe":
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return None
        value = event.get("id") if isinstance(event, dict) else None
    else:
        return None
    return str(value)[:200] if value else None
