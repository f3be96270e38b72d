"""`Idempotency-Key` for writes that move money or send messages.

A key belongs to its caller: each operation names the caller (an account, or
for guests the cart they hold), so another caller sending the same key and body
is a new request, never a replay of someone else's answer. For one caller, the
same key with the same body replays the first answer; the same key with another
body is refused (422); a duplicate that arrives while the first is still in
flight is refused (409). The key is claimed in its own committed transaction, so
concurrent duplicates see it; the answer is stored in the request's transaction,
so it commits with the effect it describes.

What is stored is what the operation chooses to keep (checkout keeps only the
order id, never its secret token), and the body is fingerprinted with a keyed
HMAC: the table never holds the personal data the request carried.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, rows_affected, utcnow
from app.core.errors import AppError, Conflict
from app.core.problems import raises
from app.core.security import keyed_hash
from app.core.settings import Settings

RETENTION = timedelta(hours=24)
PII = {"pii": True}
NOT_PII = {"pii": False}

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=255,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="A unique key per logical request (e.g. a UUID); retries reuse it.",
    ),
]


class IdempotencyRecord(IdMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    scope: Mapped[str] = mapped_column(String(100), info=NOT_PII)
    key: Mapped[str] = mapped_column(String(255), info=NOT_PII)
    request_hash: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    completed: Mapped[bool] = mapped_column(default=False)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text, info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IdempotencyKeyReused(AppError):
    status = 422
    type = "idempotency-key-reused"
    title = "This Idempotency-Key was used with a different request"
    description = (
        "This `Idempotency-Key` was used by the same caller with a different body; use a "
        "new key for a new request."
    )


class IdempotencyInFlight(Conflict):
    type = "idempotency-in-flight"
    title = "A request with this Idempotency-Key is still being processed"
    description = (
        "A request with this `Idempotency-Key` is still being processed; retry shortly to"
        " get its answer."
    )


def request_fingerprint(settings: Settings, body: Any) -> str:
    """A keyed digest of the body (HMAC under a key derived from the service secret):
    equal bodies match, and a leaked table cannot be searched for a guessed email or
    address the way a bare SHA-256 could."""
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return keyed_hash(settings, raw, purpose="idempotency-fingerprint")


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer's status and what the operation chose to keep of it."""

    status: int
    body: Any


REPLAYED_HEADERS = {"Idempotent-Replayed": "true"}


@dataclass
class IdempotentRequest:
    scope: str
    key: str
    fingerprint: str
    sessionmaker: async_sessionmaker[AsyncSession]
    record_id: Any = None
    completed: bool = False
    replay: StoredAnswer | None = None

    async def begin(self) -> StoredAnswer | None:
        """Claim the key; return the stored answer when this is a replay."""
        record = IdempotencyRecord(scope=self.scope, key=self.key, request_hash=self.fingerprint)
        try:
            async with self.sessionmaker() as session, session.begin():
                session.add(record)
        except IntegrityError:
            return await self._existing()
        self.record_id = record.id
        return None

    async def _existing(self) -> StoredAnswer:
        async with self.sessionmaker() as session:
            existing = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
                )
            )
        if existing is None:  # released between our insert and this read: ask for a retry
            raise IdempotencyInFlight()
        if not hmac.compare_digest(existing.request_hash, self.fingerprint):
            raise IdempotencyKeyReused()
        if not existing.completed or existing.response_status is None:
            raise IdempotencyInFlight()
        self.completed = True
        return StoredAnswer(existing.response_status, json.loads(existing.response_body or "null"))

    async def complete(self, session: AsyncSession, status: int, body: Any) -> None:
        """Store the answer in the caller's transaction, beside the effect. `body` is what
        a replay needs to answer again: keep secrets and personal data out of it."""
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == self.record_id)
            .values(completed=True, response_status=status, response_body=json.dumps(body))
        )
        self.completed = True

    async def release(self) -> None:
        """Free the key unless its answer was committed, so a failed request can be retried.
        Runs after every request: a commit that failed leaves the record incomplete."""
        if self.record_id is None:
            return
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.id == self.record_id, IdempotencyRecord.completed.is_(False)
                )
            )


CallerScope = Callable[..., Awaitable[str]]


def idempotency(operation: str, caller: CallerScope):  # type: ignore[no-untyped-def]
    """A dependency factory:
    `Annotated[IdempotentRequest, Depends(idempotency("checkout", checkout_caller))]`.

    `caller` is a dependency naming who is asking (e.g. `account:<id>`); it must not
    touch the request's database session. The endpoint answers from `idem.replay`
    when it is set."""

    @raises(IdempotencyKeyReused, IdempotencyInFlight)
    async def dependency(
        request: Request, key: IdempotencyKeyHeader, who: str = Depends(caller)
    ) -> AsyncIterator[IdempotentRequest]:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("latin-1")
        idem = IdempotentRequest(
            scope=f"{operation}:{who}"[:100],
            key=key,
            fingerprint=request_fingerprint(request.app.state.settings, parsed),
            sessionmaker=request.app.state.sessionmaker,
        )
        # Claimed here, before the request's own session touches the database: on SQLite
        # every transaction takes the write lock, so claiming later would wait on ourselves.
        # Declare this dependency before any that query (e.g. the current account).
        idem.replay = await idem.begin()
        try:
            yield idem
        finally:
            await idem.release()

    return dependency


async def purge_expired(session: AsyncSession, *, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - RETENTION
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff)
    )
    return rows_affected(result)
