"""Scale and speed (issue 14), black box on SQLite, as a user would see it: what `make web`
and `make worker` run (`daphne crm.asgi:application`, `manage.py qcluster` with its default 2
workers, DEBUG off) on a fresh database, a published workflow webhook → if/else → code →
create record → update record, and `wrk` posting JSON to its webhook URL with 8 connections.

- intake: requests/s and p50/p99 of the webhook, as a ratio to a bare Django view storing one
  row served by the same daphne the same way (goal: at least 0.8 of its rate, p99 at most
  1.25 times its p99);
- end to end: runs finished per second, from the first request until the last run finished
  (goal: at least 100/s).

The bare view is measured first, with the workers idle; the webhook then, with the workers
executing the runs it queues on the same machine (a real deployment). daphne serves
bench/blackbox_settings.py: crm.settings with the baseline view mounted (bench/daphne_app.py).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

from bench import servers
from bench.harness import BenchContext, Row
from bench.http_load import HOST, build_request, load

WRK = shutil.which("wrk") or "/usr/bin/wrk"
CONNECTIONS = 8
SECONDS = 20
DRAIN_TIMEOUT = 240
BODY = '{"name": "Lead", "amount": 42, "source": "wrk"}'
# BLACKBOX_WORKERS=0 starts no cluster: the intake alone (runs are stored, not executed).
WORKERS = int(os.environ.get("BLACKBOX_WORKERS", "2"))
# What daphne serves: the product's entry point (bench.sampled_asgi:application to profile).
APP = os.environ.get("BLACKBOX_APP", "crm.asgi:application")
# The webhook's rate limit is per workspace (6,000 calls a minute by default, i.e. 100/s):
# lifted here, or most of the load would be answered 429.
RATE_LIMIT = "1000000000"
LUA = """
wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, ' ..
    '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def say(text: str) -> None:
    print(f"[blackbox {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(ctx: BenchContext) -> list[Row]:
    if ctx.backend != "sqlite":
        return []  # issue 14's figures are the embedded default's
    from crm.models import Workspace

    workspace = Workspace.objects.create(slug="blackbox", name="Black box")
    workflow = lead_workflow(workspace)
    env = servers.production_env(
        DJANGO_SETTINGS_MODULE="bench.blackbox_settings", WORKFLOW_WEBHOOK_RATE_LIMIT=RATE_LIMIT
    )
    scratch = Path(tempfile.mkdtemp(prefix="bench_blackbox_"))
    script = scratch / "post.lua"
    script.write_text(LUA % json.dumps(BODY))
    hook = f"/webhooks/{workflow.webhook_token}/"
    bare = f"/bench/store/{workspace.pk}/"
    measured = {}
    with (
        servers.daphne(APP, env, scratch / "daphne.log") as port,
        servers.cluster(env, WORKERS, scratch / "qcluster.log") if WORKERS else nullcontext(),
    ):
        say(f"daphne on {port} and qcluster ({WORKERS} workers) started")
        warm_up(port, [hook, bare], workflow)
        measured["bare_idle"] = wrk(port, bare, script)
        measured["started"] = time.time()
        measured["intake"] = wrk(port, hook, script)
        if WORKERS:
            measured["backlog"] = unfinished(workflow, measured["started"])
            say(f"{measured['backlog']} runs queued when the calls stopped")
            # The same bare view while the workers drain that backlog: the same conditions
            # as the intake's.
            measured["bare_busy"] = wrk(port, bare, script)
            measured["finished"] = wait_for_runs(workflow, measured["started"])
    shutil.rmtree(scratch, ignore_errors=True)
    return rows(ctx, measured)


def lead_workflow(workspace):
    from workflows import services

    def step(step_id, step_type, settings, next_=()):
        return {"id": step_id, "name": step_id.title(), "type": step_type,
                "settings": settings, "next": list(next_)}  # fmt: skip

    big = {"all": [{"left": "{{trigger.body.amount}}", "op": "gte", "right": 10}]}
    score = "function main(input) {\n  return {score: input.amount * 2};\n}\n"
    graph = {
        "trigger": {"type": "webhook", "settings": {"method": "POST"}, "next": ["check"]},
        "steps": [
            step("check", "if_else", {"branches": [{"name": "big", "when": big,
                                                    "next": ["score"]}], "else_next": []}),
            step("score", "code", {"source": score,
                                   "input": {"amount": "{{trigger.body.amount}}"}}, ["create"]),
            step("create", "create_record", {"object": "person", "values": {
                "first_name": "{{trigger.body.name}}", "last_name": "Hook"}}, ["update"]),
            step("update", "update_record", {"object": "person", "id": "{{steps.create.record.id}}",
                                             "values": {"job_title": "Score {{steps.score.score}}"}}),
        ],
        "layout": {},
    }  # fmt: skip
    workflow = services.create_workflow(workspace, "Webhook lead", graph=graph)
    services.publish(workflow)
    workflow.refresh_from_db()
    return workflow


def warm_up(port: int, paths: list[str], workflow) -> None:
    """A few calls of each (imports, the code step's helper, connections), and their runs."""
    since = time.time()
    headers = {"Content-Type": "application/json"}
    for path in paths:
        load(port, build_request("POST", path, BODY.encode(), headers), 2, 5, max_requests=40)
    if WORKERS:
        wait_for_runs(workflow, since)


def wrk(port: int, path: str, script: Path) -> dict:
    say(f"wrk {path}")
    command = [WRK, "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "-s", str(script),
               f"http://{HOST}:{port}{path}"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRK-JSON "))
    result = json.loads(line[len("WRK-JSON ") :])
    result["rate"] = result["requests"] / (result["duration_us"] / 1e6)
    result["load"] = servers.load_note()
    return result


def runs_since(workflow, since: float):
    from datetime import UTC, datetime

    return workflow.runs.filter(created_at__gte=datetime.fromtimestamp(since, UTC))


def unfinished(workflow, since: float) -> int:
    from workflows.models import WorkflowRun

    return runs_since(workflow, since).exclude(status__in=WorkflowRun.FINISHED).count()


def wait_for_runs(workflow, since: float) -> dict:
    """Waits until every run stored since `since` (a time.time()) finished; their count,
    failures and the time the last one finished."""
    from django.db.models import Max

    deadline = time.monotonic() + DRAIN_TIMEOUT
    new = runs_since(workflow, since)
    while left := unfinished(workflow, since):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} runs still unfinished after {DRAIN_TIMEOUT} s")
        time.sleep(0.2)
    return {
        "count": new.count(),
        "failed": new.exclude(status="completed").count(),
        "last": new.aggregate(last=Max("finished_at"))["last"],
    }


def rows(ctx, measured: dict) -> list[Row]:
    def latency(result):
        return (
            f"p50 {result['p50_us'] / 1000:.1f} ms, p99 {result['p99_us'] / 1000:.1f} ms; "
            f"{result['load']}"
        )

    def errors(result):
        bad = {name: n for name, n in result["errors"].items() if n}
        return f"; errors {bad}" if bad else ""

    def ratios(name, bare, when):
        return [
            ctx.row("blackbox", f"webhook intake / bare view, requests/s ({when})",
                    intake["rate"] / bare["rate"], "ratio", "goal >= 0.8"),
            ctx.row("blackbox", f"webhook intake / bare view, p99 ({when})",
                    intake["p99_us"] / bare["p99_us"], "ratio", "goal <= 1.25"),
        ]  # fmt: skip

    wrk_notes = f"wrk, {CONNECTIONS} connections, {SECONDS} s"
    intake = measured["intake"]
    table = [
        ctx.row(
            "blackbox",
            "webhook intake (daphne crm.asgi)",
            intake["rate"],
            "req/s",
            f"{latency(intake)}; {wrk_notes}; {WORKERS} workers running its runs{errors(intake)}",
        ),
        ctx.row(
            "blackbox",
            "bare Django view storing one row, workers idle",
            measured["bare_idle"]["rate"],
            "req/s",
            f"{latency(measured['bare_idle'])}; {wrk_notes}{errors(measured['bare_idle'])}",
        ),
    ]
    if not WORKERS:
        return table + ratios("idle", measured["bare_idle"], "no workers")
    busy = measured["bare_busy"]
    table.append(
        ctx.row(
            "blackbox",
            "bare Django view storing one row, workers busy",
            busy["rate"],
            "req/s",
            f"{latency(busy)}; {wrk_notes}; right after the webhook's calls, while the "
            f"{WORKERS} workers drain their runs{errors(busy)}",
        )
    )
    table += ratios("busy", busy, "workers busy in both")
    table += ratios("idle", measured["bare_idle"], "bare view with idle workers")
    finished, started = measured["finished"], measured["started"]
    span = finished["last"].timestamp() - started if finished["last"] else float("nan")
    accepted = intake["requests"] - intake["errors"]["status"]
    table.append(
        ctx.row(
            "blackbox",
            "runs finished per second, end to end",
            finished["count"] / span,
            "runs/s",
            f"{finished['count']:,} runs ({accepted:,} calls answered 2xx, {finished['failed']} "
            f"not completed) in {span:.1f} s from the first call to the last run's finish, "
            f"{measured['backlog']:,} still queued when the calls stopped; webhook → if/else → "
            f"code → create → update; goal >= 100; {servers.load_note()}",
        )
    )
    return table
