"""The live sockets (SPEC section 8, "live"; docs/live.md), through the real ASGI application:
auth from the session, the origin check, isolation by workspace and by assignee, delivery
from another (worker) process within 1 s in the embedded default and with Redis, and one
database reader per web process whatever the number of sockets."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows.live import relay as relay_module

from .helpers import graph, published, step

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LIVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/8")


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(session: str | None, path="/ws/live/", origin=b"http://testserver"):
    from crm.asgi import application

    headers = [(b"origin", origin)]
    if session:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    if connected:
        assert (await communicator.receive_json_from(timeout=5))["type"] == "ready"
    return communicator, connected, code


def worker_env() -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "crm.settings", "WORKFLOW_RUN_INLINE": "1"}
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = db["NAME"]
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env


async def in_worker_process(*args, redis: bool = False) -> float:
    """Runs tests/workflows/live_worker.py in its own process; returns when it finished."""
    env = worker_env()
    if redis:
        env["REDIS_URL"] = REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "tests/workflows/live_worker.py"), *map(str, args),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return time.time()


async def receive_messages(communicator, timeout: float) -> list[dict]:
    """The messages of the next frame: one, or a batch of them."""
    frame = await communicator.receive_json_from(timeout=timeout)
    received_at = time.time()
    messages = frame["events"] if frame["type"] == "batch" else [frame]
    return [{**message, "received_at": received_at} for message in messages]


async def receive_type(communicator, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} event within {timeout} s"
        for message in await receive_messages(communicator, timeout=remaining):
            if message["type"] == kind:
                return message


FORM_FOR = "member@example.com"


@sync_to_async
def team():
    """A workspace with an owner and a member, a form workflow assigned to the member, and a
    stranger in another workspace with the same kind of workflow."""
    workspace = make_workspace("live")
    owner = make_user("owner@example.com", workspace, Role.OWNER)
    member = make_user(FORM_FOR, workspace, Role.MEMBER)
    other = make_user("other@example.com", workspace, Role.MEMBER)
    stranger_space = make_workspace("elsewhere")
    stranger = make_user("stranger@example.com", stranger_space, Role.OWNER)
    fields = [{"name": "budget", "label": "Budget", "type": "number"}]
    ask = step("ask", "form", {"title": "Budget?", "fields": fields, "assignee": FORM_FOR})
    workflow = published(workspace, graph(ask))
    return {
        "workspace": workspace,
        "workflow": workflow,
        "sessions": {
            name: session_of(user)
            for name, user in [
                ("owner", owner),
                ("member", member),
                ("other", other),
                ("stranger", stranger),
            ]
        },  # fmt: skip
        "users": {"owner": owner, "member": member, "stranger": stranger},
    }


# --- auth and origin -------------------------------------------------------------------------


async def test_an_anonymous_socket_is_closed():
    communicator, connected, code = await open_socket(None)
    assert not connected and code == 4401


async def test_a_socket_from_another_origin_is_refused():
    data = await team()
    _, connected, _ = await open_socket(
        data["sessions"]["owner"], origin=b"http://evil.example.com"
    )
    assert not connected


async def test_a_socket_for_another_workspaces_run_is_closed():
    data = await team()
    run_id = (await in_worker_process("run", data["workflow"].pk)) and await sync_to_async(
        lambda: str(data["workflow"].runs.get().pk)
    )()
    _, connected, code = await open_socket(
        data["sessions"]["stranger"], path=f"/ws/live/?run={run_id}"
    )
    assert not connected and code == 4404
    member, connected, _ = await open_socket(
        data["sessions"]["member"], path=f"/ws/live/?run={run_id}"
    )
    assert connected
    await member.disconnect()


# --- delivery from a worker process, and isolation ---------------------------------------


async def form_reaches_only_its_assignee(redis: bool):
    data = await team()
    sockets = {}
    for name in ("member", "owner", "other", "stranger"):
        sockets[name], connected, _ = await open_socket(data["sessions"][name])
        assert connected
    receiving = asyncio.create_task(receive_type(sockets["member"], "form.created", timeout=60))
    await in_worker_process("run", data["workflow"].pk, redis=redis)
    created = await receiving
    assert created["title"] == "Budget?"
    # `at` is stamped in the worker when its transaction committed.
    assert created["received_at"] - created["at"] < 1.0
    for name in ("owner", "other", "stranger"):
        assert await sockets[name].receive_nothing(timeout=0.5), name
    for communicator in sockets.values():
        await communicator.disconnect()


async def test_a_form_a_worker_creates_reaches_its_assignee_only_embedded(embedded_layer):
    await form_reaches_only_its_assignee(redis=False)


async def notification_reaches_only_its_user(redis: bool):
    data = await team()
    member, _, _ = await open_socket(data["sessions"]["member"])
    owner, _, _ = await open_socket(data["sessions"]["owner"])
    stranger, _, _ = await open_socket(data["sessions"]["stranger"])
    receiving = asyncio.create_task(receive_type(member, "notification", timeout=60))
    await in_worker_process(
        "notify", data["workspace"].pk, data["users"]["member"].pk, "Hello", redis=redis
    )
    message = await receiving
    assert (message["title"], message["unread"]) == ("Hello", 1)
    assert message["created_at"] and message["received_at"] - message["at"] < 1.0
    assert await owner.receive_nothing(timeout=0.5)
    assert await stranger.receive_nothing(timeout=0.1)
    for communicator in (member, owner, stranger):
        await communicator.disconnect()


async def test_a_notification_from_a_worker_reaches_its_user_only_embedded(embedded_layer):
    await notification_reaches_only_its_user(redis=False)


@pytest.fixture
def embedded_layer(settings):
    """The embedded default on the web side too, whatever REDIS_URL this test run has: the
    relay reads the events table only when the channel layer is the in-memory one."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture
