"""Guest and account carts: lines by variant, prices always refreshed from the catalog."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import Account, Role
from app.carts.errors import (
    CartLineLimit,
    CartLineNotFound,
    CartNotFound,
    CurrencyMismatch,
    InsufficientStock,
    QuantityLimit,
    VariantUnavailable,
)
from app.carts.models import MAX_LINE_QUANTITY, Cart, CartLine
from app.carts.pricing import CartRules, Totals, compute_totals
from app.carts.schemas import CartLineRead, CartRead, TotalsRead
from app.catalog.errors import VariantNotFound
from app.catalog.models import Product, Variant
from app.catalog.service import availability
from app.core.db import rows_affected, utcnow


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


async def get_cart(
    session: AsyncSession, cart_id: uuid.UUID, actor: Account | None, *, for_update: bool = False
) -> Cart:
    """A guest cart is reached by its id; an account's cart only by its owner or staff.

    `for_update` locks the cart row until the transaction ends (PostgreSQL; on SQLite the
    transaction already holds the write lock), so its lines cannot change or be ordered
    twice meanwhile: every line edit also updates the cart row, so it waits too."""
    if for_update:
        cart = await session.get(Cart, cart_id, with_for_update=True, populate_existing=True)
    else:
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


def totals_of(lines: list[PricedLine], rules: CartRules, country: str | None = None) -> Totals:
    """The cart's totals in the store's currency. A line priced in another currency (left
    from before the store's currency was enforced or changed) is refused, never summed."""
    foreign = [p for p in lines if p.variant.currency != rules.currency]
    if foreign:
        raise CurrencyMismatch(
            f"The store sells in {rules.currency}; remove the items priced otherwise.",
            currency=rules.currency,
            variant_ids=[str(p.variant.id) for p in foreign],
        )
    return compute_totals(
        [p.line_total_minor for p in lines], currency=rules.currency, tax=rules.tax,
        country=country,
    )  # fmt: skip


def check_limits(lines: list[PricedLine], rules: CartRules) -> None:
    """Carts filled before the limits, or merged at login, are held to them at checkout."""
    if len(lines) > rules.max_lines:
        raise CartLineLimit(f"A cart holds at most {rules.max_lines} different items.")
    if sum(p.line.quantity for p in lines) > rules.max_units:
        raise QuantityLimit(f"At most {rules.max_units} pieces per order.")


async def view(session: AsyncSession, cart: Cart, rules: CartRules) -> CartRead:
    lines = await priced_lines(session, cart)
    totals = totals_of(lines, rules)
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
    # The level the catalog shows, never the count: stock figures are the store's business.
    if quantity > variant.stock_on_hand:
        raise InsufficientStock(
            "Not enough of this item is available.",
            variant_id=str(variant.id),
            availability=availability(variant.stock_on_hand).value,
        )


async def _units_besides(session: AsyncSession, cart: Cart, line: CartLine | None) -> int:
    query = select(func.coalesce(func.sum(CartLine.quantity), 0)).where(CartLine.cart_id == cart.id)
    if line is not None:
        query = query.where(CartLine.id != line.id)
    return int(await session.scalar(query) or 0)


async def _check_units(
    session: AsyncSession, cart: Cart, line: CartLine | None, quantity: int, rules: CartRules
) -> None:
    if quantity > MAX_LINE_QUANTITY:
        raise QuantityLimit(f"At most {MAX_LINE_QUANTITY} of one item per order.")
    if await _units_besides(session, cart, line) + quantity > rules.max_units:
        raise QuantityLimit(f"At most {rules.max_units} pieces per order.")


async def add_line(
    session: AsyncSession, cart: Cart, rules: CartRules, *, variant_id: uuid.UUID, quantity: int
) -> CartLine:
    variant = await _sellable_variant(session, variant_id)
    if variant.currency != rules.currency:
        raise CurrencyMismatch(
            f"The store sells in {rules.currency}.",
            currency=rules.currency,
            variant_ids=[str(variant.id)],
        )
    line = await session.scalar(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant_id)
    )
    if line is None:
        lines = await session.scalar(
            select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart.id)
        )
        if (lines or 0) >= rules.max_lines:
            raise CartLineLimit(f"A cart holds at most {rules.max_lines} different items.")
    new_quantity = quantity + (line.quantity if line else 0)
    await _check_units(session, cart, line, new_quantity, rules)
    _check_stock(variant, new_quantity)
    if line is None:
        line = CartLine(cart_id=cart.id, variant_id=variant_id, quantity=quantity)
        session.add(line)
    else:
        line.quantity = new_quantity
    cart.updated_at = utcnow()
    cart.checked_out_at = None
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
    session: AsyncSession, cart: Cart, rules: CartRules, line_id: uuid.UUID, *, quantity: int
) -> CartLine:
    line = await _line(session, cart, line_id)
    variant = await _sellable_variant(session, line.variant_id)
    await _check_units(session, cart, line, quantity, rules)
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


async def claim(
    session: AsyncSession, account: Account, rules: CartRules, guest_cart_id: uuid.UUID
) -> Cart:
    """Merge a guest cart into the account's cart, then delete the guest cart. The merge
    keeps to the cart limits: what would exceed them stays behind."""
    # Locked first, so a checkout of the same guest cart cannot run at the same time.
    guest = await session.get(
        Cart, guest_cart_id, with_for_update=True, populate_existing=True,
        options=[selectinload(Cart.lines)],
    )  # fmt: skip
    if guest is None or guest.account_id is not None:
        raise CartNotFound()
    cart = await account_cart(session, account)
    existing = {
        line.variant_id: line
        for line in await session.scalars(select(CartLine).where(CartLine.cart_id == cart.id))
    }
    units = sum(line.quantity for line in existing.values())
    line_count = len(existing)
    for guest_line in guest.lines:
        variant = await session.get(Variant, guest_line.variant_id)
        stock_cap = variant.stock_on_hand if variant else 0
        if guest_line.variant_id in existing:
            line = existing[guest_line.variant_id]
            room = rules.max_units - units + line.quantity
            merged = max(
                line.quantity,
                min(line.quantity + guest_line.quantity, MAX_LINE_QUANTITY, stock_cap, room),
            )
            units += merged - line.quantity
            line.quantity = merged
        elif (
            line_count < rules.max_lines
            and (
                quantity := min(
                    guest_line.quantity, MAX_LINE_QUANTITY, stock_cap, rules.max_units - units
                )
            )
            > 0
        ):
            session.add(
                CartLine(cart_id=cart.id, variant_id=guest_line.variant_id, quantity=quantity)
            )
            units += quantity
            line_count += 1
    await session.delete(guest)
    cart.updated_at = utcnow()
    await session.flush()
    return cart


async def mark_checked_out(session: AsyncSession, cart: Cart) -> None:
    """The cart's lines became an order: empty it and say so."""
    await session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))
    cart.checked_out_at = utcnow()
    cart.updated_at = utcnow()


async def purge_abandoned(session: AsyncSession, *, days: int) -> int:
    """Delete guest carts untouched for `days` days."""
    cutoff = utcnow() - timedelta(days=days)
    result = await session.execute(
        delete(Cart).where(Cart.account_id.is_(None), Cart.updated_at < cutoff)
    )
    return rows_affected(result)
