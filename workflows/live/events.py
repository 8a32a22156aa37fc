"""Events: what changed, published where it committed (a worker, a web request), delivered to
the sockets of the people it concerns (docs/live.md).

`publish(group, event)` is cheap for the caller: after the transaction commits, the event is
appended to this process's `Publisher`, whose background thread sends what gathered in the
last few milliseconds in one go (events about the same step keep only the latest). Transport:

- with `REDIS_URL`: one channel-layer message per group and batch, a Redis `PUBLISH`; each
  web process subscribed to the group (once, whatever its number of sockets) fans it out;
- embedded (in-memory layer, workers are other processes): one insert of the batch into
  `LiveEvent`; each web process reads that table in one background loop (`relay.py`) and
  hands the events to its own in-memory layer. The cost is per web process, not per socket.

Groups are scoped by workspace; who may receive what within it is decided by the consumer.
"""

import asyncio
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

BATCH_SECONDS = 0.02
# A busy publisher sends at most this often: each batch is a message to every web process
# and a frame to every socket, so a fast run costs each process ~10 frames/s per socket
# (issue 13), while a lone change still leaves after BATCH_SECONDS.
SEND_INTERVAL_SECONDS = 0.1
KEEP_SECONDS = 120
MESSAGE_TYPE = "live.batch"  # handled by LiveConsumer.live_batch


def run_group(workspace_id, run_id) -> str:
    return f"live.{workspace_id}.run.{run_id}"


def record_group(workspace_id, record_id) -> str:
    return f"live.{workspace_id}.record.{record_id}"


def forms_group(workspace_id) -> str:
    return f"live.{workspace_id}.forms"


def user_group(workspace_id, user_id) -> str:
    return f"live.{workspace_id}.user.{user_id}"


def uses_table() -> bool:
    """The embedded default: an in-memory layer cannot reach other processes."""
    backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
    return backend.endswith("InMemoryChannelLayer")


# --- what the engine, forms and notifications publish ------------------------------------


def publish(group: str, event: dict) -> None:
    publish_many([(group, event)])


def publish_many(items: Iterable[tuple[str, dict]]) -> None:
    """Queues events to send once the current transaction commits (now, outside one)."""
    items = list(items)
    if not items:
        return
    for _, event in items:
        event.setdefault("id", uuid.uuid4().hex)
    transaction.on_commit(lambda: publisher().add(stamped(items)), robust=True)


