"""The webhook rate limit is shared by every web process (SPEC section 6): counted in Redis
when REDIS_URL is set, in the database otherwise. Two limiter objects stand for two processes:
each must see the calls the other counted."""

import os

import pytest

from workflows.triggers.webhook_rate import (
    DatabaseRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)

REDIS_URL = os.environ.get("REDIS_URL", "")


def database_limiters():
    return DatabaseRateLimiter(), DatabaseRateLimiter()


def redis_limiters():
    first, second = RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)
    first.reset()
    return first, second


BACKENDS = [
    pytest.param(database_limiters, id="database"),
    pytest.param(
        redis_limiters,
        id="redis",
        marks=pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set"),
    ),
]


@pytest.fixture(params=BACKENDS)
def two_processes(request, db, settings):
    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 2
    first, second = request.param()
    yield first, second
    first.reset()


def test_two_processes_share_one_count(two_processes):
    first, second = two_processes
    assert first.retry_after(7, now=600.0) is None
    assert second.retry_after(7, now=601.0) is None
    assert first.retry_after(7, now=602.0) == 58
    assert second.retry_after(7, now=603.0) == 57


def test_each_workspace_is_counted_apart(two_processes):
    first, second = two_processes
    for _ in range(2):
        assert first.retry_after(7, now=600.0) is None
    assert second.retry_after(8, now=600.0) is None
    assert second.retry_after(7, now=600.0) is not None


def test_a_new_minute_starts_a_new_count(two_processes):
    first, second = two_processes
    for _ in range(2):
        first.retry_after(7, now=600.0)
    assert second.retry_after(7, now=659.5) == 1
    assert second.retry_after(7, now=660.0) is None


def test_the_limiter_counts_in_redis_when_it_is_configured_else_in_the_database(settings):
    settings.REDIS_URL = ""
    assert isinstance(RateLimiter().backend, DatabaseRateLimiter)
    settings.REDIS_URL = "redis://127.0.0.1:6379/2"
    assert isinstance(RateLimiter().backend, RedisRateLimiter)


def test_the_database_keeps_only_the_current_minute(db, settings):
    from workflows.models import WebhookRateWindow

    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 5
    limiter = DatabaseRateLimiter()
    limiter.retry_after(7, now=600.0)
    limiter.retry_after(7, now=660.0)
    assert list(WebhookRateWindow.objects.values_list("window", "count")) == [(11, 1)]


def test_a_busy_process_writes_the_count_once_per_share_of_the_minute(db, settings):
    from workflows.models import WebhookRateWindow

    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 1000  # a share is 10 calls
    limiter = DatabaseRateLimiter()
    for _ in range(25):
        assert limiter.retry_after(7, now=600.0) is None
    # Three shares reserved in three UPDATEs, not 25 counted one by one.
    assert WebhookRateWindow.objects.get(workspace_id=7).count == 30


def test_shares_held_by_two_processes_never_let_more_than_the_limit_through(db, settings):
    settings.WORKFLOW_WEBHOOK_RATE_LIMIT = 1000
    first, second = DatabaseRateLimiter(), DatabaseRateLimiter()
    accepted = sum(first.retry_after(7, now=600.0) is None for _ in range(5))
    accepted += sum(second.retry_after(7, now=601.0) is None for _ in range(1100))
    accepted += sum(first.retry_after(7, now=602.0) is None for _ in range(100))
    # At most the limit; at most one unspent share short of it per process.
    assert 1000 - 2 * 10 <= accepted <= 1000
    assert second.retry_after(7, now=603.0) == 57
