"""Triggers (SPEC section 4 and 6): what listening costs the writes nobody listens to, and how
many webhook calls a daphne process takes in.

- record writes: Person create + update (ORM save) with 50 active workflows that do not match
  (other objects, or person updates of other fields), as a ratio to no workflow at all (goal:
  at most 1.05), and the queries per write in both cases (goal: the same);
- webhook intake through a real daphne process on loopback (bench/daphne_app.py), by a Python
  load generator with keep-alive connections (bench/http_load.py): the lean ASGI intake as fast
  as it answers and paced at 500 calls/s (goal: >= 500/s with p99 < 50 ms, every 202 a stored
  run), the Django webhook view for comparison, and a bare Django JSON view as the baseline;
- a CSV import of 10,000 people with a record_created workflow listening, against none: every
  row starts its run, and the import stays fast.
"""

import os
import socket
import subprocess
import sys
import time

from bench.harness import ROOT, BenchContext, Row, measure_rate, timed
from bench.http_load import HOST, build_request, load

NON_MATCHING = 50
ROUNDS = 8
LOAD_CONNECTIONS = 16
TARGET_RATE = 500
IMPORT_ROWS = 10_000
PASS = {
    "id": "pass",
    "name": "Pass",
    "type": "filter",
    "next": [],
    "settings": {"when": {"all": []}},
}


def run(ctx: BenchContext) -> list[Row]:
    from crm.models import Workspace

    rows = record_write_rows(ctx, Workspace.objects.create(slug="writes", name="Writes"))
    rows += webhook_rows(ctx, Workspace.objects.create(slug="hooks", name="Hooks"))
    rows += import_rows(ctx)
    return rows


def publish(workspace, trigger: dict, name: str):
    from workflows import services

    graph = {"trigger": {**trigger, "next": ["pass"]}, "steps": [PASS], "layout": {}}
    workflow = services.create_workflow(workspace, name, graph=graph)
    services.publish(workflow)
    return workflow


# --- record writes ----------------------------------------------------------------------------


