"""`Idempotency-Key` for writes that move money or send messages.

The same key with the same body replays the first answer; the same key with
another body is refused (422); a duplicate that arrives while the first is still
in flight is refused (409). The key is claimed in its own committed transaction,
so concurrent duplicates see it; the answer is stored in the request's
transaction, so it commits with the effect it describes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import String, Text, UniqueConstraint, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, utcnow
from app.core.errors import AppError, Conflict

RETENTION = timedelta(hours=24)

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

    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    completed: Mapped[bool] = mapped_column(default=False)
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IdempotencyKeyReused(AppError):
    status = 422
    type = "idempotency-key-reused"
    title = "This Idempotency-Key was used with a different request"


class IdempotencyInFlight(Conflict):
    type = "idempotency-in-flight"
    title = "A request with this Idempotency-Key is still being processed"


def request_fingerprint(body: Any) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IdempotentRequest:
    scope: str
    key: str
    fingerprint: str
    sessionmaker: async_sessionmaker[AsyncSession]
    record_id: Any = None
    completed: bool = False
    replay: JSONResponse | None = None

    async def begin(self) -> JSONResponse | None:
        """Claim the key; return the stored answer when this is a replay."""
        record = IdempotencyRecord(scope=self.scope, key=self.key, request_hash=self.fingerprint)
        try:
            async with self.sessionmaker() as session, session.begin():
                session.add(record)
        except IntegrityError:
            return await self._existing()
        self.record_id = record.id
        return None

    async def _existing(self) -> JSONResponse:
        async with self.sessionmaker() as session:
            existing = await session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.scope == self.scope, IdempotencyRecord.key == self.key
                )
            )
        if existing is None:  # released between our insert and this read: ask for a retry
            raise IdempotencyInFlight()
        if existing.request_hash != self.fingerprint:
            raise IdempotencyKeyReused()
        if not existing.completed or existing.response_status is None:
            raise IdempotencyInFlight()
        self.completed = True
        return JSONResponse(
            json.loads(existing.response_body or "null"),
            status_code=existing.response_status,
            headers={"Idempotent-Replayed": "true"},
        )

    async def complete(self, session: AsyncSession, status: int, body: Any) -> None:
        """Store the answer in the caller's transaction, beside the effect."""
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


def idempotency(scope: str):  # type: ignore[no-untyped-def]
    """A dependency factory: `Annotated[IdempotentRequest, Depends(idempotency("checkout"))]`.
    The endpoint returns `idem.replay` when it is set."""

    async def dependency(
        request: Request, key: IdempotencyKeyHeader
    ) -> AsyncIterator[IdempotentRequest]:
        body = await request.body()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("latin-1")
        idem = IdempotentRequest(
            scope=scope,
            key=key,
            fingerprint=request_fingerprint(parsed),
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
    return int(getattr(result, "rowcount", 0) or 0)
