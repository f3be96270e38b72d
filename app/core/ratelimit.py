"""Fixed-window counters for throttling, in memory or shared through Redis."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("facet.ratelimit")


@dataclass(frozen=True)
class WindowCount:
    count: int
    resets_in: int  # seconds until the window ends


class RateLimitBackend(Protocol):
    async def peek(self, key: str) -> WindowCount: ...
    async def hit(self, key: str, window_seconds: int) -> WindowCount: ...
    async def reset(self, key: str) -> None: ...
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

    async def close(self) -> None:
        await self._redis.aclose()


def create_rate_limit_backend(redis_url: str | None) -> RateLimitBackend:
    if redis_url:
        return RedisRateLimitBackend(Redis.from_url(redis_url, socket_timeout=2))
    return MemoryRateLimitBackend()