def non_matching_workflows(workspace) -> list:
    """30 on other objects, 20 on person updates of fields the benchmark never changes."""
    events = ["record_created", "record_updated", "record_created_or_updated", "record_deleted"]
    workflows = []
    for i in range(30):
        obj = ["company", "opportunity", "task", "note"][i % 4]
        trigger = {"type": events[i // 4 % 4], "settings": {"object": obj}}
        workflows.append(publish(workspace, trigger, f"Other object {i}"))
    for i in range(NON_MATCHING - 30):
        field = ["email", "phone", "city", "last_name"][i % 4]
        trigger = {"type": "record_updated", "settings": {"object": "person", "fields": [field]}}
        workflows.append(publish(workspace, trigger, f"Other field {i}"))
    return workflows


def set_active(workflows, active: bool) -> None:
    from workflows import services

    for workflow in workflows:
        (services.activate if active else services.deactivate)(workflow)


def record_write_rows(ctx: BenchContext, workspace) -> list[Row]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm.models import Person

    def write(index: int) -> None:
        person = Person.objects.create(workspace=workspace, first_name=f"W{index}")
        person.job_title = "Engineer"
        person.save()

    def queries_per_write() -> float:
        with CaptureQueriesContext(connection) as queries:
            for index in range(100):
                write(index)
        return len(queries.captured_queries) / 100

    workflows = non_matching_workflows(workspace)
    rates: dict[bool, list[float]] = {False: [], True: []}
    queries = {active: 0.0 for active in (False, True)}
    # Short rounds in ABBA order, compared pair by pair: the machine's load and the database
    # growing during the benchmark weigh on both sides alike.
    for round_ in range(ROUNDS):
        for active in (False, True) if round_ % 2 == 0 else (True, False):
            set_active(workflows, active)
            rates[active].append(measure_rate(write, ctx.seconds / 2).per_second)
            queries[active] = queries_per_write()
    ratio = median([a / b for a, b in zip(rates[False], rates[True], strict=True)])
    without, with_ = median(rates[False]), median(rates[True])
    return [
        ctx.row(
            "triggers",
            "Person create+update, no workflow",
            without,
            "writes/s",
            f"ORM save, autocommit; median of {ROUNDS} rounds",
        ),
        ctx.row(
            "triggers",
            f"Person create+update, {NON_MATCHING} non-matching workflows",
            with_,
            "writes/s",
            f"cost ratio = {ratio:.3f} (median of pairs; goal <= 1.05)",
        ),
        ctx.row(
            "triggers",
            "queries per create+update, 50 workflows / none",
            queries[True],
            "queries",
            f"{queries[False]:.2f} without (goal: equal)",
        ),
    ]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


# --- webhook intake through daphne ------------------------------------------------------------


def webhook_rows(ctx: BenchContext, workspace) -> list[Row]:
    from workflows.models import WorkflowRun

    lean = publish(workspace, {"type": "webhook", "settings": {"method": "POST"}}, "Lean")
    plain = publish(workspace, {"type": "webhook", "settings": {"method": "POST"}}, "Plain")
    body = b'{"email": "lead@example.com", "name": "Lead", "source": "bench"}'
    json_type = {"Content-Type": "application/json"}
    requests = {
        "lean": build_request("POST", f"/webhooks/{lean.webhook_token}/", body, json_type),
        "django": build_request(
            "POST", f"/bench/django-webhook/{plain.webhook_token}/", body, json_type
        ),
        "ping": build_request("GET", "/bench/ping/"),
    }
    seconds = max(3.0, ctx.seconds * 2)
    with daphne() as port:
        for request in requests.values():  # warm-up: imports, index, connections
            load(port, request, connections=4, seconds=2, max_requests=200)
        before = {
            workflow: WorkflowRun.objects.filter(workflow=workflow).count()
            for workflow in (lean, plain)
        }
        results = {
            "lean": load(port, requests["lean"], LOAD_CONNECTIONS, seconds),
            "lean_paced": load(port, requests["lean"], LOAD_CONNECTIONS, seconds, rate=TARGET_RATE),
            "lean_paced_2x": load(
                port, requests["lean"], LOAD_CONNECTIONS, seconds, rate=2 * TARGET_RATE
            ),
            "django": load(port, requests["django"], LOAD_CONNECTIONS, seconds),
            "ping": load(port, requests["ping"], LOAD_CONNECTIONS, seconds),
        }
    accepted = {
        lean: sum(results[key].statuses[202] for key in ("lean", "lean_paced", "lean_paced_2x")),
        plain: results["django"].statuses[202],
    }
    stored = {
        workflow: WorkflowRun.objects.filter(workflow=workflow).count() - before[workflow]
        for workflow in accepted
    }
    ping = results["ping"].per_second
    rows = []
    for key, label in [
        ("lean", "lean ASGI intake, closed loop"),
        ("lean_paced", f"lean ASGI intake, paced at {TARGET_RATE}/s"),
        ("lean_paced_2x", f"lean ASGI intake, paced at {2 * TARGET_RATE}/s"),
        ("django", "Django webhook view (1 run per request)"),
        ("ping", "bare Django JSON view (baseline)"),
    ]:
        result = results[key]
        other = {status: n for status, n in result.statuses.items() if status not in (200, 202)}
        notes = (
            f"p50 {result.percentile_ms(0.5):.1f} ms, p99 {result.percentile_ms(0.99):.1f}"
            f" ms; {LOAD_CONNECTIONS} conns; x{result.per_second / ping:.2f} of ping"
        )
        if other or result.errors:
            notes += f"; other answers {other}, errors {result.errors}"
        rows.append(ctx.row("triggers", f"webhooks: {label}", result.per_second, "req/s", notes))
    rows.append(
        ctx.row(
            "triggers",
            "webhooks: runs stored / 202 answers",
            stored[lean],
            "runs",
            f"lean {stored[lean]}/{accepted[lean]}, Django view {stored[plain]}/{accepted[plain]} "
            f"(goal: equal)",
        )
    )
    return rows


class daphne:
    """A daphne process serving bench/daphne_app.py on a loopback socket bound here (so no
    port can be taken by someone else in between), stopped on exit."""

    def __enter__(self) -> int:
        self.socket = socket.socket()
        self.socket.bind((HOST, 0))
        self.socket.listen(1024)
        port = self.socket.getsockname()[1]
        env = {**os.environ, "WORKFLOW_WEBHOOK_RATE_LIMIT": "1000000000"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-v",
                "0",
                "--fd",
                str(self.socket.fileno()),
                "bench.daphne_app:application",
            ],
            cwd=ROOT,
            env=env,
            pass_fds=[self.socket.fileno()],
            stdout=subprocess.DEVNULL,
        )
        self._wait_until_ready(port)
        return port

    def _wait_until_ready(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited with {self.process.returncode}")
            try:
                result = load(
                    port,
                    build_request("GET", "/bench/ping/"),
                    connections=1,
                    seconds=2,
                    max_requests=1,
                )
                if result.statuses[200]:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("daphne did not answer within 60 s")

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.socket.close()


# --- CSV import -------------------------------------------------------------------------------


def import_rows(ctx: BenchContext) -> list[Row]:
    from crm.csv_io import import_csv
    from crm.models import Workspace
    from crm.objects import OBJECTS
    from workflows.models import WorkflowRun

    lines = ["first_name,last_name,email,city"]
    lines += [f"Csv,{i},csv{i}@example.com,Lyon" for i in range(IMPORT_ROWS)]
    text = "\n".join(lines) + "\n"
    quiet = Workspace.objects.create(slug="import-quiet", name="Quiet")
    listened = Workspace.objects.create(slug="import-listened", name="Listened")
    workflow = publish(
        listened, {"type": "record_created", "settings": {"object": "person"}}, "On new person"
    )
    _, without = timed(lambda: import_csv(OBJECTS["person"], quiet, text))
    result, with_ = timed(lambda: import_csv(OBJECTS["person"], listened, text))
    runs = WorkflowRun.objects.filter(workflow=workflow).count()
    return [
        ctx.row(
            "triggers",
            f"CSV import of {IMPORT_ROWS:,} people, no workflow",
            IMPORT_ROWS / without,
            "rows/s",
            f"{without:.2f} s",
        ),
        ctx.row(
            "triggers",
            f"CSV import of {IMPORT_ROWS:,} people, record_created listening",
            IMPORT_ROWS / with_,
            "rows/s",
            f"{with_:.2f} s (x{with_ / without:.2f}); runs stored {runs:,} of "
            f"{result.created:,} rows",
        ),
    ]
