"""Live updates (SPEC section 8; issue 13 "must show" 4), black box: a real daphne web process
and a real worker (`manage.py qcluster`), a signed-in user's run view socket.

Embedded on SQLite (in-memory channel layer; the worker inserts events into `LiveEvent`, the
web process's one relay loop reads them), channels-redis on PostgreSQL + Redis.

- latency from each step run's commit (the `at` the worker stamps when its transaction
  committed) to the message arriving at the socket, over a run of a few hundred step runs
  (goal: p95 < 1 s);
- database queries per second of the web process with 1 and with 50 open run views, idle
  and while a run progresses (goal: the same). Counted inside the web process at Django's
  cursor wrapper (bench/counted_asgi.py), every thread, read over HTTP without a query.

The socket client is the bench process's (bench/ws_client.py), not a browser: the page's own
work after the message arrives is not in these figures.
"""

import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from bench import servers
from bench.harness import BenchContext, Row
from bench.http_load import HOST
from bench.ws_client import WebSocket

ITEMS = 150  # iterations of the run; each commits a code step twice and a record step
BUSY_MS = 10  # what each code step spends, so the run progresses for a few seconds
MANY = 50
IDLE_SECONDS = 3.0
RUN_TIMEOUT = 120
# What daphne serves: crm.asgi with its queries counted (bench.sampled_asgi to profile too).
APP = os.environ.get("LIVE_APP", "bench.counted_asgi:application")
# A code step that takes BUSY_MS, then a record step: three step-run commits per item.
BUSY_SOURCE = (
    "function main(input) {\n"
    f"  const until = Date.now() + {BUSY_MS};\n"
    "  while (Date.now() < until) {}\n"
    "  return {n: input.n};\n"
    "}\n"
)