def redis_layer(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    from crm.settings import redis_channel_layer

    # What crm/settings.py configures for REDIS_URL (the worker process reads it from there).
    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}


async def test_a_form_a_worker_creates_reaches_its_assignee_only_with_redis(redis_layer):
    await form_reaches_only_its_assignee(redis=True)


async def test_a_notification_from_a_worker_reaches_its_user_only_with_redis(redis_layer):
    await notification_reaches_only_its_user(redis=True)


async def test_an_idle_socket_with_redis_outlives_the_layers_blocking_receive(redis_layer):
    """channels-redis waits 5 s per blocking receive: a client read timeout no longer than
    that killed the consumer of every socket that heard nothing for a few seconds."""
    data = await team()
    member, connected, _ = await open_socket(data["sessions"]["member"])
    assert connected
    await asyncio.sleep(12)  # a few of the layer's 5 s receives, in silence
    receiving = asyncio.create_task(receive_type(member, "notification", timeout=60))
    await in_worker_process(
        "notify", data["workspace"].pk, data["users"]["member"].pk, "Still here", redis=True
    )
    assert (await receiving)["title"] == "Still here"
    await member.disconnect()


# --- a run view streams an in-progress run ------------------------------------------------

SLOW_STEP_MS = 300
SLOW_STEPS = ("first", "second", "third")


@sync_to_async
def queued_slow_run(monkeypatch):
    """A run of three code steps that each take SLOW_STEP_MS, stored `queued` and left for a
    worker process (the in-process engine is not kicked)."""
    from workflows import queue

    workspace = make_workspace("stream")
    owner = make_user("streamer@example.com", workspace, Role.OWNER)
    source = (
        "function main(input) {\n"
        f"  const until = Date.now() + {SLOW_STEP_MS};\n"
        "  while (Date.now() < until) {}\n"
        "  return {step: input.name};\n"
        "}\n"
    )
    steps = [
        step(name, "code", {"source": source, "input": {"name": name}},
             next=[SLOW_STEPS[i + 1]] if i + 1 < len(SLOW_STEPS) else [])
        for i, name in enumerate(SLOW_STEPS)
    ]  # fmt: skip
    workflow = published(workspace, graph(*steps))
    with monkeypatch.context() as patched:
        patched.setattr(queue, "kick", lambda: None)
        run = queue.start_run(workflow.active_version, {}, "manual")
    return session_of(owner), str(run.pk)


async def streams_an_in_progress_run(monkeypatch, redis: bool):
    session, run_id = await queued_slow_run(monkeypatch)
    communicator, connected, _ = await open_socket(session, path=f"/ws/live/?run={run_id}")
    assert connected
    worker = asyncio.create_task(in_worker_process("drain", redis=redis))
    received = []
    while not any(m["type"] == "run" and m["finished"] for m in received):
        received += await receive_messages(communicator, timeout=60)
    worker_done = await worker
    await communicator.disconnect()
    assert received[-1]["status"] == "completed", received[-1]
    step_events = [m for m in received if m["type"] == "step"]
    assert all(m["run"] == run_id for m in received)
    # Every step's change, in the order the run made them, all before the completion event.
    assert [(m["step_id"], m["status"]) for m in step_events] == [
        (name, status) for name in SLOW_STEPS for status in ("running", "succeeded")
    ]
    # Streamed while the run was in progress, not read in one go once it was over: the first
    # step's completion reached the socket well before the last step's, and before the worker
    # process had finished.
    first_done = step_events[1]["received_at"]
    last_done = step_events[-1]["received_at"]
    assert last_done - first_done >= (len(SLOW_STEPS) - 1) * SLOW_STEP_MS / 1000 * 0.8
    assert first_done < worker_done - SLOW_STEP_MS / 1000


async def test_a_run_view_receives_the_steps_of_a_running_worker_in_order_embedded(
    monkeypatch, embedded_layer
):
    await streams_an_in_progress_run(monkeypatch, redis=False)


async def test_a_run_view_receives_the_steps_of_a_running_worker_in_order_with_redis(
    monkeypatch, redis_layer
):
    await streams_an_in_progress_run(monkeypatch, redis=True)


# --- one reader per web process ------------------------------------------------------------


