"""What the outside-reaching steps cost on top of the work itself (SPEC sections 4 and 6).

- code: ms per call of the `code` step through its handler (StepContext, templates resolved,
  JSON over a pipe to the helper process, a fresh V8 context per call) against bare
  mini-racer in this process: a warm context calling main(), and a fresh context per call;
- http: ms per call of the `http_request` step through its handler (new guarded session,
  resolve-and-check, watchdog, streamed read) against a bare `requests.get`, both to a
  loopback server on 127.0.0.1 (allowed, so the address check is skipped; it is an
  ipaddress parse per address).

Through-the-engine numbers belong in bench_engine once steps run through it.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.harness import BenchContext, Row, measure_rate, timed

SOURCE = """function main(input) {
  return {total: input.items.reduce((sum, item) => sum + item.amount, 0), who: input.name};
}"""
INPUT_TEMPLATES = {"items": "{{trigger.items}}", "name": "{{trigger.name}}"}
TRIGGER = {"items": [{"amount": n} for n in range(20)], "name": "Ada"}


def run(ctx: BenchContext) -> list[Row]:
    return code_rows(ctx) + http_rows(ctx)


def per_call_ms(ctx: BenchContext, operation) -> float:
    return 1000 / measure_rate(lambda _: operation(), ctx.seconds, warmup=5).per_second


# --- code ----------------------------------------------------------------------------------------


def code_rows(ctx: BenchContext) -> list[Row]:
    from py_mini_racer import MiniRacer

    from workflows.steps import get_handler
    from workflows.steps.code.sandbox import stop_helpers

    handler = get_handler("code")
    step = {"id": "code", "type": "code", "settings": {"source": SOURCE, "input": INPUT_TEMPLATES}}
    expected = {"total": 190, "who": "Ada"}

    def through_handler():
        assert handler.execute(step_context(step)) == expected

    stop_helpers()  # measure a cold start: no helper process yet
    _, cold_seconds = timed(through_handler)
    handler_ms = per_call_ms(ctx, through_handler)

    warm = MiniRacer()
    warm.eval(SOURCE)
    argument = json.dumps(TRIGGER)
    warm_ms = per_call_ms(ctx, lambda: warm.execute(f"main({argument})"))
    warm.close()

    def fresh_context():
        with MiniRacer() as racer:
            racer.eval(SOURCE)
            return racer.execute(f"main({argument})")

    fresh_ms = per_call_ms(ctx, fresh_context)
    return [
        ctx.row("steps", "bare MiniRacer, warm context, main()", warm_ms, "ms/call",
                "one isolate reused: the floor"),
        ctx.row("steps", "bare MiniRacer, fresh context per call", fresh_ms, "ms/call",
                f"ratio to warm = {fresh_ms / warm_ms:.1f}"),
        ctx.row("steps", "code step via handler.execute", handler_ms, "ms/call",
                f"ratio to warm = {handler_ms / warm_ms:.1f}, to fresh = {handler_ms / fresh_ms:.2f}; "
                "helper process + fresh context"),
        ctx.row("steps", "code step, first call (starts the helper)", cold_seconds * 1000, "ms",
                "once per worker process, and after a limit kills a helper"),
    ]  # fmt: skip


# --- http ----------------------------------------------------------------------------------------


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = json.dumps({"ok": True, "items": list(range(50))}).encode()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format, *args):
        pass


def http_rows(ctx: BenchContext) -> list[Row]:
    import requests
    from django.conf import settings

    from workflows.steps import get_handler

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    server.daemon_threads = True
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/answer"
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    handler = get_handler("http_request")
    step = {"id": "call", "type": "http_request", "settings": {"url": "{{trigger.url}}"}}

    def through_handler():
        assert handler.execute(step_context(step, trigger={"url": url}))["status"] == 200

    def bare():
        assert requests.get(url, timeout=30).json()["ok"]

    try:
        bare_ms = per_call_ms(ctx, bare)
        handler_ms = per_call_ms(ctx, through_handler)
    finally:
        server.shutdown()
        server.server_close()
    return [
        ctx.row("steps", "bare requests.get to 127.0.0.1", bare_ms, "ms/call",
                "new connection per call"),
        ctx.row("steps", "http_request step via handler.execute", handler_ms, "ms/call",
                f"ratio to bare = {handler_ms / bare_ms:.2f}; new connection per call"),
    ]  # fmt: skip


def step_context(step: dict, trigger: dict | None = None):
    from workflows.steps.base import StepContext

    data = {"trigger": trigger or TRIGGER, "steps": {}, "run": {}, "workspace": {},
            "secrets": {}, "now": ""}  # fmt: skip
    return StepContext(run=None, workspace=None, step=step, data=data)
