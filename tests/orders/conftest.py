"""Shared order helpers: a fake payment processor, a staff sign-in, checkout bodies, orders
placed and paid over HTTP."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.accounts.verification import VERIFICATION_EMAIL_KIND
from app.adapters.payments.base import PaymentProvider
from app.adapters.payments.fake import FakePaymentProvider
from app.adapters.payments.webhooks import sign_payload
from app.catalog.models import Product, Variant
from app.core.settings import PaymentProviderName, Settings
from app.orders.models import Order, OrderStatus
from app.outbox.models import OutboxMessage
from tests.factories import make_category, make_product, signed_in

PROBLEM = "https://facet.example/problems/"
WEBHOOK_SECRET = "whsec_test"
ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}

_keys = itertools.count(1)
_categories = itertools.count(1)


def checkout_body(cart_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "cart_id": cart_id,
        "email": "ada@example.com",
        "phone": "+44 20 7946 0000",
        "shipping_address": ADDRESS,
        "is_adult": True,
    }
    body.update(overrides)
    return body


def new_key() -> str:
    return f"test-key-{next(_keys):06d}-{uuid.uuid4().hex[:8]}"


@contextmanager
def state_changed(app: FastAPI, **changes: Any) -> Iterator[None]:
    """Set attributes of `app.state` (the payment provider, the carrier), restoring them after."""
    saved = {name: getattr(app.state, name) for name in changes}
    for name, value in changes.items():
        setattr(app.state, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(app.state, name, value)


@pytest.fixture
def provider(bound_app: FastAPI) -> Iterator[FakePaymentProvider]:
    """A fresh fake processor whose ledger (`charges`) each test can inspect."""
    provider = FakePaymentProvider(webhook_secret=WEBHOOK_SECRET)
    with state_changed(bound_app, payment_provider=provider):
        yield provider


@pytest.fixture
async def staff(client: httpx.AsyncClient, session: AsyncSession) -> dict[str, str]:
    """Bearer headers of a signed-in staff account."""
    _, headers = await signed_in(client, session, role=Role.staff)
    return headers


def problem_type(response: httpx.Response) -> str:
    """The problem `type` slug of an error answer."""
    kind: str = response.json()["type"]
    assert kind.startswith(PROBLEM), kind
    return kind.removeprefix(PROBLEM)


@contextmanager
def settings_changed(app: FastAPI, **changes: Any) -> Iterator[Settings]:
    """Swap the app's settings for a copy with `changes`, restoring the original after."""
    saved: Settings = app.state.settings
    app.state.settings = saved.model_copy(update=changes)
    try:
        yield app.state.settings
    finally:
        app.state.settings = saved


@contextmanager
def paying_through(
    app: FastAPI, adapter: PaymentProvider, name: PaymentProviderName
) -> Iterator[None]:
    """The app paying through `adapter`; orders record the configured processor, so the
    settings name the same one."""
    with state_changed(app, payment_provider=adapter), settings_changed(app, payment_provider=name):
        yield


async def variant_ids(session: AsyncSession, product: Product) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(Variant.id).where(Variant.product_id == product.id).order_by(Variant.position)
    )
    return list(rows)


async def stock_of(session: AsyncSession, variant_id: uuid.UUID) -> int:
    stock = await session.scalar(select(Variant.stock_on_hand).where(Variant.id == variant_id))
    assert stock is not None
    return stock


async def outbox_kinds(session: AsyncSession) -> list[str]:
    """The order emails queued so far (registrations' verification links left out)."""
    rows = await session.scalars(
        select(OutboxMessage.kind)
        .where(OutboxMessage.kind != VERIFICATION_EMAIL_KIND)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return list(rows)


async def outbox_count(session: AsyncSession, kind: str) -> int:
    query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == kind)
    return int(await session.scalar(query) or 0)


