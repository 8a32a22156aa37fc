"""The `http_request` step (SPEC sections 4 and 6): one HTTP call from a workflow.

Connections go through the guard (guard.py), which refuses non-public addresses at the socket.
Redirects are followed here, one hop at a time, so each new URL is checked again: never from
https to http, never from a host outside WORKFLOW_HTTP_ALLOWED_HOSTS into it, and to another
host without any header that carried a secret. The timeout is the whole exchange, name
resolution included, not each socket read: a watchdog shuts the sockets down at the
deadline, so a server that drips bytes cannot hold a worker past `timeout_s`. Every request
carries X-Workflow-Depth, the run's depth, so a chain through this app's API or webhooks
stops at depth 5 (SPEC section 6).
"""

import json
import re
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from ... import runtime
from ...secrets import mask
from ...settings_schema import Setting
from ...templating import to_text
from .. import register
from ..base import GraphInfo, LimitExceeded, StepContext, StepError, StepHandler
from .guard import DestinationRefused, GuardedSession, is_allowed_host

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_TIMEOUT_S = 30
MAX_TIMEOUT_S = 120
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
MAX_REDIRECTS = 5
ERROR_BODY_CHARS = 1000
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
CHARSET = re.compile(r"charset=\"?([\w.:-]+)")
# Dropped on a redirect to another host whatever their value (as browsers and requests do).
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


@dataclass
class HttpCall:
    """The step's settings once templates are resolved and types checked."""

    method: str
    url: str
    headers: dict[str, str]
    query: dict[str, Any]
    body: Any
    timeout_s: float
    fail_on_status: bool
    # Lower-case names of the headers whose value holds a secret of the workspace.
    secret_headers: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: dict, secret_values=()) -> "HttpCall":
        problems = HttpRequest().settings_problems(settings, None)
        if problems:
            raise StepError(" ".join(problems))
        headers = {
            str(name): to_text(value)
            for name, value in (settings.get("headers") or {}).items()
            if str(name).lower() != runtime.DEPTH_HEADER.lower()  # ours to set, not a step's
        }
        return cls(
            method=str(settings.get("method") or "GET").upper(),
            url=settings["url"].strip(),
            headers=headers,
            secret_headers=frozenset(
                name.lower()
                for name, value in headers.items()
                if mask(value, secret_values) != value
            ),
            query={
                str(name): _query_value(value)
                for name, value in (settings.get("query") or {}).items()
            },
            body=settings.get("body"),
            timeout_s=float(settings.get("timeout_s") or DEFAULT_TIMEOUT_S),
            fail_on_status=_flag(settings.get("fail_on_status", True)),
        )


@register
class HttpRequest(StepHandler):
    type = "http_request"
    label = "HTTP request"
    group = "Outside"
    slow = True
    outputs = ("status", "headers", "body")
    settings_schema = (
        Setting("method", "choice", label="Method", choices=METHODS, default="GET"),
        Setting(
            "url",
            "text",
            label="URL",
            required=True,
            templates=True,
            placeholder="https://api.example.com/…",
        ),
        Setting("headers", "keyvalue", label="Headers", templates=True),
        Setting("query", "keyvalue", label="Query parameters", templates=True),
        Setting(
            "body",
            "json",
            label="Body",
            templates=True,
            help="JSON (an object is sent as JSON, or as form fields with a form Content-Type), "
            "or text.",
        ),
        Setting(
            "timeout_s",
            "number",
            label="Time limit (s)",
            templates=True,
            default=DEFAULT_TIMEOUT_S,
            help=f"Above 0, at most {MAX_TIMEOUT_S} seconds.",
        ),
        Setting(
            "fail_on_status",
            "boolean",
            label="Fail on an answer of 400 or above",
            templates=True,
            default=True,
        ),
    )

    def validate_settings(self, settings: dict, graph: GraphInfo) -> list[str]:
        return extra_problems(settings)

    def execute(self, ctx: StepContext) -> dict:
        call = HttpCall.from_settings(ctx.resolve(ctx.settings), ctx.secret_values)
        result = send(call)
        if call.fail_on_status and result["status"] >= 400:
            raise StepError(status_error(call, result))
        return {"status": result["status"], "headers": result["headers"], "body": result["body"]}


