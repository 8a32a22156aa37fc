"""A small HTTP/1.1 load generator for benchmarks: N keep-alive connections to 127.0.0.1, each
sending the same request again as soon as (or, paced, no sooner than) the previous answer
arrived. Bounded in count and time; loopback only. No dependency beyond asyncio.

`load(port, request, connections, seconds, max_requests, rate=None) -> LoadResult`.
"""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

HOST = "127.0.0.1"  # never anywhere else


def build_request(method: str, path: str, body: bytes = b"", headers: dict | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, fraction: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


class _Connection(asyncio.Protocol):
    def __init__(self, shared: "_Shared", interval: float | None, offset: float = 0.0):
        self.shared = shared
        self.interval = interval
        self.buffer = b""
        self.sent_at = 0.0
        self.next_at = time.perf_counter() + offset  # paced connections take turns
        self.transport = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        shared = self.shared
        now = time.perf_counter()
        if shared.sent >= shared.max_requests or now >= shared.deadline:
            self.transport.close()
            return
        if self.interval and now < self.next_at:  # paced: wait for this connection's slot
            asyncio.get_running_loop().call_later(self.next_at - now, self.send)
            return
        shared.sent += 1
        self.sent_at = now
        if self.interval:
            self.next_at = max(self.next_at + self.interval, now)
        self.transport.write(shared.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].split(b"\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head[1:]
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is None:
                raise RuntimeError(f"An answer without Content-Length: {head[0]!r}")
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.shared.result.latencies.append(time.perf_counter() - self.sent_at)
            self.shared.result.statuses[int(head[0].split()[1])] += 1
            self.send()

    def connection_lost(self, exc) -> None:
        if exc is not None:
            self.shared.result.errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


@dataclass
class _Shared:
    request: bytes
    deadline: float
    max_requests: int
    sent: int = 0
    result: LoadResult = field(default_factory=LoadResult)


async def _load(port, request, connections, seconds, max_requests, rate) -> LoadResult:
    loop = asyncio.get_running_loop()
    shared = _Shared(request, time.perf_counter() + seconds, max_requests)
    interval = connections / rate if rate else None
    start = time.perf_counter()
    opened = []
    for number in range(connections):
        offset = interval * number / connections if interval else 0.0
        _, protocol = await loop.create_connection(
            lambda offset=offset: _Connection(shared, interval, offset), HOST, port
        )
        opened.append(protocol)
    await asyncio.gather(*(protocol.closed for protocol in opened))
    shared.result.elapsed = time.perf_counter() - start
    return shared.result


def load(
    port: int,
    request: bytes,
    connections: int = 16,
    seconds: float = 5.0,
    max_requests: int = 20_000,
    rate: float | None = None,
) -> LoadResult:
    """Closed loop (as fast as answers come) unless `rate` paces all connections together."""
    return asyncio.run(_load(port, request, connections, seconds, max_requests, rate))
