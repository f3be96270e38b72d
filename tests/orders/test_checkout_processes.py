"""One cart, one order, across API processes: two real uvicorn processes serve one
PostgreSQL database, and concurrent checkouts of one cart are split between them."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from app.catalog.models import Variant
from app.core.db import create_engine, create_sessionmaker
from app.orders.models import Order
from tests.factories import make_category, make_product
from tests.orders.conftest import checkout_body
from tests.processes import api_processes
from tests.realdb import dedicated_pg_database

pytestmark = pytest.mark.postgres

CHECKOUTS = 12
STOCK = 5


@pytest.fixture(scope="module")
async def database_url() -> str:
    return await dedicated_pg_database("_processes")


@pytest.fixture(scope="module")
def api_urls(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Base URLs of two API processes sharing the database."""
    # Every request comes from 127.0.0.1: lift the per-address checkout limit.
    with api_processes(
        database_url, tmp_path_factory.mktemp("processes"), FACET_CHECKOUT_MAX_PER_IP="10000"
    ) as urls:
        yield urls


@pytest.fixture
async def clients(api_urls: list[str]) -> AsyncIterator[list[httpx.AsyncClient]]:
    opened = [httpx.AsyncClient(base_url=url, timeout=60) for url in api_urls]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


async def test_concurrent_checkouts_of_one_cart_across_two_processes_make_one_order(
    database_url: str, clients: list[httpx.AsyncClient]
) -> None:
    engine = create_engine(database_url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            category = await make_category(session, f"processes-{uuid.uuid4().hex[:8]}")
            product = await make_product(
                session, category, slug=f"two-process-ring-{uuid.uuid4().hex[:8]}", stock=STOCK
            )
            variant_id = await session.scalar(
                select(Variant.id).where(Variant.product_id == product.id)
            )
        first, second = clients
        cart_id = (await first.post("/v1/carts")).json()["id"]
        added = await second.post(
            f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 1}
        )
        assert added.status_code == 201, added.text
        email = f"two-processes-{uuid.uuid4().hex[:12]}@example.com"
        body = checkout_body(cart_id, email=email)

        answers = await asyncio.gather(
            *(
                clients[i % 2].post(
                    "/v1/checkout", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                for i in range(CHECKOUTS)
            )
        )

        statuses = Counter(r.status_code for r in answers)
        assert statuses == {201: 1, 409: CHECKOUTS - 1}, [r.text for r in answers]
        refused = {r.json()["type"].rsplit("/", 1)[-1] for r in answers if r.status_code == 409}
        assert refused == {"cart-checked-out"}
        async with sessions() as session:
            orders = await session.scalar(
                select(func.count()).select_from(Order).where(Order.email == email)
            )
            stock = await session.scalar(
                select(Variant.stock_on_hand).where(Variant.id == variant_id)
            )
        assert orders == 1
        assert stock == STOCK - 1
    finally:
        await engine.dispose()
