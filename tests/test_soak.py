"""The mixed soak of `facet bench --soak`, shortened: two API processes and an outbox worker
on one PostgreSQL database, 16 clients browsing, filling carts, checking out, paying,
cancelling and changing consents for 8 s; every invariant must hold."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.soak import SoakPlan, soak
from tests.realdb import dedicated_pg_database

pytestmark = pytest.mark.postgres


async def test_a_short_mixed_soak_keeps_every_invariant(tmp_path: Path) -> None:
    url = await dedicated_pg_database("_soak")
    plan = SoakPlan(
        database_url=url,
        seconds=8,
        clients=16,
        api_processes=2,
        outbox_workers=1,
        products=30,
        accounts=2,
        prepare_database=False,
    )

    report = await asyncio.to_thread(soak, plan, tmp_path)

    assert report.passed, report.render()
    # It did exercise the money path, not just the catalog.
    assert report.figures["paid"] > 0, report.render()
    assert report.tally.statuses[("consent", 200)] > 0, report.render()