def send(call: HttpCall) -> dict:
    """Makes the call and returns {status, reason, url, headers, body}; raises StepError."""
    session = GuardedSession()
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        session.abort()

    watchdog = threading.Timer(call.timeout_s, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        result = _follow_redirects(session, call, time.monotonic() + call.timeout_s)
    except DestinationRefused as error:
        raise StepError(str(error)) from None
    except requests.RequestException as error:
        if expired.is_set() or isinstance(error, requests.Timeout):
            raise StepError(_timeout_message(call)) from None
        raise StepError(f"Could not reach {_host(call.url)}: {_reason(error)}") from None
    finally:
        watchdog.cancel()
        session.close()
    if expired.is_set():  # the body may have been cut short without an exception
        raise StepError(_timeout_message(call))
    return result


def _follow_redirects(session: GuardedSession, call: HttpCall, deadline: float) -> dict:
    method, url, query = call.method, call.url, call.query
    headers = {**call.headers, runtime.DEPTH_HEADER: str(runtime.calling_depth())}
    body = _body_arguments(call.body, headers)
    outside_allowlist = False  # whether a hop so far was a host outside the allowlist
    for _ in range(MAX_REDIRECTS + 1):
        _check_scheme(url)
        outside_allowlist = outside_allowlist or not _allowlisted(url)
        remaining = max(deadline - time.monotonic(), 0.001)
        response = session.request(
            method, url, headers=headers, params=query, allow_redirects=False, stream=True,
            timeout=(remaining, remaining), **body,
        )  # fmt: skip
        if not response.is_redirect:
            return _read(response)
        target = urljoin(response.url, session.get_redirect_target(response))
        response.close()
        _check_redirect(response.url, target, outside_allowlist)
        if session.should_strip_auth(response.url, target):  # another host: keep credentials
            headers = _without(headers, *CREDENTIAL_HEADERS, *call.secret_headers)
        if _redirect_turns_into_get(response.status_code, method):
            method, body = "GET", {}
            headers = _without(headers, "content-type", "content-length")
        url, query = target, None  # the Location is the whole next URL
    raise StepError(f"Too many redirects: more than {MAX_REDIRECTS}, last to {url}.")


def _check_redirect(source: str, target: str, outside_allowlist: bool) -> None:
    if urlsplit(source).scheme.lower() == "https" and urlsplit(target).scheme.lower() == "http":
        raise StepError(f"Refused: {source} redirects from https to plain http ({target[:200]}).")
    if outside_allowlist and urlsplit(target).hostname and _allowlisted(target):
        raise StepError(
            f"Refused: {source} redirects to {_host(target)}, an allowed internal host, which "
            f"only a step's own URL may name (WORKFLOW_HTTP_ALLOWED_HOSTS)."
        )


def _allowlisted(url: str) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:  # a port that is not a number: the request itself will fail
        return False
    return bool(parts.hostname) and is_allowed_host(parts.hostname, port)


def _read(response: requests.Response) -> dict:
    """Reads the body in chunks and stops at MAX_RESPONSE_BYTES (decoded bytes, so a small
    compressed answer that inflates past the cap is stopped too)."""
    declared = response.headers.get("Content-Length", "")
    has_body = response.request.method != "HEAD"
    if (
        has_body
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > MAX_RESPONSE_BYTES
    ):
        response.close()
        raise LimitExceeded(_size_message(response.url, f"declares {int(declared):,} bytes"))
    chunks, size = [], 0
    with response:
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise LimitExceeded(_size_message(response.url, "sent more"))
            chunks.append(chunk)
    return {
        "status": response.status_code,
        "reason": response.reason or "",
        "url": response.url,
        "headers": dict(response.headers),
        "body": _decode_body(b"".join(chunks), response),
    }


def _decode_body(content: bytes, response: requests.Response) -> Any:
    """Text in the charset the server named, else UTF-8 (not requests' ISO-8859-1 default
    for text/*); parsed when the Content-Type says JSON."""
    content_type = response.headers.get("Content-Type", "").lower()
    charset = CHARSET.search(content_type)
    try:
        text = content.decode(charset.group(1) if charset else "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        text = content.decode("utf-8", errors="replace")
    if text and ("/json" in content_type or "+json" in content_type):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def _body_arguments(body: Any, headers: dict[str, str]) -> dict:
    """requests keyword arguments for the body: JSON for objects and lists, raw for text,
    form fields for an object when the Content-Type header says form."""
    if body is None or body == "":
        return {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if isinstance(body, dict) and content_type.lower().startswith(FORM_CONTENT_TYPE):
        return {"data": {str(name): _query_value(value) for name, value in body.items()}}
    if isinstance(body, str):
        return {"data": body.encode("utf-8")}
    return {"json": body}


def _without(headers: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower() not in names}


def _redirect_turns_into_get(status: int, method: str) -> bool:
    # What browsers and requests do: 303 always becomes GET, 301/302 turn POST into GET.
    return (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST")


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise StepError(f"Refused: only http and https URLs are allowed, not '{url[:200]}'.")
    if not parts.hostname:
        raise StepError(f"The URL '{url[:200]}' has no host.")


def status_error(call: HttpCall, result: dict) -> str:
    body = result["body"] if isinstance(result["body"], str) else json.dumps(result["body"])
    if len(body) > ERROR_BODY_CHARS:
        body = body[:ERROR_BODY_CHARS] + "…"
    reason = f" {result['reason']}" if result["reason"] else ""
    return f"HTTP {result['status']}{reason} from {call.method} {result['url']}: {body or '(empty body)'}"


def _timeout_message(call: HttpCall) -> str:
    return f"Timed out: {call.method} {call.url} did not finish within {call.timeout_s:g} s."


def _size_message(url: str, what: str) -> str:
    return (
        f"Response too large: {url} {what} than the {MAX_RESPONSE_BYTES // (1024 * 1024)} MB limit."
    )


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _reason(error: BaseException) -> str:
    """The innermost cause ("Connection refused"), without urllib3's pool and class names."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        if isinstance(current, OSError) and isinstance(current.strerror, str):
            return current.strerror
        current = _nested_error(current)
    return str(seen[-1])


def _nested_error(error: BaseException) -> BaseException | None:
    for candidate in (getattr(error, "reason", None), *error.args[:1]):
        if isinstance(candidate, BaseException):
            return candidate
    return error.__cause__ or error.__context__


def _query_value(value: Any) -> Any:
    if isinstance(value, list):
        return [to_text(item) for item in value]
    return to_text(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "")
    return bool(value)


# --- Settings validation ---------------------------------------------------------------------


def extra_problems(settings: dict) -> list[str]:
    """What the declaration cannot say: the URL's scheme and the time limit's range. Values
    with a placeholder are judged once resolved (`HttpCall.from_settings` checks again)."""
    problems = []
    url = settings.get("url")
    if isinstance(url, str) and not url.strip():
        problems.append("url is required.")
    elif isinstance(url, str) and "{{" not in url:
        if urlsplit(url.strip()).scheme.lower() not in ("http", "https"):
            problems.append(
                "url must start with http:// or https:// (only http and https are allowed)."
            )
    timeout = settings.get("timeout_s")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        if not 0 < timeout <= MAX_TIMEOUT_S:
            problems.append(
                f"timeout_s must be a number of seconds above 0 and at most {MAX_TIMEOUT_S}."
            )
    return problems
