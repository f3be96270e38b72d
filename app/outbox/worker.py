"""The delivery worker: drains the outbox and, between rounds, runs the housekeeping
it is handed (app/housekeeping.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.mail.base import MailSender
from app.outbox.service import DeliveryCheck, DeliveryResult, run_once

log = logging.getLogger("facet.worker")

HOUSEKEEPING_EVERY_SECONDS = 60.0

# Periodic jobs of other domains (app/housekeeping.py), run between deliveries: the
# outbox knows no domain, so the entry level hands them in. Returns counts to log.
Housekeeping = Callable[[], Awaitable[Mapping[str, int]]]


async def run_worker(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    *,
    housekeeping: Housekeeping | None = None,
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
            due = time.monotonic() - last_housekeeping >= HOUSEKEEPING_EVERY_SECONDS
            if housekeeping is not None and due:
                last_housekeeping = time.monotonic()
                done = await housekeeping()
                if any(done.values()):
                    log.info("housekeeping", extra=dict(done))
        except Exception as exc:  # keep the loop alive; the error is logged without content
            log.error("worker iteration failed", extra={"error_type": type(exc).__name__})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
