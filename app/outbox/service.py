"""Enqueue messages inside the caller's transaction; claim and deliver them in the worker."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.mail.base import MailRejected, MailSender, OutgoingEmail
from app.core.db import rows_affected, utcnow
from app.outbox.models import MessageCategory, MessageStatus, OutboxMessage

log = logging.getLogger("facet.outbox")

MAX_ATTEMPTS = 8
# A worker that died mid-send leaves rows in `sending`; after the lease they are retried.
CLAIM_LEASE = timedelta(minutes=5)


# Asked before each marketing message is sent: may it still go? Supplied by the entry
# point (the consent ledger lives in a domain the outbox does not import). Without one,
# marketing is never delivered; transactional mail never asks.
DeliveryCheck = Callable[[AsyncSession, OutboxMessage], Awaitable[bool]]


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at one hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def enqueue_email(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    category: MessageCategory = MessageCategory.transactional,
    data_subject: str | None = None,
    purpose: str | None = None,
    headers: dict[str, str] | None = None,
) -> OutboxMessage:
    """Queue one email. Marketing names its subject and purpose: the worker re-checks
    that consent when it delivers (see `DeliveryCheck`)."""
    message = OutboxMessage(
        category=category,
        kind=kind,
        recipient=to,
        subject=subject,
        body=body,
        data_subject=data_subject,
        purpose=purpose,
        headers=headers,
    )
    session.add(message)
    return message


async def claim_batch(
    session: AsyncSession, *, worker_id: str, limit: int, now: datetime | None = None
) -> list[OutboxMessage]:
    """Claim due messages. `SKIP LOCKED` lets many workers claim disjoint rows on
    PostgreSQL; on SQLite the transaction's write lock serialises claims."""
    now = now or utcnow()
    due = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == MessageStatus.pending)
                & (OutboxMessage.next_attempt_at <= now),
                (OutboxMessage.status == MessageStatus.sending)
                & (OutboxMessage.claimed_at < now - CLAIM_LEASE),
            )
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list(await session.scalars(due))
    for message in messages:
        message.status = MessageStatus.sending
        message.claimed_at = now
        message.claimed_by = worker_id
        message.attempts += 1
    await session.flush()
    return messages


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0


async def deliver_claimed(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    messages: list[OutboxMessage],
    *,
    may_deliver: DeliveryCheck | None = None,
) -> DeliveryResult:
    sent = retried = failed = suppressed = 0
    for message in messages:
        outcome: dict[str, object]
        if message.category == MessageCategory.marketing and not await _still_wanted(
            sessionmaker, may_deliver, message
        ):
            suppressed += 1
            await _settle(sessionmaker, message, {"status": MessageStatus.suppressed})
            continue
        try:
            await sender.send(
                OutgoingEmail(
                    message_id=str(message.id),
                    to=message.recipient,
                    subject=message.subject,
                    text=message.body,
                    headers=dict(message.headers or {}),
                )
            )
        except MailRejected as exc:
            failed += 1
            outcome = {"status": MessageStatus.failed, "last_error": type(exc).__name__}
        except Exception as exc:  # any other failure is retried with backoff
            if message.attempts >= MAX_ATTEMPTS:
                failed += 1
                outcome = {"status": MessageStatus.failed, "last_error": type(exc).__name__}
            else:
                retried += 1
                outcome = {
                    "status": MessageStatus.pending,
                    "next_attempt_at": utcnow() + backoff(message.attempts),
                    "last_error": type(exc).__name__[:64],
                }
            log.warning(
                "mail delivery failed",
                extra={"message_id": str(message.id), "kind": message.kind,
                       "error_type": type(exc).__name__, "attempts": message.attempts},
            )  # fmt: skip
        else:
            sent += 1
            outcome = {"status": MessageStatus.sent, "sent_at": utcnow(), "last_error": None}
        await _settle(sessionmaker, message, outcome)
    return DeliveryResult(sent=sent, retried=retried, failed=failed, suppressed=suppressed)


async def _still_wanted(
    sessionmaker: async_sessionmaker[AsyncSession],
    may_deliver: DeliveryCheck | None,
    message: OutboxMessage,
) -> bool:
    if may_deliver is None:
        return False
    # Its own short transaction, read just before sending: a withdrawal committed after
    # the message was queued (or claimed) is seen here.
    async with sessionmaker() as session, session.begin():
        return await may_deliver(session, message)


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    message: OutboxMessage,
    outcome: dict[str, object],
) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == message.claimed_by)
            .values(**outcome)
        )


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    *,
    worker_id: str | None = None,
    batch_size: int = 50,
    may_deliver: DeliveryCheck | None = None,
) -> DeliveryResult:
    """Claim and deliver batches until nothing is due."""
    worker_id = worker_id or uuid.uuid4().hex
    total = DeliveryResult()
    while True:
        async with sessionmaker() as session, session.begin():
            messages = await claim_batch(session, worker_id=worker_id, limit=batch_size)
        if not messages:
            return total
        result = await deliver_claimed(sessionmaker, sender, messages, may_deliver=may_deliver)
        total = DeliveryResult(
            total.sent + result.sent,
            total.retried + result.retried,
            total.failed + result.failed,
            total.suppressed + result.suppressed,
        )


async def purge_sent(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> int:
    """Sent messages past the retention window: their copies of names and addresses go
    (P8, outdated data); pending and failed ones stay until delivered or looked at."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    result = await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.status == MessageStatus.sent, OutboxMessage.sent_at < before
        )
    )
    return rows_affected(result)
