"""The worker runs the housekeeping it is handed (the outbox knows no domain)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.outbox.worker import run_worker
from tests.outbox.test_worker import Recorder


async def test_the_worker_runs_the_housekeeping_it_is_handed(
    sessionmaker: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="facet.worker")
    stop = asyncio.Event()
    rounds: list[int] = []

    async def housekeeping() -> dict[str, int]:
        rounds.append(1)
        stop.set()
        return {"purged_carts": 1}

    await asyncio.wait_for(
        run_worker(sessionmaker, Recorder(), housekeeping=housekeeping, stop=stop), timeout=30
    )

    assert rounds == [1]
    assert [r.getMessage() for r in caplog.records if r.name == "facet.worker"] == ["housekeeping"]
