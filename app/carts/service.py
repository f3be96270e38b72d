"""Guest and account carts: lines by variant, prices always refreshed from the catalog."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import Account, Role
from app.carts.errors import (
    CartLineNotFound,
    CartNotFound,
    InsufficientStock,
    QuantityLimit,
    VariantUnavailable,
)
from app.carts.models import MAX_LINE_QUANTITY, Cart, CartLine
from app.carts.pricing import TaxCalculator, Totals, compute_totals
from app.carts.schemas import CartLineRead, CartRead, TotalsRead
from app.catalog.errors import VariantNotFound
from app.catalog.models import Product, Variant
from app.catalog.service import availability
from app.core.db import utcnow

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True)
class PricedLine:
    line: CartLine
    variant: Variant
    product: Product

    @property
    def line_total_minor(self) -> int:
        return self.variant.price_minor * self.line.quantity


async def create_guest_cart(session: AsyncSession) -> Cart:
    cart = Cart(account_id=None)
    session.add(cart)
    await session.flush()
    return cart


async def account_cart(session: AsyncSession, account: Account) -> Cart:
    cart = await session.scalar(select(Cart).where(Cart.account_id == account.id))
    if cart is None:
        cart = Cart(account_id=account.id)
        session.add(cart)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:  # created concurrently: use that one
            cart = await session.scalar(select(Cart).where(Cart.account_id == account.id))
            if cart is None:
                raise
    return cart


async def get_cart(session: AsyncSession, cart_id: uuid.UUID, actor: Account | None) -> Cart:
    """A guest cart is reached by its id; an account's cart only by its owner or staff."""
    cart = await session.get(Cart, cart_id)
    if cart is None:
        raise CartNotFound()
    if cart.account_id is not None and not (
        actor is not None and (actor.id == cart.account_id or actor.role == Role.staff)
    ):
        raise CartNotFound()
    return cart


async def priced_lines(session: AsyncSession, cart: Cart) -> list[PricedLine]:
    rows = await session.execute(
        select(CartLine, Variant, Product)
        .join(Variant, Variant.id == CartLine.variant_id)
        .join(Product, Product.id == Variant.product_id)
        .where(CartLine.cart_id == cart.id)
        .order_by(CartLine.created_at, CartLine.id)
    )
    return [PricedLine(line, variant, product) for line, variant, product in rows]


def totals_of(lines: list[PricedLine], tax: TaxCalculator, country: str | None = None) -> Totals:
    currency = lines[0].variant.currency if lines else DEFAULT_CURRENCY
    return compute_totals(
        [p.line_total_minor for p in lines], currency=currency, tax=tax, country=country
    )


async def view(session: AsyncSession, cart: Cart, tax: TaxCalculator) -> CartRead:
    lines = await priced_lines(session, cart)
    totals = totals_of(lines, tax)
    return CartRead(
        id=cart.id,
        items=[
            CartLineRead(
                id=p.line.id,
                variant_id=p.variant.id,
                product_slug=p.product.slug,
                product_name=p.product.name,
                sku=p.variant.sku,
                ring_size=p.variant.ring_size,
                chain_length_cm=p.variant.chain_length_cm,
                unit_price_minor=p.variant.price_minor,
                quantity=p.line.quantity,
                line_total_minor=p.line_total_minor,
                currency=p.variant.currency,
                availability=availability(p.variant.stock_on_hand)
                if p.variant.is_active and p.product.is_published
                else availability(0),
            )
            for p in lines
        ],
        totals=TotalsRead(**totals.__dict__),
    )


async def _sellable_variant(session: AsyncSession, variant_id: uuid.UUID) -> Variant:
    row = (
        await session.execute(
            select(Variant, Product.is_published)
            .join(Product, Product.id == Variant.product_id)
            .where(Variant.id == variant_id)
        )
    ).first()
    if row is None:
        raise VariantNotFound()
    variant, published = row
    if not (published and variant.is_active):
        raise VariantUnavailable("This item is not currently for sale.")
    return variant


def _check_stock(variant: Variant, quantity: int) -> None:
    if quantity > variant.stock_on_hand:
        raise InsufficientStock(
            "Not enough of this item is available.",
            variant_id=str(variant.id),
            available=max(0, variant.stock_on_hand),
        )


async def add_line(
    session: AsyncSession, cart: Cart, *, variant_id: uuid.UUID, quantity: int
) -> CartLine:
    variant = await _sellable_variant(session, variant_id)
    line = await session.scalar(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant_id)
    )
    new_quantity = quantity + (line.quantity if line else 0)
    if new_quantity > MAX_LINE_QUANTITY:
        raise QuantityLimit(f"At most {MAX_LINE_QUANTITY} of one item per order.")
    _check_stock(variant, new_quantity)
    if line is None:
        line = CartLine(cart_id=cart.id, variant_id=variant_id, quantity=quantity)
        session.add(line)
    else:
        line.quantity = new_quantity
    cart.updated_at = utcnow()
    await session.flush()
    return line


async def _line(session: AsyncSession, cart: Cart, line_id: uuid.UUID) -> CartLine:
    line = await session.scalar(
        select(CartLine).where(CartLine.id == line_id, CartLine.cart_id == cart.id)
    )
    if line is None:
        raise CartLineNotFound()
    return line


async def update_line(
    session: AsyncSession, cart: Cart, line_id: uuid.UUID, *, quantity: int
) -> CartLine:
    line = await _line(session, cart, line_id)
    variant = await _sellable_variant(session, line.variant_id)
    _check_stock(variant, quantity)
    line.quantity = quantity
    cart.updated_at = utcnow()
    await session.flush()
    return line


async def remove_line(session: AsyncSession, cart: Cart, line_id: uuid.UUID) -> None:
    line = await _line(session, cart, line_id)
    await session.delete(line)
    cart.updated_at = utcnow()
    await session.flush()


async def claim(session: AsyncSession, account: Account, guest_cart_id: uuid.UUID) -> Cart:
    """Merge a guest cart into the account's cart, then delete the guest cart."""
    guest = await session.get(Cart, guest_cart_id, options=[selectinload(Cart.lines)])
    if guest is None or guest.account_id is not None:
        raise CartNotFound()
    cart = await account_cart(session, account)
    existing = {
        line.variant_id: line
        for line in await session.scalars(select(CartLine).where(CartLine.cart_id == cart.id))
    }
    for guest_line in guest.lines:
        variant = await session.get(Variant, guest_line.variant_id)
        stock_cap = variant.stock_on_hand if variant else 0
        if guest_line.variant_id in existing:
            line = existing[guest_line.variant_id]
            line.quantity = max(
                line.quantity,
                min(line.quantity + guest_line.quantity, MAX_LINE_QUANTITY, stock_cap),
            )
        elif (quantity := min(guest_line.quantity, MAX_LINE_QUANTITY, stock_cap)) > 0:
            session.add(
                CartLine(cart_id=cart.id, variant_id=guest_line.variant_id, quantity=quantity)
            )
    await session.delete(guest)
    cart.updated_at = utcnow()
    await session.flush()
    return cart


async def empty(session: AsyncSession, cart: Cart) -> None:
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))


async def purge_abandoned(session: AsyncSession, *, days: int) -> int:
    """Delete guest carts untouched for `days` days."""
    cutoff = utcnow() - timedelta(days=days)
    result = await session.execute(
        delete(Cart).where(Cart.account_id.is_(None), Cart.updated_at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)
