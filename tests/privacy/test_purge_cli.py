"""`facet purge` deletes technical data past its retention (P4)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.cli import migrate
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.privacy.models import TechnicalDataDaily
from app.privacy.technical_data import Bucket, add_counts
from tests.test_cli import run_facet


async def test_facet_purge_deletes_technical_data_past_the_retention(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'purge.db'}"
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url)
    today = utcnow().date()
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            await add_counts(
                session,
                Counter(
                    {
                        Bucket(
                            today - timedelta(days=age),
                            "GET",
                            "/healthz",
                            200,
                            "Other",
                            "Other",
                            "",
                            "",
                        ): 1
                        for age in (1, 120)
                    }
                ),
            )

        result = await asyncio.to_thread(run_facet, "purge", database_url=url)

        assert result.returncode == 0, result.stderr
        assert "1 technical-data rows" in result.stdout
        async with create_sessionmaker(engine)() as session:
            left = list(await session.scalars(select(TechnicalDataDaily.day)))
        assert left == [today - timedelta(days=1)]
    finally:
        await engine.dispose()
