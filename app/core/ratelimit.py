"""Fixed-window counters for throttling: shared through Redis, or through the database
when Redis is not configured, or in memory (one process: tests and explicit use)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import String, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, rows_affected, utcnow

log = logging.getLogger("facet.ratelimit")


@dataclass(frozen=True)
class WindowCount:
    count: int
    resets_in: int  # seconds until the window ends


class RateLimitBackend(Protocol):
    async def peek(self, key: str) -> WindowCount: ...
    async def hit(self, key: str, window_seconds: int) -> WindowCount: ...
    async def reset(self, key: str) -> None: ...
    async def release(self, key: str) -> None:
        """Give back one hit of the current window (a counted attempt that turned out fine)."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimitBackend:
    """Per-process counters: right for one worker, tests and the embedded default."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}

    def _current(self, key: str) -> tuple[int, float] | None:
        entry = self._windows.get(key)
        if entry is not None and entry[1] <= time.monotonic():
            del self._windows[key]
            return None
        return entry

    async def peek(self, key: str) -> WindowCount:
        entry = self._current(key)
        if entry is None:
            return WindowCount(0, 0)
        return WindowCount(entry[0], math.ceil(entry[1] - time.monotonic()))

    async def hit(self, key: str, window_seconds: int) -> WindowCount:
        entry = self._current(key)
        count, ends = entry if entry else (0, time.monotonic() + window_seconds)
        self._windows[key] = (count + 1, ends)
        return WindowCount(count + 1, math.ceil(ends - time.monotonic()))

    async def reset(self, key: str) -> None:
        self._windows.pop(key, None)

    async def release(self, key: str) -> None:
        entry = self._current(key)
        if entry is not None and entry[0] > 0:
            self._windows[key] = (entry[0] - 1, entry[1])

    async def close(self) -> None:
        self._windows.clear()


class RedisRateLimitBackend:
    """Counters shared by every worker and replica. Fails open if Redis is unreachable,
    so an outage of the cache does not lock every customer out."""

    def __init__(self, redis: Redis, *, prefix: str = "facet:rl:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def peek(self, key: str) -> WindowCount:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self._prefix + key)
                pipe.pttl(self._prefix + key)
                raw, ttl_ms = await pipe.execute()
        except RedisError:
            log.warning("rate limit backend unavailable", extra={"operation": "peek"})
            return WindowCount(0, 0)
        return WindowCount(int(raw or 0), max(0, math.ceil(ttl_ms / 1000)))

    async def hit(self, key: str, window_seconds: int) -> WindowCount:
        name = self._prefix + key
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)
                pipe.pttl(name)
                count, _, ttl_ms = await pipe.execute()
        except RedisError:
            log.warning("rate limit backend unavailable", extra={"operation": "hit"})
            return WindowCount(0, 0)
        return WindowCount(int(count), max(0, math.ceil(ttl_ms / 1000)))

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(self._prefix + key)
        except RedisError:
            log.warning("rate limit backend unavailable", extra={"operation": "reset"})

    async def release(self, key: str) -> None:
        try:
            await self._redis.eval(_RELEASE_SCRIPT, 1, self._prefix + key)  # type: ignore[misc]
        except RedisError:
            log.warning("rate limit backend unavailable", extra={"operation": "release"})

    async def close(self) -> None:
        await self._redis.aclose()


# Decrement only a live counter: a plain DECR on an expired key would create one with no TTL.
_RELEASE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RateLimitCounter(Base):
    """One fixed window of one throttle key. Keys hold keyed hashes, never personal data."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True, info={"pii": False})
    count: Mapped[int]
    window_ends_at: Mapped[datetime] = mapped_column(index=True)


class DatabaseRateLimitBackend:
    """Counters in the database, shared by every worker process when Redis is absent.

    Each call is its own short transaction, and `hit` is one atomic upsert
    (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so concurrent requests in any
    process each get a distinct count. On SQLite every transaction takes the write
    lock: call the backend before the request's own session first touches the
    database, or the call waits on the request's own lock (shared/NOTES.md §5).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"no rate-limit upsert for the {dialect} dialect")
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    async def peek(self, key: str) -> WindowCount:
        now = utcnow()
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    select(RateLimitCounter.count, RateLimitCounter.window_ends_at).where(
                        RateLimitCounter.key == key, RateLimitCounter.window_ends_at > now
                    )
                )
            ).first()
        if row is None:
            return WindowCount(0, 0)
        return WindowCount(row.count, _seconds_until(row.window_ends_at, now))

    async def hit(self, key: str, window_seconds: int) -> WindowCount:
        now = utcnow()
        table = RateLimitCounter.__table__
        fresh = self._insert(table).values(
            key=key, count=1, window_ends_at=now + timedelta(seconds=window_seconds)
        )
        ended = table.c.window_ends_at <= now
        upsert = fresh.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((ended, 1), else_=table.c.count + 1),
                "window_ends_at": case(
                    (ended, fresh.excluded.window_ends_at), else_=table.c.window_ends_at
                ),
            },
        ).returning(table.c.count, table.c.window_ends_at)
        async with self._engine.begin() as conn:
            row = (await conn.execute(upsert)).one()
        return WindowCount(row.count, _seconds_until(row.window_ends_at, now))

    async def reset(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(RateLimitCounter).where(RateLimitCounter.key == key))

    async def release(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(RateLimitCounter)
                .where(
                    RateLimitCounter.key == key,
                    RateLimitCounter.count > 0,
                    RateLimitCounter.window_ends_at > utcnow(),
                )
                .values(count=RateLimitCounter.count - 1)
            )

    async def close(self) -> None:
        """The engine belongs to the application, which disposes of it."""


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(0, math.ceil((moment - now).total_seconds()))


async def purge_expired_counters(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete the counters of ended windows (a later hit would restart them anyway)."""
    result = await session.execute(
        delete(RateLimitCounter).where(RateLimitCounter.window_ends_at <= (now or utcnow()))
    )
    return rows_affected(result)


def create_rate_limit_backend(
    redis_url: str | None, engine: AsyncEngine | None = None
) -> RateLimitBackend:
    """Redis when configured; otherwise the database, so several workers share the counts."""
    if redis_url:
        return RedisRateLimitBackend(Redis.from_url(redis_url, socket_timeout=2))
    if engine is not None:
        return DatabaseRateLimitBackend(engine)
    return MemoryRateLimitBackend()
