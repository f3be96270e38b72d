"""Periodic jobs that span domains (expire unpaid orders, purge abandoned carts, old
idempotency keys, rate-limit counters, used or expired email links, and referred friends' data once
its purpose is served). They live at
the entry level, beside the CLI: the outbox worker runs them through an injected
callable and knows no domain."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.verification import purge_finished_tokens
from app.adapters.payments.base import PaymentProvider
from app.carts.service import purge_abandoned
from app.core.idempotency import purge_expired
from app.core.ratelimit import purge_expired_counters
from app.core.settings import Settings
from app.orders.fulfilment import expire_unpaid
from app.privacy.newsletter import purge_finished_confirmations
from app.referrals.service import purge_served


@dataclass(frozen=True)
class HousekeepingResult:
    expired_orders: int
    purged_carts: int
    purged_keys: int
    purged_email_links: int
    purged_referral_friends: int


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
        links = await purge_finished_tokens(session)
        links += await purge_finished_confirmations(session)
        friends = await purge_served(session, window_days=settings.referral_window_days)
    return HousekeepingResult(expired, carts, keys, links, friends)


async def housekeeping_counts(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    settings: Settings,
) -> dict[str, int]:
    """What the worker loop runs between deliveries: the counts are logged."""
    return asdict(await housekeeping(sessionmaker, provider, settings))
