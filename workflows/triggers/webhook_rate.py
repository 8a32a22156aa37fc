"""The webhook rate limit (SPEC section 6): at most `WORKFLOW_WEBHOOK_RATE_LIMIT` accepted calls
per workspace per clock minute, counted where every web process sees the same number: Redis
when `REDIS_URL` is set, the database otherwise. A fixed window: one atomic increment a call
in Redis; in the database, one per share of the minute (see `DatabaseRateLimiter`)."""

import math
import threading
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from ..models import WebhookRateWindow

WINDOW_SECONDS = 60


def _window_and_wait(now: float | None) -> tuple[int, int]:
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    return window, max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


class DatabaseRateLimiter:
    """One row per workspace and minute; the conditional UPDATE is the atomic check-and-count.

    On SQLite that UPDATE waits for the database's one write lock behind the workers, once per
    call (bench_blackbox: 0.57x the bare view with it, 1.1x without). So a process reserves a
    share of the minute (1% of the limit) in one UPDATE and spends it in memory; near the limit
    it reserves call by call again, so the count never passes the limit. What a process
    reserved and did not spend is lost at the minute's end: with N web processes a workspace
    may be refused up to N shares early. Below 100 calls a minute the share is one call.
    """

    SHARE = 0.01

    def __init__(self):
        self._lock = threading.Lock()
        self._spare: dict[int, tuple[int, int, int]] = {}  # workspace: (window, limit, calls left)

    def retry_after(self, workspace_id: int, now: float | None = None) -> int | None:
        """Counts one call; None if it is allowed, else the seconds until the next window."""
        window, wait = _window_and_wait(now)
        limit = settings.WORKFLOW_WEBHOOK_RATE_LIMIT
        if limit <= 0:
            return wait
        if self._spend_spare(workspace_id, window, limit):
            return None
        share = max(1, int(limit * self.SHARE))
        if share > 1 and self._reserve(workspace_id, window, limit, share):
            with self._lock:
                self._spare[workspace_id] = (window, limit, share - 1)
            return None
        return None if self._reserve(workspace_id, window, limit, 1) else wait

    def _spend_spare(self, workspace_id: int, window: int, limit: int) -> bool:
        with self._lock:
            held = self._spare.get(workspace_id)
            if held is None or held[:2] != (window, limit) or held[2] <= 0:
                return False
            self._spare[workspace_id] = (window, limit, held[2] - 1)
            return True

    def _reserve(self, workspace_id: int, window: int, limit: int, calls: int) -> bool:
        """Adds `calls` to the minute's count if it stays within the limit."""
        rows = WebhookRateWindow.objects.filter(workspace_id=workspace_id, window=window)
        fits = rows.filter(count__lte=limit - calls)
        with transaction.atomic():
            if fits.update(count=F("count") + calls):
                return True
            if rows.exists():
                return False
            try:
                with transaction.atomic():  # a savepoint: another process may insert it first
                    WebhookRateWindow.objects.create(
                        workspace_id=workspace_id, window=window, count=calls
                    )
            except IntegrityError:
                return bool(fits.update(count=F("count") + calls))
            # The first call of a minute clears the workspace's older minutes.
            WebhookRateWindow.objects.filter(workspace_id=workspace_id, window__lt=window).delete()
        return True

    def reset(self) -> None:
        with self._lock:
            self._spare.clear()
        WebhookRateWindow.objects.all().delete()


class RedisRateLimiter:
    """INCR of a key per workspace and minute, which expires after the minute is over."""

    PREFIX = "crm:webhook-rate:"

    def __init__(self, url: str):
        self.url = url
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import redis

            self._client = redis.Redis.from_url(self.url)
        return self._client

    def retry_after(self, workspace_id: int, now: float | None = None) -> int | None:
        window, wait = _window_and_wait(now)
        key = f"{self.PREFIX}{workspace_id}:{window}"
        pipeline = self.client.pipeline()
        pipeline.incr(key)
        pipeline.expire(key, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        return None if count <= settings.WORKFLOW_WEBHOOK_RATE_LIMIT else wait

    def reset(self) -> None:
        keys = list(self.client.scan_iter(f"{self.PREFIX}*"))
        if keys:
            self.client.delete(*keys)


class RateLimiter:
    """The limiter the settings choose, resolved on first use (tests change the settings)."""

    _redis: RedisRateLimiter | None = None
    _database: DatabaseRateLimiter | None = None

    def retry_after(self, workspace_id: int, now: float | None = None) -> int | None:
        return self.backend.retry_after(workspace_id, now)

    def reset(self) -> None:
        self.backend.reset()

    @property
    def backend(self):
        url = settings.REDIS_URL
        if not url:
            if self._database is None:  # one per process: it holds the reserved share
                self._database = DatabaseRateLimiter()
            return self._database
        if self._redis is None or self._redis.url != url:
            self._redis = RedisRateLimiter(url)
        return self._redis


rate_limiter = RateLimiter()
