"""Checkout under real concurrency: many requests at once, each in its own committed
transaction, against a dedicated database (not the per-test rolled-back connection)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.catalog.models import InventoryMovement, MovementReason, Variant
from app.orders.models import Order, OrderLine
from tests.factories import make_category, make_product
from tests.orders.conftest import checkout_body
from tests.realdb import (
    dedicated_pg_database,
    dedicated_sqlite_database,
    http_client,
    running_app,
    sessions,
)

STOCK = 5
BUYERS = 50
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
async def pg_app() -> AsyncIterator[FastAPI]:
    url = await dedicated_pg_database("_concurrency")
    # Every simulated buyer comes from one test address: lift the per-address limit.
    async with running_app(url, checkout_max_per_ip=10_000) as application:
        yield application


@pytest.fixture
async def pg_client(pg_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(pg_app) as client:
        yield client


async def make_variants(application: FastAPI, count: int, *, stock: int) -> list[uuid.UUID]:
    """`count` sellable variants (of one new product), each holding `stock` units."""
    number = next(_numbers)
    async with sessions(application)() as session:
        category = await make_category(session, f"race-{number}-{uuid.uuid4().hex[:8]}")
        product = await make_product(
            session,
            category,
            slug=f"race-ring-{number}-{uuid.uuid4().hex[:8]}",
            prices=tuple(100_000 + i for i in range(count)),
            stock=stock,
        )
        ids = await session.scalars(
            select(Variant.id).where(Variant.product_id == product.id).order_by(Variant.position)
        )
        return list(ids)


async def guest_cart(client: httpx.AsyncClient, *variant_ids: uuid.UUID) -> str:
    """A new guest cart holding one unit of each variant, added in the order given."""
    created = await client.post("/v1/carts")
    assert created.status_code == 201, created.text
    cart_id: str = created.json()["id"]
    for variant_id in variant_ids:
        added = await client.post(
            f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 1}
        )
        assert added.status_code == 201, added.text
    return cart_id


async def stock_of(application: FastAPI, variant_id: uuid.UUID) -> int:
    async with sessions(application)() as session:
        stock = await session.scalar(select(Variant.stock_on_hand).where(Variant.id == variant_id))
    assert stock is not None
    return stock


async def sales_of(application: FastAPI, variant_id: uuid.UUID) -> tuple[int, int, int]:
    """(orders, units on order lines, "sale" movements) recorded for a variant."""
    async with sessions(application)() as session:
        orders = await session.scalar(
            select(func.count(func.distinct(OrderLine.order_id))).where(
                OrderLine.variant_id == variant_id
            )
        )
        units = await session.scalar(
            select(func.coalesce(func.sum(OrderLine.quantity), 0)).where(
                OrderLine.variant_id == variant_id
            )
        )
        movements = await session.scalar(
            select(func.count()).where(
                InventoryMovement.variant_id == variant_id,
                InventoryMovement.reason == MovementReason.sale,
            )
        )
    return int(orders or 0), int(units or 0), int(movements or 0)


def problem_types(responses: list[httpx.Response]) -> Counter[str]:
    return Counter(r.json().get("type", "").rsplit("/", 1)[-1] for r in responses)


async def race_for_last_units(application: FastAPI, client: httpx.AsyncClient) -> None:
    """BUYERS guests, one unit each, race for STOCK units: exactly STOCK orders are made."""
    (variant_id,) = await make_variants(application, 1, stock=STOCK)
    carts = await asyncio.gather(*(guest_cart(client, variant_id) for _ in range(BUYERS)))
    assert len(set(carts)) == BUYERS

    answers = await asyncio.gather(
        *(
            client.post(
                "/v1/checkout",
                json=checkout_body(cart_id, email=f"buyer{i}@example.com"),
                headers={"Idempotency-Key": f"race-{uuid.uuid4().hex}"},
            )
            for i, cart_id in enumerate(carts)
        )
    )

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: STOCK, 409: BUYERS - STOCK}, [
        r.text for r in answers if r.status_code not in (201, 409)
    ]
    refused = [r for r in answers if r.status_code == 409]
    assert problem_types(refused) == {"out-of-stock": BUYERS - STOCK}
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in refused)
    order_ids = {r.json()["id"] for r in answers if r.status_code == 201}
    assert len(order_ids) == STOCK

    assert await stock_of(application, variant_id) == 0
    assert await sales_of(application, variant_id) == (STOCK, STOCK, STOCK)
    async with sessions(application)() as session:
        stored = await session.scalar(
            select(func.count()).select_from(Order).where(Order.id.in_(map(uuid.UUID, order_ids)))
        )
    assert stored == STOCK


@pytest.mark.postgres
async def test_fifty_buyers_race_for_five_units_on_postgres(
    pg_app: FastAPI, pg_client: httpx.AsyncClient
) -> None:
    await race_for_last_units(pg_app, pg_client)


async def test_fifty_buyers_race_for_five_units_on_sqlite(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "race.db")
    async with (
        running_app(url, checkout_max_per_ip=10_000) as application,
        http_client(application) as client,
    ):
        await race_for_last_units(application, client)


@pytest.mark.postgres
async def test_one_idempotency_key_sent_twenty_times_at_once_makes_one_order(
    pg_app: FastAPI, pg_client: httpx.AsyncClient
) -> None:
    (variant_id,) = await make_variants(pg_app, 1, stock=STOCK)
    cart_id = await guest_cart(pg_client, variant_id)
    email = f"retry-{uuid.uuid4().hex[:12]}@example.com"
    body = checkout_body(cart_id, email=email)
    key = f"same-{uuid.uuid4().hex}"

    answers = await asyncio.gather(
        *(
            pg_client.post("/v1/checkout", json=body, headers={"Idempotency-Key": key})
            for _ in range(20)
        )
    )

    assert {r.status_code for r in answers} <= {201, 409}, [r.text for r in answers]
    created = [r for r in answers if r.status_code == 201]
    in_flight = [r for r in answers if r.status_code == 409]
    assert created, "at least the first request succeeds"
    assert problem_types(in_flight) == {"idempotency-in-flight": len(in_flight)}
    originals = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    replays = [r for r in created if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(originals) == 1
    assert len(replays) == len(created) - 1
    assert {r.json()["id"] for r in created} == {originals[0].json()["id"]}

    async with sessions(pg_app)() as session:
        orders = list(await session.scalars(select(Order.id).where(Order.email == email)))
    assert orders == [uuid.UUID(originals[0].json()["id"])]
    assert await stock_of(pg_app, variant_id) == STOCK - 1
    assert await sales_of(pg_app, variant_id) == (1, 1, 1)

    # Once the first answer is committed, a late retry is a replay of it.
    late = await pg_client.post("/v1/checkout", json=body, headers={"Idempotency-Key": key})
    assert late.status_code == 201
    assert late.headers["Idempotent-Replayed"] == "true"
    assert late.json()["id"] == originals[0].json()["id"]


@pytest.mark.postgres
async def test_multi_line_checkouts_in_opposite_orders_do_not_deadlock(
    pg_app: FastAPI, pg_client: httpx.AsyncClient
) -> None:
    first, second = await make_variants(pg_app, 2, stock=STOCK)
    carts = await asyncio.gather(
        *(
            guest_cart(pg_client, *((first, second) if i % 2 == 0 else (second, first)))
            for i in range(20)
        )
    )

    answers = await asyncio.gather(
        *(
            pg_client.post(
                "/v1/checkout",
                json=checkout_body(cart_id, email=f"pair{i}@example.com"),
                headers={"Idempotency-Key": f"pair-{uuid.uuid4().hex}"},
            )
            for i, cart_id in enumerate(carts)
        )
    )

    assert {r.status_code for r in answers} <= {201, 409}, [
        r.text for r in answers if r.status_code not in (201, 409)
    ]
    refused = [r for r in answers if r.status_code == 409]
    assert problem_types(refused) == {"out-of-stock": len(refused)}
    sold = sum(r.status_code == 201 for r in answers)
    # Every order takes one of each, so the stock runs out after exactly STOCK orders.
    assert sold == STOCK
    for variant_id in (first, second):
        remaining = await stock_of(pg_app, variant_id)
        orders, units, movements = await sales_of(pg_app, variant_id)
        assert remaining == 0
        assert units == orders == movements == STOCK
        assert units + remaining == STOCK


async def race_for_one_cart(application: FastAPI, client: httpx.AsyncClient) -> None:
    """CHECKOUTS concurrent checkouts of one cart, each with its own key: one order."""
    (variant_id,) = await make_variants(application, 1, stock=STOCK)
    cart_id = await guest_cart(client, variant_id)
    email = f"one-cart-{uuid.uuid4().hex[:12]}@example.com"

    answers = await asyncio.gather(
        *(
            client.post(
                "/v1/checkout",
                json=checkout_body(cart_id, email=email),
                headers={"Idempotency-Key": f"cart-race-{uuid.uuid4().hex}"},
            )
            for _ in range(CHECKOUTS)
        )
    )

    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 409: CHECKOUTS - 1}, [r.text for r in answers]
    refused = [r for r in answers if r.status_code == 409]
    assert problem_types(refused) == {"cart-checked-out": CHECKOUTS - 1}
    assert await stock_of(application, variant_id) == STOCK - 1
    assert await sales_of(application, variant_id) == (1, 1, 1)
    async with sessions(application)() as session:
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.email == email)
        )
    assert orders == 1


CHECKOUTS = 12


@pytest.mark.postgres
async def test_concurrent_checkouts_of_one_cart_make_one_order_on_postgres(
    pg_app: FastAPI, pg_client: httpx.AsyncClient
) -> None:
    await race_for_one_cart(pg_app, pg_client)


async def test_concurrent_checkouts_of_one_cart_make_one_order_on_sqlite(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "one-cart.db")
    async with (
        running_app(url, checkout_max_per_ip=10_000) as application,
        http_client(application) as client,
    ):
        await race_for_one_cart(application, client)


@pytest.mark.postgres
async def test_line_edits_racing_checkouts_of_the_cart_never_fail_or_leak_stock(
    pg_app: FastAPI, pg_client: httpx.AsyncClient
) -> None:
    (variant_id,) = await make_variants(pg_app, 1, stock=STOCK)
    cart_id = await guest_cart(pg_client, variant_id)
    line_id = (await pg_client.get(f"/v1/carts/{cart_id}")).json()["items"][0]["id"]
    email = f"edit-race-{uuid.uuid4().hex[:12]}@example.com"

    answers = await asyncio.gather(
        *(
            pg_client.post(
                "/v1/checkout",
                json=checkout_body(cart_id, email=email),
                headers={"Idempotency-Key": f"edit-race-{uuid.uuid4().hex}"},
            )
            if i % 2 == 0
            else pg_client.patch(f"/v1/carts/{cart_id}/items/{line_id}", json={"quantity": 2})
            for i in range(12)
        )
    )

    assert all(r.status_code < 500 for r in answers), [r.text for r in answers]
    orders = [r.json() for r in answers if r.request.method == "POST" and r.status_code == 201]
    assert len(orders) == 1
    ordered = orders[0]["lines"][0]["quantity"]
    assert await stock_of(pg_app, variant_id) == STOCK - ordered
    assert await sales_of(pg_app, variant_id) == (1, ordered, 1)