@pytest.fixture
def queries(monkeypatch):
    """Counts every database query of this process, from any thread."""
    from django.db.backends import utils

    counted = {"n": 0}
    original = utils.CursorWrapper.execute

    def execute(self, *args, **kwargs):
        counted["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(utils.CursorWrapper, "execute", execute)
    return counted


async def queries_per_second_with(sockets: int, session: str, queries) -> int:
    opened = []
    for _ in range(sockets):
        communicator, connected, _ = await open_socket(session)
        assert connected
        opened.append(communicator)
    await asyncio.sleep(0.5)  # connecting reads the database once per socket
    before = queries["n"]
    await asyncio.sleep(1.0)
    counted = queries["n"] - before
    for communicator in opened:
        await communicator.disconnect()
    return counted


async def test_the_embedded_relay_reads_once_per_period_whatever_the_number_of_sockets(
    queries, embedded_layer
):
    data = await team()
    session = data["sessions"]["owner"]
    one = await queries_per_second_with(1, session, queries)
    fifty = await queries_per_second_with(50, session, queries)
    per_second = 1 / relay_module.POLL_SECONDS
    assert 1 <= one <= per_second + 1, one
    assert abs(fifty - one) <= 1, (one, fifty)


def test_a_step_event_is_a_step_event_whatever_the_steps_type(workspace):
    from workflows.live import events

    from .factories import make_run

    run = make_run(workspace)
    _, event = events.step_event(
        run, {"step_id": "ask", "scope": "", "type": "form", "status": "waiting"}
    )
    assert (event["type"], event["step_type"]) == ("step", "form")


# --- a batch is one frame, and one group message per web process ---------------------------

BATCH = 6


@sync_to_async
def run_with_session():
    from .factories import make_run

    workspace = make_workspace("batch")
    owner = make_user("batch@example.com", workspace, Role.OWNER)
    return session_of(owner), make_run(workspace)


def step_events_of(run, count: int) -> list:
    """`count` step runs of one commit window, as the engine publishes them."""
    from workflows.live import events

    return [
        events.step_event(
            run,
            {
                "step_id": f"step{i}",
                "scope": "",
                "name": f"Step {i}",
                "type": "code",
                "status": "succeeded",
                "input": {},
                "output": {"n": i},
                "sealed_output": "",
                "error": "",
                "missing": [],
                "attempts": 1,
                "started_at": None,
                "finished_at": None,
                "iteration": None,
            },
        )  # fmt: skip
        for i in range(count)
    ]


async def frames_until(communicator, count: int) -> list[list[dict]]:
    """The frames that carried the next `count` step messages."""
    frames, steps = [], 0
    while steps < count:
        messages = await receive_messages(communicator, timeout=10)
        frames.append(messages)
        steps += sum(m["type"] == "step" for m in messages)
    return frames


async def test_a_batch_of_step_events_reaches_a_socket_as_one_frame_embedded(embedded_layer):
    """Through the table and the relay: one frame for what one commit window published."""
    from workflows.live import events

    session, run = await run_with_session()
    communicator, connected, _ = await open_socket(session, path=f"/ws/live/?run={run.pk}")
    assert connected
    await sync_to_async(events.publish_many)(step_events_of(run, BATCH))
    await sync_to_async(events.publisher().flush)()
    frames = await frames_until(communicator, BATCH)
    assert len(frames) == 1, [len(f) for f in frames]
    assert [m["step_id"] for m in frames[0]] == [f"step{i}" for i in range(BATCH)]
    assert all(m["html"] for m in frames[0])
    await communicator.disconnect()


async def test_fifty_sockets_of_one_run_share_one_subscription_and_get_one_frame_per_batch(
    redis_layer,
):
    """With Redis the web process subscribes to a run's group once however many of its
    sockets show the run, so one published batch is one message to the process; each socket
    then gets the batch as one frame."""
    import redis
    from channels.layers import get_channel_layer

    from workflows.live import events

    session, run = await run_with_session()
    sockets = []
    for _ in range(50):
        communicator, connected, _ = await open_socket(session, path=f"/ws/live/?run={run.pk}")
        assert connected
        sockets.append(communicator)
    group = events.run_group(run.workspace_id, run.pk)
    channel = get_channel_layer()._get_group_channel_name(group)
    client = redis.Redis.from_url(REDIS_URL)
    assert client.pubsub_numsub(channel) == [(channel.encode(), 1)]
    await sync_to_async(events.publish_many)(step_events_of(run, BATCH))
    await sync_to_async(events.publisher().flush)()
    for communicator in sockets:
        frames = await frames_until(communicator, BATCH)
        assert len(frames) == 1, [len(f) for f in frames]
    for communicator in sockets:
        await communicator.disconnect()


def test_a_step_event_never_carries_the_sealed_output(workspace):
    from workflows.live import events

    from .factories import make_run

    run = make_run(workspace)
    _, event = events.step_event(
        run, {"step_id": "call", "scope": "", "output": {"token": "***"}, "sealed_output": "gAAA"}
    )
    assert event["output"] == {"token": "***"} and "sealed_output" not in event
