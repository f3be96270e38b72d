"""No lock on an order is held while the processor or the carrier is being called: with a
call held in flight, another transaction can still lock the order row at once (NOWAIT).
PostgreSQL only (SQLite has no row locks), on a dedicated database with real commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.adapters.payments.base import PaymentIntent
from app.adapters.payments.fake import FakePaymentProvider
from app.adapters.shipping.base import Parcel, Recipient, Shipment
from app.adapters.shipping.free import FreeShipping
from app.core.db import utcnow
from app.orders.fulfilment import expire_unpaid
from app.orders.models import Order
from tests.factories import bearer, login, make_account, make_category, make_product
from tests.orders.conftest import checkout_body
from tests.orders.test_concurrency import guest_cart
from tests.realdb import dedicated_pg_database, http_client, running_app, sessions


class Gate:
    """Holds one named outside call in flight until the test opens it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()

    async def passing(self, name: str) -> None:
        if name == self.name:
            self.entered.set()
            await asyncio.wait_for(self.opened.wait(), timeout=30)


class GatedProvider(FakePaymentProvider):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def confirm(self, intent_id: str, **kwargs: Any) -> PaymentIntent:
        await self.gate.passing("confirm")
        return await super().confirm(intent_id, **kwargs)

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        await self.gate.passing("retrieve")
        return await super().retrieve(intent_id)


class GatedCarrier(FreeShipping):
    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate

    async def create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment:
        await self.gate.passing("create_shipment")
        return await super().create_shipment(
            recipient, parcel, reference=reference, idempotency_key=idempotency_key
        )


@pytest.fixture(scope="module")
async def pg_app() -> AsyncIterator[FastAPI]:
    url = await dedicated_pg_database("_locks")
    async with running_app(url, checkout_max_per_ip=10_000) as application:
        yield application


@pytest.fixture
async def pg_client(pg_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(pg_app) as client:
        yield client


async def placed_order(application: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    async with sessions(application)() as session:
        category = await make_category(session, f"locks-{uuid.uuid4().hex[:10]}")
        product = await make_product(
            session, category, slug=f"locks-ring-{uuid.uuid4().hex[:10]}", stock=3
        )
        variant_id = (
            await session.scalar(text("SELECT id FROM variants WHERE product_id = :p LIMIT 1"),
                                 {"p": product.id})
        )  # fmt: skip
    cart_id = await guest_cart(client, variant_id)
    response = await client.post(
        "/v1/checkout",
        json=checkout_body(cart_id),
        headers={"Idempotency-Key": f"locks-{uuid.uuid4().hex}"},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def lock_is_free(maker: async_sessionmaker[AsyncSession], order_id: str) -> bool:
    """Whether another transaction can lock the order row right now."""
    async with maker() as session:
        try:
            await session.execute(
                text("SELECT id FROM orders WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": uuid.UUID(order_id)},
            )
        except Exception as exc:  # asyncpg's LockNotAvailableError, wrapped by SQLAlchemy
            if "could not obtain lock" in str(exc):
                return False
            raise
        finally:
            await session.rollback()
    return True


async def while_in_flight(gate: Gate, call: Awaitable[Any], maker: Any, order_id: str) -> Any:
    task = asyncio.ensure_future(call)
    try:
        await asyncio.wait_for(gate.entered.wait(), timeout=10)
        free = await lock_is_free(maker, order_id)
    finally:
        gate.opened.set()
    result = await task
    assert free, "the order row stayed locked across the outside call"
    return result


async def staff_headers(application: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    async with sessions(application)() as session:
        account = await make_account(session, role=Role.staff)
    return bearer((await login(client, account.email))["access_token"])


Scenario = Callable[[FastAPI, httpx.AsyncClient, Gate], Awaitable[None]]


@pytest.mark.postgres
@pytest.mark.parametrize("step", ["pay", "cancel", "ship", "expire"])
async def test_no_order_lock_is_held_while_an_outside_call_is_in_flight(
    pg_app: FastAPI, pg_client: httpx.AsyncClient, step: str
) -> None:
    gate_on = {
        "pay": "confirm", "cancel": "retrieve", "ship": "create_shipment", "expire": "retrieve",
    }[step]  # fmt: skip
    gate = Gate(gate_on)
    saved = pg_app.state.payment_provider, pg_app.state.shipping_carrier
    provider = GatedProvider(gate)
    pg_app.state.payment_provider = provider
    pg_app.state.shipping_carrier = GatedCarrier(gate)
    try:
        order = await placed_order(pg_app, pg_client)
        token = {"X-Order-Token": order["order_token"]}
        pay_call = pg_client.post(
            f"/v1/orders/{order['id']}/payments", json={"payment_method": "pm_card_visa"},
            headers=token,
        )  # fmt: skip
        maker = sessions(pg_app)
        if step == "pay":
            response = await while_in_flight(gate, pay_call, maker, order["id"])
            assert response.status_code == 200, response.text
            return
        paid = await pay_call
        assert paid.status_code == 200, paid.text
        if step == "cancel":
            call = pg_client.post(f"/v1/orders/{order['id']}/cancel", headers=token)
            response = await while_in_flight(gate, call, maker, order["id"])
            assert response.json()["status"] == "cancelled", response.text
        elif step == "ship":
            staff = await staff_headers(pg_app, pg_client)
            call = pg_client.post(f"/v1/admin/orders/{order['id']}/ship", headers=staff)
            response = await while_in_flight(gate, call, maker, order["id"])
            assert response.json()["status"] == "shipped", response.text
        else:
            async with maker() as session, session.begin():
                await session.execute(
                    update(Order)
                    .where(Order.id == uuid.UUID(order["id"]))
                    .values(status="pending_payment", reserved_until=utcnow() - timedelta(days=1))
                )
            await while_in_flight(gate, expire_unpaid(maker, provider), maker, order["id"])
    finally:
        pg_app.state.payment_provider, pg_app.state.shipping_carrier = saved
