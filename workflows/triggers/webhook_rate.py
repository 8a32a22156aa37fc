"""The webhook rate limit (SPEC section 6): at most `WORKFLOW_WEBHOOK_RATE_LIMIT` accepted calls
per workspace per clock minute, counted where every web process sees the same number: Redis
when `REDIS_URL` is set, the database otherwise. A fixed window: one atomic increment a call."""

import math
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
    """One row per workspace and minute; the conditional UPDATE is the atomic check-and-count."""

    def retry_after(self, workspace_id: int, now: float | None = None) -> int | None:
        """Counts one call; None if it is allowed, else the seconds until the next window."""
        window, wait = _window_and_wait(now)
        limit = settings.WORKFLOW_WEBHOOK_RATE_LIMIT
        if limit <= 0:
            return wait
        rows = WebhookRateWindow.objects.filter(workspace_id=workspace_id, window=window)
        with transaction.atomic():
            if rows.filter(count__lt=limit).update(count=F("count") + 1):
                return None
            if rows.exists():
                return wait
            try:
                with transaction.atomic():  # a savepoint: another process may insert it first
                    WebhookRateWindow.objects.create(
                        workspace_id=workspace_id, window=window, count=1
                    )
            except IntegrityError:
                return None if rows.filter(count__lt=limit).update(count=F("count") + 1) else wait
            # The first call of a minute clears the workspace's older minutes.
            WebhookRateWindow.objects.filter(workspace_id=workspace_id, window__lt=window).delete()
        return None

    def reset(self) -> None:
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

    def retry_after(self, workspace_id: int, now: float | None = None) -> int | None:
        return self.backend.retry_after(workspace_id, now)

    def reset(self) -> None:
        self.backend.reset()

    @property
    def backend(self):
        url = settings.REDIS_URL
        if not url:
            return DatabaseRateLimiter()
        if self._redis is None or self._redis.url != url:
            self._redis = RedisRateLimiter(url)
        return self._redis


rate_limiter = RateLimiter()