def say(text: str) -> None:
    print(f"[live {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def run(ctx: BenchContext) -> list[Row]:
    from django.conf import settings

    env = servers.production_env()  # and the session signed here is daphne's
    session, workflow = prepare()
    mode = "channels-redis" if settings.REDIS_URL else "embedded: LiveEvent table + relay"
    logs = Path(tempfile.mkdtemp(prefix="bench_live_"))
    with (
        servers.daphne(APP, env, logs / "daphne.log") as port,
        servers.cluster(env, workers=1, log=logs / "qcluster.log"),
    ):
        say(f"daphne on {port} and a worker started")
        rows = asyncio.run(measure(ctx, port, session, workflow, mode))
    shutil.rmtree(logs, ignore_errors=True)  # kept when something failed
    return rows


def prepare():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from crm.models import Membership, Role, Workspace
    from workflows import services

    workspace = Workspace.objects.create(slug="live", name="Live")
    user = get_user_model().objects.create_user(
        username="viewer@example.com", email="viewer@example.com", password="bench-pw"
    )
    Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    client = Client()
    client.force_login(user)
    body = [
        {"id": "busy", "name": "Busy", "type": "code", "next": ["note"],
         "settings": {"source": BUSY_SOURCE, "input": {"n": "{{steps.each.index}}"}}},
        {"id": "note", "name": "Note", "type": "create_record", "next": [],
         "settings": {"object": "task", "values": {"title": "Item {{steps.each.index}}"}}},
    ]  # fmt: skip
    graph = {
        "trigger": {"type": "manual", "settings": {}, "next": ["each"]},
        "steps": [
            {"id": "each", "name": "Each", "type": "iterator", "next": [],
             "settings": {"items": "{{trigger.items}}", "loop": ["busy"]}},
            *body,
        ],
        "layout": {},
    }  # fmt: skip
    workflow = services.create_workflow(workspace, "Live bench", graph=graph)
    services.publish(workflow)
    workflow.refresh_from_db()
    return client.cookies["sessionid"].value, workflow


def queued_run(workflow) -> str:
    """A run stored `queued` without waking a worker: its view opens first."""
    from workflows import queue

    with mock.patch.object(queue, "kick", lambda: None):
        run = queue.start_run(workflow.active_version, {"items": list(range(ITEMS))}, "manual")
    return str(run.pk)


def wake_worker() -> None:
    from django_q.tasks import async_task

    async_task("workflows.tasks.drain")


async def measure(ctx, port, session, workflow, mode) -> list[Row]:
    from asgiref.sync import sync_to_async

    rows = []
    # Latency: one open run view.
    run_id = await sync_to_async(queued_run)(workflow)
    views = await open_views(port, session, run_id, 1)
    await counter(port)
    handed_ms.clear()
    follow = asyncio.gather(*(view.follow() for view in views))
    await sync_to_async(wake_worker)()
    await asyncio.wait_for(follow, timeout=RUN_TIMEOUT)
    await counter(port)
    latencies = views[0].latencies_ms
    say(f"latency run done: {len(latencies)} step messages")
    rows += latency_rows(ctx, latencies, "1 open run view", f"{mode}; {server_share()}")
    await close_views(views)

    rates = {}
    for count in (1, MANY):
        rates[count] = await query_rates(port, session, workflow, count)
        say(
            f"{count} views: {rates[count]['idle']:.2f} q/s idle, {rates[count]['running']:.2f} running"
        )
    # The counter works: opening a socket reads the session, the user and the membership.
    connects = await queries(port)
    for phase, label in (("idle", "idle"), ("running", "while a run progresses")):
        one, many = rates[1][phase], rates[MANY][phase]
        ratio = f"{many / one:.2f}" if one else ("1.00 (both 0)" if not many else "inf")
        rows.append(
            ctx.row(
                "live",
                f"queries/s of one web process, {label}: 1 vs {MANY} open run views",
                many,
                "queries/s",
                f"{one:.2f}/s with 1 view; ratio {MANY}/1 = {ratio} (goal 1); {mode}; "
                f"counted in the web process at Django's CursorWrapper ({connects} in all, "
                f"mostly the {2 + MANY} socket connects)",
            )
        )
    cpu = rates[MANY]["cpu"]
    fewest, most = rates[MANY]["per_view"]
    rows += latency_rows(
        ctx,
        rates[MANY]["latencies"],
        f"{MANY} open run views",
        f"{mode}; {rates[MANY]['server']}; all {MANY} show the same run, step messages per view "
        f"{fewest}–{most}{'' if fewest == most else ' (some dropped)'}; CPU while it ran: web process "
        f"{cpu['web']:.0%} (with 1 view {rates[1]['cpu']['web']:.0%}), socket client "
        f"{cpu['client']:.0%}",
    )
    return rows


def latency_rows(ctx, latencies: list[float], views: str, notes: str) -> list[Row]:
    ordered = sorted(latencies)
    p50, p95 = percentile(ordered, 0.5), percentile(ordered, 0.95)
    notes = (
        f"max {ordered[-1]:.0f} ms over {len(ordered)} step messages; goal p95 < 1000 ms; "
        f"{notes}; {servers.load_note()}"
    )
    return [
        ctx.row("live", f"commit→socket latency p50, {views}", p50, "ms", notes),
        ctx.row("live", f"commit→socket latency p95, {views}", p95, "ms", notes),
    ]


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def query_rates(port, session, workflow, count: int) -> dict:
    """Queries/s of the web process with `count` run views open: idle, then while the run
    they show progresses (from its first step message to its finish)."""
    from asgiref.sync import sync_to_async

    run_id = await sync_to_async(queued_run)(workflow)
    views = await open_views(port, session, run_id, count)
    await asyncio.sleep(1.0)  # connecting reads the database once per socket
    start, before = time.monotonic(), await queries(port)
    await asyncio.sleep(IDLE_SECONDS)
    idle = (await queries(port) - before) / (time.monotonic() - start)

    first = views[0]
    handed_ms.clear()
    follow = asyncio.gather(*(view.follow() for view in views))
    web_cpu, own_cpu, wall = cpu_seconds(await web_pid(port)), time.process_time(), time.monotonic()
    await sync_to_async(wake_worker)()
    await asyncio.wait_for(first.first_step.wait(), timeout=RUN_TIMEOUT)
    start, before = time.monotonic(), await queries(port)
    await asyncio.wait_for(first.finished.wait(), timeout=RUN_TIMEOUT)
    running = (await queries(port) - before) / (time.monotonic() - start)
    await asyncio.wait_for(follow, timeout=RUN_TIMEOUT)
    wall = time.monotonic() - wall
    cpu = {
        "web": (cpu_seconds(await web_pid(port)) - web_cpu) / wall,
        "client": (time.process_time() - own_cpu) / wall,
    }
    await counter(port)
    latencies = [ms for view in views for ms in view.latencies_ms]
    counts = [len(view.latencies_ms) for view in views]
    server = server_share()
    await close_views(views)
    return {"idle": idle, "running": running, "latencies": latencies, "cpu": cpu,
            "per_view": (min(counts), max(counts)), "server": server}  # fmt: skip


def server_share() -> str:
    """When the web process handed the messages to daphne (every message, steps and runs)."""
    ordered = sorted(handed_ms)
    return (
        f"handed to daphne after p50 {percentile(ordered, 0.5):.0f} ms, "
        f"p95 {percentile(ordered, 0.95):.0f} ms"
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def queries(port: int) -> int:
    return (await counter(port))["queries"]


async def web_pid(port: int) -> int:
    return (await counter(port))["pid"]


# What the web process reported handing to daphne, in ms after `at` (see counted_asgi.py).
handed_ms: list[float] = []


async def counter(port: int) -> dict:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /bench/queries/ HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))  # fmt: skip
    body = await reader.readexactly(length)
    writer.close()
    answer = json.loads(body)
    handed_ms.extend(seconds * 1000 for seconds in answer["handed"])
    return answer


class RunView:
    """One open run view: reads every message until the run finished."""

    def __init__(self, socket: WebSocket):
        self.socket = socket
        self.latencies_ms: list[float] = []
        self.frames = 0
        self.first_step = asyncio.Event()
        self.finished = asyncio.Event()

    async def follow(self) -> None:
        while True:
            frame = await self.socket.receive_json()
            if frame is None:
                raise RuntimeError("the server closed a run view")
            arrived = time.time()
            self.frames += 1
            # One frame is one message or a batch of them (workflows/live/consumers.py).
            for message in frame["events"] if frame["type"] == "batch" else [frame]:
                if message["type"] == "step":
                    self.latencies_ms.append((arrived - message["at"]) * 1000)
                    self.first_step.set()
                elif message["type"] == "run" and message["finished"]:
                    if message["status"] != "completed":
                        raise RuntimeError(f"the run ended {message['status']}")
                    self.finished.set()
                    return


async def open_views(port, session, run_id, count) -> list[RunView]:
    views = []
    for _ in range(count):
        socket = await WebSocket.connect(
            port, f"/ws/live/?run={run_id}", cookie=f"sessionid={session}"
        )
        ready = await asyncio.wait_for(socket.receive_json(), timeout=30)
        if not ready or ready.get("type") != "ready":
            raise RuntimeError(f"the run view socket was not accepted: {ready}")
        views.append(RunView(socket))
    return views


async def close_views(views) -> None:
    await asyncio.gather(*(view.socket.close() for view in views))
