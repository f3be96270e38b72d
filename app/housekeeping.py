"""Periodic jobs that span domains (expire unpaid orders, purge abandoned carts, old
idempotency keys and rate-limit counters, and personal data past its retention window:
see `purge_outdated` for the list). They live at the entry level, beside the
CLI: the outbox worker runs them through an injected callable and knows no domain."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.service import purge_ended_sessions
from app.accounts.verification import purge_finished_tokens
from app.adapters.payments.base import PaymentProvider
from app.carts.service import purge_abandoned
from app.core.db import utcnow
from app.core.idempotency import purge_expired
from app.core.ratelimit import purge_expired_counters
from app.core.settings import Settings
from app.orders.fulfilment import expire_unpaid
from app.outbox.service import purge_sent
from app.privacy.inquiries import purge_settled
from app.privacy.newsletter import purge_finished_confirmations
from app.privacy.requests import purge_unverified
from app.referrals.service import purge_served
from app.support.service import purge_answered


@dataclass(frozen=True)
class HousekeepingResult:
    expired_orders: int
    purged_carts: int
    purged_keys: int
    purged_requests: int = 0
    purged_messages: int = 0
    purged_inquiries: int = 0
    purged_sessions: int = 0
    purged_email_links: int = 0
    purged_referral_friends: int = 0
    purged_support_requests: int = 0


async def housekeeping(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    settings: Settings,
) -> HousekeepingResult:
    # Its own transactions, one per order, none open across a processor call.
    expired = await expire_unpaid(sessionmaker, provider)
    async with sessionmaker() as session, session.begin():
        carts = await purge_abandoned(session, days=settings.cart_abandoned_days)
        keys = await purge_expired(session)
        await purge_expired_counters(session)
        outdated = await purge_outdated(session, settings)
    return HousekeepingResult(expired, carts, keys, **outdated)


async def housekeeping_counts(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    settings: Settings,
) -> dict[str, int]:
    """What the worker loop runs between deliveries: the counts are logged."""
    return asdict(await housekeeping(sessionmaker, provider, settings))


async def purge_outdated(
    session: AsyncSession, settings: Settings, *, now: datetime | None = None
) -> dict[str, int]:
    """Personal data past its window (P8, outdated data), each window a setting:
    - privacy requests never verified, once their link expired
      (`privacy_request_verify_hours`);
    - sent outbox messages (`outbox_sent_retention_days` after sending);
    - answered or closed privacy inquiries (`privacy_inquiry_retention_days` after the
      answer or the closing);
    - login sessions and refresh tokens (`ended_session_retention_days` after they expire);
    - email verification and newsletter confirmation links once used or expired
      (`email_token_hours`);
    - a referred friend's name and address once the referral converted or its window
      passed (`referral_window_days`);
    - answered contact requests, with their emails still in the outbox
      (`support_request_retention_days` after the answer).
    Idempotent: a second run finds nothing left to remove."""
    now = now or utcnow()
    return {
        "purged_requests": await purge_unverified(session, now=now),
        "purged_messages": await purge_sent(
            session, retention_days=settings.outbox_sent_retention_days, now=now
        ),
        "purged_inquiries": await purge_settled(
            session, retention_days=settings.privacy_inquiry_retention_days, now=now
        ),
        "purged_sessions": await purge_ended_sessions(
            session, retention_days=settings.ended_session_retention_days, now=now
        ),
        "purged_email_links": await purge_finished_tokens(session)
        + await purge_finished_confirmations(session),
        "purged_referral_friends": await purge_served(
            session, window_days=settings.referral_window_days, now=now
        ),
        "purged_support_requests": await purge_answered(
            session, retention_days=settings.support_request_retention_days, now=now
        ),
    }