async def fill_cart(
    client: httpx.AsyncClient,
    items: list[tuple[uuid.UUID, int]],
    *,
    headers: dict[str, str] | None = None,
) -> str:
    """A guest cart (or, with a bearer header, the account's cart) holding `items`."""
    if headers:
        response = await client.get("/v1/me/cart", headers=headers)
        assert response.status_code == 200, response.text
    else:
        response = await client.post("/v1/carts")
        assert response.status_code == 201, response.text
    cart_id: str = response.json()["id"]
    for variant_id, quantity in items:
        added = await client.post(
            f"/v1/carts/{cart_id}/items",
            json={"variant_id": str(variant_id), "quantity": quantity},
            headers=headers or {},
        )
        assert added.status_code == 201, added.text
    return cart_id


async def post_checkout(
    client: httpx.AsyncClient,
    cart_id: str,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **overrides: object,
) -> httpx.Response:
    return await client.post(
        "/v1/checkout",
        json=checkout_body(cart_id, **overrides),
        headers={"Idempotency-Key": key or new_key(), **(headers or {})},
    )


@dataclass(frozen=True)
class PlacedOrder:
    body: dict[str, Any]
    variant_id: uuid.UUID
    product: Product

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def token(self) -> dict[str, str]:
        """The guest's `X-Order-Token` header for this order."""
        return {"X-Order-Token": str(self.body["order_token"])}

    @property
    def total(self) -> int:
        return int(self.body["totals"]["total_minor"])


async def place_order(
    client: httpx.AsyncClient,
    session: AsyncSession,
    *,
    price: int = 250_000,
    stock: int = 3,
    quantity: int = 1,
    headers: dict[str, str] | None = None,
    **overrides: object,
) -> PlacedOrder:
    """A new product, a cart holding `quantity` of it, and a successful checkout."""
    category = await make_category(session, f"orders-{next(_categories)}-{uuid.uuid4().hex[:6]}")
    product = await make_product(session, category, prices=(price,), stock=stock)
    (variant_id,) = await variant_ids(session, product)
    cart_id = await fill_cart(client, [(variant_id, quantity)], headers=headers)
    response = await post_checkout(client, cart_id, headers=headers, **overrides)
    assert response.status_code == 201, response.text
    return PlacedOrder(response.json(), variant_id, product)


async def pay(
    client: httpx.AsyncClient,
    order: PlacedOrder,
    payment_method: str = "pm_card_visa",
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Pay as the guest holding the order token, or as `headers` (a bearer) when given."""
    return await client.post(
        f"/v1/orders/{order.id}/payments",
        json={"payment_method": payment_method},
        headers=order.token if headers is None else headers,
    )


async def paid_order(
    client: httpx.AsyncClient, session: AsyncSession, *, stock: int = 3
) -> PlacedOrder:
    order = await place_order(client, session, stock=stock)
    response = await pay(client, order)
    assert response.status_code == 200, response.text
    return order


async def stored(session: AsyncSession, order: PlacedOrder) -> tuple[OrderStatus, str | None]:
    """The order's status and payment intent as committed to the database."""
    row = (
        await session.execute(
            select(Order.status, Order.payment_intent_id).where(Order.id == uuid.UUID(order.id))
        )
    ).one()
    return row.status, row.payment_intent_id


async def intent_of(session: AsyncSession, order: PlacedOrder) -> str:
    """The payment intent the database holds for the order (it must have one)."""
    intent_id = await session.scalar(
        select(Order.payment_intent_id).where(Order.id == uuid.UUID(order.id))
    )
    assert intent_id is not None
    return intent_id


def webhook_event(event_type: str, intent_id: str, *, amount: int) -> bytes:
    """A Stripe-shaped payment-intent event, serialised as the processor would send it."""
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": event_type,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "currency": "usd",
                "amount_received": amount if event_type.endswith("succeeded") else 0,
                "amount_capturable": amount if "capturable" in event_type else 0,
            }
        },
    }
    return json.dumps(event).encode()


async def send_webhook(
    client: httpx.AsyncClient, payload: bytes, *, secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    return await client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={
            "Stripe-Signature": sign_payload(payload, secret),
            "Content-Type": "application/json",
        },
    )