def stamped(items: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """`at` is when the change committed: what the live latency is measured from."""
    stamp = time.time()
    for _, event in items:
        event.setdefault("at", stamp)
    return items


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def step_event(run, values: dict) -> tuple[str, dict]:
    """A step run was stored or changed: its row as the run view shows it (masked already)."""
    # `sealed_output` (the encrypted real output a resume reads) never leaves the server.
    fields = {
        k: iso(v) if isinstance(v, datetime) else v
        for k, v in values.items()
        if k != "sealed_output"
    }
    # The step's own `type` (form, filter...) travels as `step_type`: `type` is the event's.
    fields["step_type"] = fields.pop("type", "")
    return run_group(run.workspace_id, run.pk), {
        **fields,
        "type": "step",
        "run": str(run.pk),
        "key": f"step:{run.pk}:{values['step_id']}:{values['scope']}",
    }


def run_events(run, **changes) -> list[tuple[str, dict]]:
    """A run's status changed: to its run view, and to the pages of the records it is about."""
    event = {
        "type": "run",
        "run": str(run.pk),
        "key": f"run:{run.pk}",
        "status": changes.get("status", run.status),
        "waiting_for": changes.get("waiting_for", getattr(run, "waiting_for", "")),
        "error": changes.get("error", run.error or ""),
    }
    items = [(run_group(run.workspace_id, run.pk), event)]
    for record_id in record_ids(run.trigger_payload):
        items.append((record_group(run.workspace_id, record_id), event))
    return items


def runs_started(runs) -> list[tuple[str, dict]]:
    """New runs about records appear on those records' pages."""
    return [
        item
        for run in runs
        for item in run_events(run)[1:]  # the run's own view is not open yet
    ]


def runs_claimed(workspace_ids_by_run: dict) -> None:
    """Queued runs went `running` (one claim of a worker)."""
    publish_many(
        (
            run_group(workspace_id, run_id),
            {"type": "run", "run": str(run_id), "key": f"run:{run_id}", "status": "running"},
        )
        for run_id, workspace_id in workspace_ids_by_run.items()
    )


def record_ids(payload) -> list[str]:
    """The records a trigger payload is about (`record`, or `records` of a bulk run)."""
    if not isinstance(payload, dict):
        return []
    records = [payload.get("record")] + list(payload.get("records") or [])[:50]
    return [str(r["id"]) for r in records if isinstance(r, dict) and r.get("id")]


# --- sending ------------------------------------------------------------------------------


class Publisher:
    """One per process: a thread that sends queued events in batches."""

    def __init__(self):
        self.lock = threading.Condition()
        self.pending: dict[str, tuple[str, dict]] = {}
        self.thread = threading.Thread(target=self.loop, name="live-publisher", daemon=True)
        self.loop_ = None
        self.last_cleanup = 0.0
        self.last_send = 0.0
        self.sent = 0
        self.thread.start()

    def add(self, items) -> None:
        with self.lock:
            for group, event in items:
                # The latest state of a step or run replaces an older one still waiting here.
                key = f"{group}|{event.get('key') or event['id']}"
                self.pending.pop(key, None)
                self.pending[key] = (group, event)
            self.lock.notify()

    def flush(self, timeout: float = 5.0) -> None:
        """Waits until everything queued so far was sent (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending and not self.busy:
                    return
            time.sleep(0.005)

    busy = False

    def loop(self) -> None:
        while True:
            with self.lock:
                while not self.pending:
                    self.lock.wait()
            time.sleep(BATCH_SECONDS)  # let the events of the next few milliseconds join
            time.sleep(max(0.0, self.last_send + SEND_INTERVAL_SECONDS - time.monotonic()))
            with self.lock:
                batch, self.pending = list(self.pending.values()), {}
                self.busy = True
            try:
                self.send(batch)
                self.sent += len(batch)
            except Exception:  # noqa: BLE001 - live updates are best effort; never kill the thread
                logger.exception("Could not send %d live events", len(batch))
            finally:
                self.busy = False
                self.last_send = time.monotonic()

    def send(self, batch: list[tuple[str, dict]]) -> None:
        if uses_table():
            self.insert(batch)
        else:
            if self.loop_ is None:
                self.loop_ = asyncio.new_event_loop()
            self.loop_.run_until_complete(send_to_layer(batch))

    def insert(self, batch) -> None:
        from .models import LiveEvent

        close_old_connections()
        try:
            LiveEvent.objects.bulk_create(
                [LiveEvent(group=group, event=event) for group, event in batch]
            )
            now = time.monotonic()
            if now - self.last_cleanup > KEEP_SECONDS / 2:
                self.last_cleanup = now
                cutoff = timezone.now() - timedelta(seconds=KEEP_SECONDS)
                LiveEvent.objects.filter(created_at__lt=cutoff).delete()
        finally:
            connection.close()


async def send_to_layer(batch) -> None:
    """One message per group: the consumer unpacks the batch."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    by_group: dict[str, list[dict]] = {}
    for group, event in batch:
        by_group.setdefault(group, []).append(event)
    for group, events in by_group.items():
        await layer.group_send(group, batch_message(events))


def batch_message(events: list[dict]) -> dict:
    """One group message for a batch; `batch` lets each web process encode its frame once."""
    return {"type": MESSAGE_TYPE, "batch": uuid.uuid4().hex, "events": events}


_publisher: Publisher | None = None
_publisher_pid: int | None = None
_publisher_lock = threading.Lock()


def publisher() -> Publisher:
    """This process's publisher (a forked worker process starts its own)."""
    global _publisher, _publisher_pid
    with _publisher_lock:
        if _publisher is None or _publisher_pid != os.getpid():
            _publisher, _publisher_pid = Publisher(), os.getpid()
        return _publisher
