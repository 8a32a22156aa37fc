"""Webhook intake at `/webhooks/<token>/` (SPEC section 6): two transports sharing
triggers/webhook.py (the checks, the payload) and workflows/queue.py (storing the runs).

- `WebhookIntake`, a small ASGI app that crm/asgi.py puts in front of Django for paths under
  /webhooks/. It skips Django's middleware and request cycle (no session, CSRF, auth: a
  webhook needs none), finds the workflow in the in-process trigger index, checks the call on
  the event loop, and hands the run to `GroupCommitWriter`: one thread that stores the runs of
  all calls arriving within a couple of milliseconds with one insert in one transaction, then
  answers each call. So a 202 always means the run is stored, and SQLite sees one commit per
  batch instead of one per call (daphne: see bench/bench_triggers.py).
- `webhook`, a plain Django view at the same address, for the test client and for servers
  that do not load crm.asgi (runserver, WSGI). It stores one run per call.
"""

import asyncio
import json
import logging
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.core.exceptions import RequestDataTooBig
from django.db import close_old_connections, transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import WorkflowRun
from .queue import start_runs
from .triggers import senders
from .triggers.index import trigger_index
from .triggers.webhook import (
    MAX_BODY_BYTES,
    Rejected,
    WebhookCall,
    accept,
    new_run_depth,
    store_webhook_run,
    too_large,
)

logger = logging.getLogger(__name__)

PREFIX = "/webhooks/"
# How long the writer waits for more calls to join a batch, and the largest batch.
GROUP_COMMIT_SECONDS = 0.002
GROUP_COMMIT_MAX = 500


def token_from_path(path: str) -> str | None:
    """`/webhooks/<token>/` (trailing slash optional) → token."""
    token = path[len(PREFIX) :].rstrip("/") if path.startswith(PREFIX) else ""
    return token if token and "/" not in token else None


# --- the Django view --------------------------------------------------------------------------


@csrf_exempt
def webhook(request, token: str):
    target = trigger_index.webhook_target(token)
    try:
        call = _call_from_request(request, target)
        payload = accept(target, call)
    except Rejected as rejected:
        return _rejection_response(rejected)
    try:
        stored = store_webhook_run(target, call, payload)
    except Rejected as rejected:
        return _rejection_response(rejected)
    return JsonResponse({"run_id": stored.run_id}, status=200 if stored.repeated else 202)


def _call_from_request(request, target) -> WebhookCall:
    headers = {name.lower(): value for name, value in request.headers.items()}
    call = WebhookCall(
        method=request.method, headers=headers, query_string=request.META.get("QUERY_STRING", "")
    )
    if target is None or request.method != target.method:
        return call  # accept() answers 404 or 405 without the body
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        raise too_large()
    try:
        call.body = request.body
    except RequestDataTooBig:  # a body without Content-Length, over Django's own limit
        raise too_large() from None
    return call


def _rejection_response(rejected: Rejected) -> JsonResponse:
    response = JsonResponse({"detail": rejected.message}, status=rejected.status)
    for name, value in rejected.headers.items():
        response[name] = value
    return response


# --- the lean ASGI app ------------------------------------------------------------------------


