"""Typed helpers that build test data through the service layer or the API."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts.models import Account, Role
from app.accounts.schemas import AccountCreate
from app.catalog.models import Category, Metal, Product, Variant
from app.core.db import utcnow
from app.orders.models import Order, OrderLine, OrderStatus, PaymentState

DEFAULT_PASSWORD = "Emerald-Cut-Sparkle-42"
ADULT_DOB = date(1985, 6, 15)
_counter = itertools.count(1)


def unique_email(prefix: str = "customer") -> str:
    return f"{prefix}{next(_counter)}@example.com"


async def make_account(
    session: AsyncSession,
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "Ada Lovelace",
    phone: str | None = None,
    role: Role = Role.customer,
) -> Account:
    data = AccountCreate(
        email=email or unique_email(),
        password=password,
        full_name=full_name,
        phone=phone,
        date_of_birth=ADULT_DOB,
    )
    account = await service.register(session, data, role=role)
    await session.commit()
    return account


async def login(
    client: httpx.AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def signed_in(
    client: httpx.AsyncClient, session: AsyncSession, *, role: Role = Role.customer
) -> tuple[Account, dict[str, str]]:
    """A new account and the Authorization header of a fresh login."""
    account = await make_account(session, role=role)
    tokens = await login(client, account.email)
    return account, bearer(tokens["access_token"])


# ---- catalog ----

_sku_counter = itertools.count(1)


async def make_category(
    session: AsyncSession, slug: str, *, parent: Category | None = None, published: bool = True
) -> Category:
    category = Category(
        slug=slug,
        name=slug.replace("-", " ").title(),
        parent_id=parent.id if parent else None,
        is_published=published,
    )
    session.add(category)
    await session.commit()
    return category


async def make_product(
    session: AsyncSession,
    category: Category,
    *,
    slug: str | None = None,
    name: str | None = None,
    metal: Metal = Metal.white_gold,
    prices: tuple[int, ...] = (150_000,),
    stock: int = 5,
    published: bool = True,
    created_at: datetime | None = None,
    **attributes: object,
) -> Product:
    """A product with one variant per price, each holding `stock` units."""
    number = next(_sku_counter)
    product = Product(
        slug=slug or f"product-{number}",
        name=name or f"Product {number}",
        description="A test jewel.",
        category_id=category.id,
        metal=metal,
        is_published=published,
        price_from_minor=min(prices) if prices else None,
        **attributes,
    )
    if created_at is not None:
        product.created_at = created_at
    session.add(product)
    await session.flush()
    for position, price in enumerate(prices):
        session.add(
            Variant(
                product_id=product.id,
                sku=f"SKU-{number}-{position}",
                ring_size=None,
                price_minor=price,
                stock_on_hand=stock,
                position=position,
            )
        )
    await session.commit()
    return product


# ---- orders ----


async def make_paid_order(
    session: AsyncSession,
    product: Product,
    *,
    quantity: int = 1,
    paid_at: datetime | None = None,
    status: OrderStatus = OrderStatus.paid,
) -> Order:
    """An order row paid at `paid_at`, for sales statistics; it reserves no stock."""
    variant = await session.scalar(select(Variant).where(Variant.product_id == product.id))
    assert variant is not None
    paid = paid_at or utcnow()
    total = variant.price_minor * quantity
    order = Order(
        number=f"FJ-T{next(_counter):07d}",
        status=status,
        email="buyer@example.com",
        phone=None,
        shipping_address={"full_name": "Buyer", "line1": "1 Main St", "city": "Springfield",
                          "postal_code": "62701", "country": "US"},
        order_token_hash="0" * 64,
        currency=variant.currency,
        subtotal_minor=total,
        total_minor=total,
        capture_mode="automatic",
        payment_provider="fake",
        payment_state=PaymentState.captured,
        reserved_until=paid,
        paid_at=paid,
        lines=[
            OrderLine(
                variant_id=variant.id, product_id=product.id, product_name=product.name,
                sku=variant.sku, options={}, unit_price_minor=variant.price_minor,
                quantity=quantity, line_total_minor=total,
            )
        ],
        shipments=[],
    )  # fmt: skip
    session.add(order)
    await session.commit()
    return order
