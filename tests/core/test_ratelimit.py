"""Fixed-window throttle counters: in memory, shared through Redis, or through the database."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core import ratelimit
from app.core.db import utcnow
from app.core.ratelimit import (
    DatabaseRateLimitBackend,
    MemoryRateLimitBackend,
    RateLimitCounter,
    RedisRateLimitBackend,
    WindowCount,
    purge_expired_counters,
)
from tests.conftest import REDIS_URL


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


async def test_memory_backend_release_gives_back_one_hit(clock: FakeClock) -> None:
    backend = MemoryRateLimitBackend()
    await backend.hit("k", 60)
    await backend.hit("k", 60)
    await backend.release("k")
    assert await backend.peek("k") == WindowCount(1, 60)
    await backend.release("k")
    await backend.release("k")  # never below zero
    assert (await backend.peek("k")).count == 0
    await backend.release("missing")
    assert await backend.peek("missing") == WindowCount(0, 0)


async def test_redis_backend_release_gives_back_one_hit_and_creates_nothing(
    redis_client: tuple[Redis, str],
) -> None:
    redis, prefix = redis_client
    backend = RedisRateLimitBackend(redis, prefix=prefix)
    await backend.hit("k", 60)
    await backend.hit("k", 60)
    await backend.release("k")
    assert (await backend.peek("k")).count == 1
    await backend.release("missing")
    assert await redis.exists(prefix + "missing") == 0


# --- the database backend (the default without Redis) -----------------------------------------


@pytest.fixture
async def db_backend(engine: AsyncEngine) -> AsyncIterator[tuple[DatabaseRateLimitBackend, str]]:
    """The backend on the migrated test database, and a key prefix no other test uses."""
    prefix = f"test:{uuid.uuid4().hex}:"
    try:
        yield DatabaseRateLimitBackend(engine), prefix
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                delete(RateLimitCounter).where(RateLimitCounter.key.startswith(prefix))
            )


async def test_database_backend_counts_resets_and_releases(
    db_backend: tuple[DatabaseRateLimitBackend, str],
) -> None:
    backend, prefix = db_backend
    key = prefix + "k"
    assert await backend.peek(key) == WindowCount(0, 0)
    first = await backend.hit(key, 60)
    assert first.count == 1
    assert 59 <= first.resets_in <= 60
    second = await backend.hit(key, 3600)
    assert second.count == 2
    assert second.resets_in <= 60  # the window is fixed by the first hit
    assert (await backend.peek(key)).count == 2
    assert await backend.peek(prefix + "other") == WindowCount(0, 0)

    await backend.release(key)
    assert (await backend.peek(key)).count == 1
    await backend.release(key)
    await backend.release(key)  # never below zero
    assert (await backend.peek(key)).count == 0

    await backend.hit(key, 60)
    await backend.reset(key)
    assert await backend.peek(key) == WindowCount(0, 0)


async def test_database_backend_starts_a_new_window_when_the_old_one_ended(
    engine: AsyncEngine, db_backend: tuple[DatabaseRateLimitBackend, str]
) -> None:
    backend, prefix = db_backend
    key = prefix + "k"
    for _ in range(3):
        await backend.hit(key, 60)
    async with engine.begin() as conn:
        await conn.execute(
            update(RateLimitCounter)
            .where(RateLimitCounter.key == key)
            .values(window_ends_at=utcnow() - timedelta(seconds=1))
        )
    assert await backend.peek(key) == WindowCount(0, 0)
    await backend.release(key)  # an ended window is not touched
    restarted = await backend.hit(key, 120)
    assert restarted.count == 1
    assert 119 <= restarted.resets_in <= 120

    async with engine.begin() as conn:
        await conn.execute(
            update(RateLimitCounter)
            .where(RateLimitCounter.key == key)
            .values(window_ends_at=utcnow() - timedelta(seconds=1))
        )
    async with AsyncSession(engine) as session, session.begin():
        assert await purge_expired_counters(session) >= 1
    async with engine.connect() as conn:
        assert (
            await conn.scalar(select(RateLimitCounter.key).where(RateLimitCounter.key == key))
            is None
        )


async def test_database_backend_gives_concurrent_hits_distinct_counts(
    db_backend: tuple[DatabaseRateLimitBackend, str],
) -> None:
    backend, prefix = db_backend
    windows = await asyncio.gather(*(backend.hit(prefix + "k", 60) for _ in range(30)))
    assert sorted(w.count for w in windows) == list(range(1, 31))
