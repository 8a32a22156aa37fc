"""What daphne serves in bench/bench_live.py: the real `crm.asgi.application`, with every
database query of the process counted (any thread: the relay loop, the consumers'
`database_sync_to_async` calls, views) and the count answered at GET /bench/queries/ before
Django sees the request, so reading it costs no query. The same answer carries, for every
websocket message with an `at` handed to daphne since the last read, how long after `at` it
was handed over (the server's share of the latency).

Counted at Django's cursor wrapper (`CursorWrapper.execute` / `executemany`), i.e. every
statement the ORM or raw SQL sends through Django, on SQLite and PostgreSQL alike.
"""

import json
import os
import re
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from django.db.backends import utils  # noqa: E402

_lock = threading.Lock()
_count = 0


def _counted(method):
    def wrapper(self, *args, **kwargs):
        global _count
        with _lock:
            _count += 1
        return method(self, *args, **kwargs)

    return wrapper


utils.CursorWrapper.execute = _counted(utils.CursorWrapper.execute)
utils.CursorWrapper.executemany = _counted(utils.CursorWrapper.executemany)

from crm.asgi import application as crm_application  # noqa: E402

QUERIES_PATH = "/bench/queries/"


# When this process handed each websocket message carrying `at` to daphne, as "seconds after
# `at`": the server's share of the latency the client measures.
handed: list[float] = []
AT = re.compile(r'"at": ([0-9.]+)')


def _stamping(send):
    async def stamped(message):
        text = message.get("text") if message.get("type") == "websocket.send" else None
        # A batch frame carries several messages, each with its own `at`.
        now = time.time()
        handed.extend(now - float(found.group(1)) for found in AT.finditer(text or ""))
        await send(message)

    return stamped


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        await crm_application(scope, receive, _stamping(send))
        return
    if scope["type"] == "http" and scope["path"] == QUERIES_PATH:
        body = json.dumps({"queries": _count, "pid": os.getpid(), "handed": handed}).encode()
        handed.clear()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    await crm_application(scope, receive, send)
