"""The embedded default's delivery: one loop per web process reads new `LiveEvent` rows and
hands them to this process's in-memory channel layer (docs/live.md).

One query every `POLL_SECONDS` whatever the number of open sockets; it starts with the first
socket of the process and stops a while after the last one closed.
"""

import asyncio
import logging
from collections import deque

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import connection

from .events import batch_message
from .models import LiveEvent

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
IDLE_SECONDS = 30
BATCH_ROWS = 1000
# PostgreSQL hands out ids before commit, so a row may appear below the highest id already
# read: every read looks this far back, skipping rows already delivered. SQLite commits in
# id order and needs no look-back.
LOOKBACK_ROWS = 200


class Relay:
    def __init__(self):
        self.cursor: int | None = None
        self.sockets = 0
        self.task: asyncio.Task | None = None
        self.seen: deque[int] = deque(maxlen=4 * BATCH_ROWS)
        self.polls = 0

    def attach(self) -> None:
        self.sockets += 1
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            self.cursor = None
            self.task = loop.create_task(self.run())

    def detach(self) -> None:
        self.sockets -= 1

    async def run(self) -> None:
        idle = 0.0
        if self.cursor is None:
            self.cursor = await database_sync_to_async(latest_id)()
        loop = asyncio.get_running_loop()
        while idle < IDLE_SECONDS:
            started = loop.time()
            try:
                await self.deliver(await database_sync_to_async(self.read)())
            except Exception:  # noqa: BLE001 - a bad read must not end live updates
                logger.exception("Live relay could not read events")
            # A fixed period, not a fixed pause: a busy process must not read (and deliver)
            # less often than every POLL_SECONDS.
            await asyncio.sleep(max(0.0, POLL_SECONDS - (loop.time() - started)))
            idle = idle + POLL_SECONDS if self.sockets <= 0 else 0.0
        self.cursor = None  # a later socket starts from the events of its own time

    def read(self) -> list[tuple[str, dict]]:
        self.polls += 1
        lookback = LOOKBACK_ROWS if connection.vendor == "postgresql" else 0
        rows = list(
            LiveEvent.objects.filter(id__gt=self.cursor - lookback)
            .order_by("id")
            .values_list("id", "group", "event")[:BATCH_ROWS]
        )
        seen = set(self.seen)
        fresh = [(pk, group, event) for pk, group, event in rows if pk not in seen]
        for pk, _, _ in fresh:
            self.seen.append(pk)
        if rows:
            self.cursor = max(self.cursor, rows[-1][0])
        return [(group, event) for _, group, event in fresh]

    async def deliver(self, items) -> None:
        if not items:
            return
        layer = get_channel_layer()
        by_group: dict[str, list[dict]] = {}
        for group, event in items:
            by_group.setdefault(group, []).append(event)
        for group, events in by_group.items():
            await layer.group_send(group, batch_message(Shared(events)))


class Shared(tuple):
    """The events of one read, handed to every socket of this process as they are: the
    in-memory layer deep-copies a message once per channel (50 sockets, 50 copies), and the
    consumers only read them."""

    def __deepcopy__(self, memo):
        return self


def latest_id() -> int:
    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


relay = Relay()
