"""Catalog reads on real databases: on SQLite they never wait for the write lock, and on
PostgreSQL a staff change made through one API process shows on the very next read from
every process (each keeps its own answers cache)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.catalog import repository
from app.catalog.models import Variant
from app.core.db import create_engine, create_sessionmaker
from tests.factories import login, make_account, make_category, make_product
from tests.processes import api_processes
from tests.realdb import (
    dedicated_pg_database,
    dedicated_sqlite_database,
    http_client,
    running_app,
    sessions,
)

READERS = 8


async def test_sqlite_catalog_reads_answer_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "locked.db")
    async with running_app(url) as app:
        async with sessions(app)() as session:
            category = await make_category(session, "halo")
            await make_product(session, category, slug="ring")
        writer = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # held for the whole read burst
            writer.execute("UPDATE catalog_versions SET version = version")
            async with http_client(app) as client:
                paths = ["/v1/products", "/v1/products/ring", "/v1/categories"] * READERS
                answers = await asyncio.wait_for(
                    asyncio.gather(*(client.get(path) for path in paths)), timeout=5
                )
            assert [a.status_code for a in answers] == [200] * len(paths)
        finally:
            writer.execute("ROLLBACK")
            writer.close()


@pytest.fixture(scope="module")
async def shared_database() -> str:
    return await dedicated_pg_database("_catalog_cache")


@pytest.fixture(scope="module")
def api_urls(shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    with api_processes(shared_database, tmp_path_factory.mktemp("catalog-cache")) as urls:
        yield urls


@pytest.fixture
async def clients(api_urls: list[str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=url, timeout=30) for url in api_urls]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


@pytest.mark.postgres
async def test_a_staff_price_change_shows_on_the_next_read_from_every_process(
    shared_database: str, clients: list[httpx.AsyncClient]
) -> None:
    engine = create_engine(shared_database)
    try:
        async with create_sessionmaker(engine)() as session:
            suffix = uuid.uuid4().hex[:8]
            category = await make_category(session, f"cache-{suffix}")
            product = await make_product(session, category, slug=f"ring-{suffix}")
            variant_id = await session.scalar(
                select(Variant.id).where(Variant.product_id == product.id)
            )
            staff = await make_account(session, role=Role.staff)
    finally:
        await engine.dispose()
    token = (await login(clients[0], staff.email))["access_token"]
    detail, listing = f"/v1/products/{product.slug}", f"/v1/products?category={category.slug}"

    for round_, price in enumerate((111_100, 222_200, 333_300, 444_400)):
        for client in clients:  # every process has the old answers cached
            assert (await client.get(detail)).status_code == 200
            assert (await client.get(listing)).status_code == 200
        writer = clients[round_ % 2]
        changed = await writer.patch(
            f"/v1/admin/variants/{variant_id}",
            json={"price_minor": price},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
        for client in clients:
            shown = (await client.get(detail)).json()
            assert shown["variants"][0]["price_minor"] == price, client.base_url
            listed = (await client.get(listing)).json()["items"]
            assert [p["price_from_minor"] for p in listed] == [price], client.base_url


@pytest.mark.postgres
async def test_stock_changes_on_each_others_variants_do_not_deadlock_on_the_version(
    shared_database: str,
) -> None:
    engine = create_engine(shared_database)
    maker = create_sessionmaker(engine)
    try:
        async with maker() as session:
            category = await make_category(session, f"locks-{uuid.uuid4().hex[:8]}")
            products = [await make_product(session, category, stock=1) for _ in range(2)]
            a, b = [
                await session.scalar(select(Variant.id).where(Variant.product_id == p.id))
                for p in products
            ]
            before = await repository.catalog_version(session)
        async with maker() as first, maker() as second:
            # Each sells out a variant (an availability change), then the first wants the
            # variant the second holds: it must wait for the second's commit, not deadlock.
            assert await repository.reserve_stock(first, a, 1, note="first") == 0

            async def second_sale() -> None:
                assert await repository.reserve_stock(second, b, 1, note="second") == 0
                await second.commit()

            sale = asyncio.create_task(second_sale())
            await asyncio.sleep(0.3)
            assert (
                await asyncio.wait_for(
                    repository.reserve_stock(first, b, 1, note="first"), timeout=10
                )
                is None
            )  # sold out by the second
            await first.commit()
            await asyncio.wait_for(sale, timeout=10)
        async with maker() as session:
            assert await repository.catalog_version(session) == before + 2
    finally:
        await engine.dispose()
