"""Fixed-window throttle counters: in memory, and shared through Redis."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core import ratelimit
from app.core.ratelimit import MemoryRateLimitBackend, RedisRateLimitBackend, WindowCount
from tests.conftest import REDIS_URL, unavailable


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Time as the memory backend sees it (only that module's `time` is replaced)."""
    fake = FakeClock()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


async def test_memory_backend_counts_resets_and_expires(clock: FakeClock) -> None:
    backend = MemoryRateLimitBackend()
    assert await backend.peek("k") == WindowCount(0, 0)

    assert await backend.hit("k", 60) == WindowCount(1, 60)
    clock.now += 10
    assert await backend.hit("k", 60) == WindowCount(2, 50)
    # A later hit does not extend the window: it is fixed from the first hit.
    assert await backend.peek("k") == WindowCount(2, 50)
    assert await backend.peek("other") == WindowCount(0, 0)

    await backend.reset("k")
    assert await backend.peek("k") == WindowCount(0, 0)

    await backend.hit("k", 60)
    clock.now += 60
    assert await backend.peek("k") == WindowCount(0, 0)
    assert await backend.hit("k", 60) == WindowCount(1, 60)  # a new window starts


async def test_memory_backend_close_forgets_everything(clock: FakeClock) -> None:
    backend = MemoryRateLimitBackend()
    await backend.hit("k", 60)
    await backend.close()
    assert await backend.peek("k") == WindowCount(0, 0)


@pytest.fixture
async def redis_client() -> AsyncIterator[tuple[Redis, str]]:
    """A client of the test Redis database and a key prefix no other run uses."""
    redis = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        unavailable("Redis", exc)
    prefix = f"facet-test:{uuid.uuid4().hex}:"
    try:
        yield redis, prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_redis_backend_counts_and_resets(redis_client: tuple[Redis, str]) -> None:
    redis, prefix = redis_client
    backend = RedisRateLimitBackend(redis, prefix=prefix)
    assert await backend.peek("k") == WindowCount(0, 0)

    first = await backend.hit("k", 60)
    assert first.count == 1
    assert 0 < first.resets_in <= 60
    second = await backend.hit("k", 3600)
    assert second.count == 2
    assert second.resets_in <= 60  # the window is fixed by the first hit

    seen = await backend.peek("k")
    assert seen.count == 2
    assert 0 < seen.resets_in <= 60
    assert await backend.peek("other") == WindowCount(0, 0)
    assert int(await redis.get(prefix + "k")) == 2  # stored under the prefix

    await backend.reset("k")
    assert await backend.peek("k") == WindowCount(0, 0)
    assert await redis.exists(prefix + "k") == 0


async def test_redis_backend_window_expires(redis_client: tuple[Redis, str]) -> None:
    redis, prefix = redis_client
    backend = RedisRateLimitBackend(redis, prefix=prefix)
    await backend.hit("k", 1)
    await backend.hit("k", 1)
    await asyncio.sleep(1.1)
    assert await backend.peek("k") == WindowCount(0, 0)
    assert await redis.exists(prefix + "k") == 0
    assert (await backend.hit("k", 1)).count == 1


async def test_redis_backends_share_counts_across_instances(
    redis_client: tuple[Redis, str],
) -> None:
    redis, prefix = redis_client
    other = Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        worker_a = RedisRateLimitBackend(redis, prefix=prefix)
        worker_b = RedisRateLimitBackend(other, prefix=prefix)
        await worker_a.hit("k", 60)
        assert (await worker_b.hit("k", 60)).count == 2
        assert (await worker_a.peek("k")).count == 2
        await worker_b.reset("k")
        assert (await worker_a.peek("k")).count == 0
    finally:
        await other.aclose()


async def test_redis_backend_fails_open_when_redis_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on port 1: an outage must not lock every customer out.
    redis = Redis.from_url("redis://127.0.0.1:1/0", socket_timeout=0.5, socket_connect_timeout=0.5)
    backend = RedisRateLimitBackend(redis, prefix="unreachable:")
    try:
        with caplog.at_level(logging.WARNING, logger="facet.ratelimit"):
            assert await backend.hit("k", 60) == WindowCount(0, 0)
            assert await backend.peek("k") == WindowCount(0, 0)
            await backend.reset("k")
    finally:
        await backend.close()
    warnings = [r for r in caplog.records if r.name == "facet.ratelimit"]
    assert [r.operation for r in warnings] == ["hit", "peek", "reset"]  # type: ignore[attr-defined]
