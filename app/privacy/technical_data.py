"""Coarse technical data about requests (P4), counted per day off the request path.

A pure ASGI middleware reduces each request to coarse traits (route template, status,
browser and OS families, referrer host, client network) and counts it in memory; a
background task upserts the counts into `technical_data_daily` every few seconds and
at shutdown, in its own transaction. A request never waits on, or fails because of,
this bookkeeping. Nothing recorded names an account, cart, order, token or address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.db import rows_affected, utcnow
from app.core.middleware import route_template
from app.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from app.core.user_agent import parse_user_agent
from app.privacy.errors import InvalidDateRange
from app.privacy.models import TechnicalDataDaily

log = logging.getLogger("facet.technical_data")

IPV4_PREFIX = 24
IPV6_PREFIX = 48
# Past this many distinct buckets between flushes, new buckets are dropped (and counted).
MAX_BUCKETS = 20_000
UPSERT_CHUNK = 500
DEFAULT_SPAN = timedelta(days=6)  # a week, with the last day
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HOSTNAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")


@dataclass(frozen=True, order=True)
class Bucket:
    day: date
    method: str
    route: str
    status: int
    browser: str
    os: str
    referrer_host: str
    ip_prefix: str


BUCKET_COLUMNS = tuple(Bucket.__dataclass_fields__)


def network_prefix(host: str | None) -> str:
    """The client's network, never its address: /24 for IPv4, /48 for IPv6 ("" if unknown)."""
    if not host:
        return ""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def referrer_host(header: str | None) -> str:
    """Only the referring site's host name: no path, query, port, user or IP literal."""
    if not header:
        return ""
    try:
        host = urlsplit(header.strip()[:2048]).hostname
    except ValueError:
        return ""
    if not host or len(host) > 253 or not _HOSTNAME.fullmatch(host):
        return ""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return ""  # an address literal could be a person's machine
    return host


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def bucket_for(scope: Scope, status: int) -> Bucket:
    families = parse_user_agent(_header(scope, b"user-agent"))
    client = scope.get("client")
    return Bucket(
        day=utcnow().date(),
        method=scope["method"] if scope["method"] in KNOWN_METHODS else "OTHER",
        route=route_template(scope)[:200],
        status=status,
        browser=families.browser,
        os=families.os,
        referrer_host=referrer_host(_header(scope, b"referer")),
        ip_prefix=network_prefix(client[0] if client else None),
    )


class TechnicalDataRecorder:
    """In-memory request counts, drained into the database by `flush`."""

    def __init__(self, *, max_buckets: int = MAX_BUCKETS) -> None:
        self._counts: Counter[Bucket] = Counter()
        self._max_buckets = max_buckets
        self.dropped = 0

    def record(self, bucket: Bucket) -> None:
        if bucket not in self._counts and len(self._counts) >= self._max_buckets:
            self.dropped += 1
            return
        self._counts[bucket] += 1

    def drain(self) -> Counter[Bucket]:
        counts, self._counts = self._counts, Counter()
        return counts

    async def flush(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Write the counts so far; on failure keep them for the next flush. Never raises."""
        counts = self.drain()
        if self.dropped:
            log.warning("technical data buckets dropped", extra={"dropped": self.dropped})
            self.dropped = 0
        if not counts:
            return 0
        try:
            async with sessionmaker() as session, session.begin():
                await add_counts(session, counts)
        except Exception as exc:
            log.warning("technical data flush failed", extra={"error_type": type(exc).__name__})
            for bucket, n in counts.items():
                if bucket in self._counts or len(self._counts) < self._max_buckets:
                    self._counts[bucket] += n
            return 0
        return len(counts)

    async def run(
        self,
        sessionmaker: Callable[[], async_sessionmaker[AsyncSession]],
        *,
        every_seconds: float,
        stop: asyncio.Event,
    ) -> None:
        """Flush every `every_seconds` until `stop`, then once more. The sessionmaker is
        looked up at each flush: the one the app writes with at that moment."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_seconds)
            await self.flush(sessionmaker())


class TechnicalDataMiddleware:
    """Count every HTTP request by its coarse traits, after the response is sent."""

    def __init__(self, app: ASGIApp, *, recorder: TechnicalDataRecorder) -> None:
        self.app = app
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            try:
                self.recorder.record(bucket_for(scope, status))
            except Exception as exc:  # bookkeeping must never break a request
                log.warning("technical data not recorded", extra={"error_type": type(exc).__name__})


def _columns(bucket: Bucket) -> dict[str, object]:
    return dict(zip(BUCKET_COLUMNS, astuple(bucket), strict=True))


async def add_counts(session: AsyncSession, counts: Counter[Bucket]) -> None:
    """Add counts to their daily rows, creating rows as needed (one upsert per chunk)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # A fixed order keeps two processes flushing at once from deadlocking on PostgreSQL.
    rows = [
        {
            "id": uuid.uuid4(),
            **dict(zip(BUCKET_COLUMNS, astuple(bucket), strict=True)),
            "requests": n,
        }
        for bucket, n in sorted(counts.items())
    ]
    for start in range(0, len(rows), UPSERT_CHUNK):
        statement = insert(TechnicalDataDaily).values(rows[start : start + UPSERT_CHUNK])
        statement = statement.on_conflict_do_update(
            index_elements=list(BUCKET_COLUMNS),
            set_={"requests": TechnicalDataDaily.requests + statement.excluded.requests},
        )
        await session.execute(statement)


async def list_daily(
    session: AsyncSession,
    *,
    since: date | None,
    until: date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TechnicalDataDaily], str | None]:
    """Daily counts between two days (inclusive; the last 7 days by default), newest first."""
    until = until or utcnow().date()
    if since is None:
        since = until - DEFAULT_SPAN if until >= date.min + DEFAULT_SPAN else date.min
    if since > until:
        raise InvalidDateRange(parameter="from")
    query = (
        select(TechnicalDataDaily)
        .where(TechnicalDataDaily.day >= since, TechnicalDataDaily.day <= until)
        .order_by(TechnicalDataDaily.day.desc(), TechnicalDataDaily.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        raw_day, raw_id = decode_cursor(cursor, arity=2)
        try:
            after_day, after_id = date.fromisoformat(str(raw_day)), uuid.UUID(str(raw_id))
        except ValueError as exc:
            raise InvalidCursor(
                "The cursor is not one this API issued.", parameter="cursor"
            ) from exc
        query = query.where(
            tuple_(TechnicalDataDaily.day, TechnicalDataDaily.id) < tuple_(after_day, after_id)
        )
    rows = list(await session.scalars(query))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].day.isoformat(), str(rows[-1].id)])


async def purge_older_than(session: AsyncSession, *, retention_days: int) -> int:
    """Delete the daily rows older than the retention period; returns how many."""
    cutoff = utcnow().date() - timedelta(days=retention_days)
    result = await session.execute(
        delete(TechnicalDataDaily).where(TechnicalDataDaily.day < cutoff)
    )
    return rows_affected(result)