class WebhookIntake:
    """ASGI app for `/webhooks/<token>/` under daphne (see the module docstring)."""

    def __init__(self):
        self.writer = GroupCommitWriter()
        # Index refreshes read the database: one thread, off the event loop.
        self.database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-index")
        self.deliveries = ThreadPoolExecutor(max_workers=2, thread_name_prefix="webhook-ids")

    async def __call__(self, scope, receive, send) -> None:
        token = token_from_path(scope["path"])
        target = await self._target(token) if token else None
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope["headers"]
        }
        call = WebhookCall(
            method=scope["method"],
            headers=headers,
            query_string=scope.get("query_string", b"").decode("latin-1"),
        )
        try:
            if target is not None and call.method == target.method:
                call.body = await self._read_body(receive, headers)
            # accept() counts the call against the shared rate limit (a database or Redis
            # round trip): off the event loop.
            loop = asyncio.get_running_loop()
            payload = await loop.run_in_executor(self.database, accept, target, call)
        except Rejected as rejected:
            await _send_json(send, rejected.status, {"detail": rejected.message}, rejected.headers)
            return
        if senders.delivery_id(target.auth, call.headers, call.body) is not None:
            # Deliveries with an id are stored one by one (a unique row per id), off the loop.
            await self._store_delivery(send, target, call, payload)
            return
        try:
            run_id = await self.writer.submit(target.version, payload, new_run_depth(call))
        except Exception:  # noqa: BLE001 - logged by the writer; the caller may retry
            await _send_json(send, 503, {"detail": "The run could not be stored; retry."})
            return
        await _send_json(send, 202, {"run_id": run_id})

    async def _store_delivery(self, send, target, call, payload) -> None:
        loop = asyncio.get_running_loop()
        try:
            stored = await loop.run_in_executor(
                self.deliveries, _store_delivery_run, target, call, payload
            )
        except Rejected as rejected:
            await _send_json(send, rejected.status, {"detail": rejected.message})
            return
        except Exception:  # noqa: BLE001 - the sender retries with the same id
            logger.exception("Storing a webhook delivery failed")
            await _send_json(send, 503, {"detail": "The run could not be stored; retry."})
            return
        await _send_json(send, 200 if stored.repeated else 202, {"run_id": stored.run_id})

    async def _target(self, token: str):
        data, stale = trigger_index.peek()
        if stale:
            loop = asyncio.get_running_loop()
            data = await loop.run_in_executor(self.database, _current_index)
        return data.webhooks.get(token)

    @staticmethod
    async def _read_body(receive, headers: dict) -> bytes:
        if int(headers.get("content-length") or 0) > MAX_BODY_BYTES:
            raise too_large()
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise Rejected(400, "The client went away.")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def _store_delivery_run(target, call, payload):
    close_old_connections()
    return store_webhook_run(target, call, payload)


def _current_index():
    close_old_connections()
    return trigger_index.current()


async def _send_json(send, status: int, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    raw_headers += [
        (name.lower().encode(), value.encode()) for name, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


def route_webhooks(django_app, intake: WebhookIntake | None = None):
    """An ASGI app sending HTTP requests under /webhooks/ to the intake, the rest to Django."""
    intake = intake or WebhookIntake()

    async def app(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await intake(scope, receive, send)
        else:
            await django_app(scope, receive, send)

    app.intake = intake
    return app


# --- group commit -----------------------------------------------------------------------------


class GroupCommitWriter:
    """One thread that stores webhook runs in batches and resolves each caller's future once
    its run is committed (with its id) or could not be stored (with the error)."""

    def __init__(self):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, version, payload: dict, depth: int = 1) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._ensure_started()
        self._queue.put((version, payload, loop, future, depth))
        return future

    def _ensure_started(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, daemon=True, name="webhook-writer"
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._collect()
            try:
                close_old_connections()
                results = self.store(batch)
            except Exception as error:  # noqa: BLE001 - never leave a caller waiting
                logger.exception("The webhook writer failed")
                results = [error] * len(batch)
            by_loop = defaultdict(list)
            for (_, _, loop, future, _), result in zip(batch, results, strict=True):
                by_loop[loop].append((future, result))
            for loop, resolved in by_loop.items():
                loop.call_soon_threadsafe(_resolve, resolved)

    def _collect(self) -> list:
        batch = [self._queue.get()]
        deadline = time.monotonic() + GROUP_COMMIT_SECONDS
        while len(batch) < GROUP_COMMIT_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    @staticmethod
    def store(batch: list) -> list:
        """Run ids (or exceptions) in the order of `batch`: all in one transaction, or, if that
        fails (a workflow deleted meanwhile), each workflow's calls in their own."""
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for position, (version, _, _, _, depth) in enumerate(batch):
            groups[version.pk, depth].append(position)
        results: list = [None] * len(batch)
        try:
            with transaction.atomic():
                for positions in groups.values():
                    _store_group(batch, positions, results)
            return results
        except Exception:  # noqa: BLE001 - retried group by group below
            logger.exception("Storing a batch of %s webhook runs failed", len(batch))
        for positions in groups.values():
            try:
                with transaction.atomic():
                    _store_group(batch, positions, results)
            except Exception as error:  # noqa: BLE001 - answered 503 to these callers
                for position in positions:
                    results[position] = error
        return results


def _store_group(batch: list, positions: list[int], results: list) -> None:
    version, depth = batch[positions[0]][0], batch[positions[0]][4]
    runs = start_runs(
        version, [batch[p][1] for p in positions], WorkflowRun.Source.TRIGGER, depth=depth
    )
    for position, run in zip(positions, runs, strict=True):
        results[position] = str(run.pk)


def _resolve(resolved: list) -> None:
    for future, result in resolved:
        if future.done():  # the caller went away
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
