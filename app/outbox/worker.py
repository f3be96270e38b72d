"""The delivery worker: drains the outbox and runs the periodic housekeeping jobs
(expire unpaid orders, purge abandoned carts and old idempotency keys)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.mail.base import MailSender
from app.adapters.payments.base import PaymentProvider
from app.carts.service import purge_abandoned
from app.core.idempotency import purge_expired
from app.core.ratelimit import purge_expired_counters
from app.core.settings import Settings
from app.orders.fulfilment import expire_unpaid
from app.outbox.service import DeliveryCheck, DeliveryResult, run_once

log = logging.getLogger("facet.worker")

HOUSEKEEPING_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class HousekeepingResult:
    expired_orders: int
    purged_carts: int
    purged_keys: int


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
    return HousekeepingResult(expired, carts, keys)


async def run_worker(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    provider: PaymentProvider,
    settings: Settings,
    *,
    stop: asyncio.Event,
    poll_seconds: float = 1.0,
    may_deliver: DeliveryCheck | None = None,
) -> None:
    worker_id = uuid.uuid4().hex
    last_housekeeping = 0.0
    while not stop.is_set():
        try:
            result: DeliveryResult = await run_once(
                sessionmaker, sender, worker_id=worker_id, may_deliver=may_deliver
            )
            if result.sent or result.failed or result.suppressed:
                log.info("outbox delivered", extra=result.__dict__)
            if time.monotonic() - last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS:
                last_housekeeping = time.monotonic()
                done = await housekeeping(sessionmaker, provider, settings)
                if any(done.__dict__.values()):
                    log.info("housekeeping", extra=done.__dict__)
        except Exception as exc:  # keep the loop alive; the error is logged without content
            log.error("worker iteration failed", extra={"error_type": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
