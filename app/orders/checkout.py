"""Checkout: turn a cart into an order, reserving stock atomically.

A cart becomes at most one order: checkout locks the cart row before reading its
lines and empties it in the same transaction, so concurrent checkouts of one cart
(from any number of API processes) queue on that lock, and every one after the
first finds the cart already checked out (409 `cart-checked-out`).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.accounts.service import normalize_email, require_adult
from app.carts import service as carts
from app.carts.errors import CartCheckedOut, CartEmpty, VariantUnavailable
from app.carts.pricing import CartRules
from app.catalog import repository as catalog
from app.core.db import utcnow
from app.core.errors import AgeRestricted
from app.core.security import hash_token, new_secret_token
from app.core.settings import Settings
from app.orders.errors import OutOfStock
from app.orders.models import Order, OrderLine, OrderStatus, PaymentState
from app.orders.schemas import CheckoutRequest
from app.orders.service import load_order, record_creation
from app.privacy import consent
from app.privacy.consent_models import ConsentSource, Purpose
from app.privacy.subjects import account_subject
from app.referrals import service as referrals

# Crockford's alphabet: no I, L, O or U to misread over the phone.
NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_order_number() -> str:
    return "FJ-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def check_adult(data: CheckoutRequest) -> None:
    """P9, before anything is stored: a date of birth of 18+ or an explicit attestation."""
    if data.date_of_birth is not None:
        require_adult(data.date_of_birth)
    elif data.is_adult is not True:
        raise AgeRestricted("Facet does not sell to persons under 18.")


async def checkout(
    session: AsyncSession,
    settings: Settings,
    rules: CartRules,
    actor: Account | None,
    data: CheckoutRequest,
) -> tuple[Order, str]:
    """Create an order from a cart. Returns the order and its one-time access token."""
    check_adult(data)
    cart = await carts.get_cart(session, data.cart_id, actor, for_update=True)
    lines = await carts.priced_lines(session, cart)
    if not lines:
        if cart.checked_out_at is not None:
            raise CartCheckedOut("Its order was placed; see your orders or your confirmation.")
        raise CartEmpty("Add something to the cart first.")
    for priced in lines:
        if not (priced.product.is_published and priced.variant.is_active):
            raise VariantUnavailable(
                f"{priced.product.name} is no longer for sale.", variant_id=str(priced.variant.id)
            )
    carts.check_limits(lines, rules)
    # Priced before anything is written: a refused cart leaves no trace.
    totals = carts.totals_of(lines, rules, country=data.shipping_address.country)
    number = new_order_number()

    # Lock rows in a fixed order so concurrent multi-line checkouts cannot deadlock.
    for priced in sorted(lines, key=lambda p: p.variant.id):
        remaining = await catalog.reserve_stock(
            session, priced.variant.id, priced.line.quantity, note=f"order {number}"
        )
        if remaining is None:
            raise OutOfStock(
                f"{priced.product.name} ({priced.variant.sku}) sold out.",
                variant_id=str(priced.variant.id),
                sku=priced.variant.sku,
            )

    order_lines = [
        OrderLine(
            variant_id=p.variant.id,
            product_id=p.product.id,
            product_name=p.product.name,
            sku=p.variant.sku,
            options={
                k: v
                for k, v in (
                    ("ring_size", p.variant.ring_size),
                    ("chain_length_cm", p.variant.chain_length_cm),
                    ("metal", p.variant.metal.value if p.variant.metal else None),
                )
                if v is not None
            },
            unit_price_minor=p.variant.price_minor,
            quantity=p.line.quantity,
            line_total_minor=p.line_total_minor,
            position=position,
        )
        for position, p in enumerate(lines)
    ]
    token = new_secret_token()
    shipping = data.shipping_address.model_dump()
    order = Order(
        account_id=actor.id if actor else None,
        status=OrderStatus.pending_payment,
        email=normalize_email(data.email),
        phone=data.phone,
        shipping_address=shipping,
        referral_code=data.referral_code,
        order_token_hash=hash_token(token),
        currency=totals.currency,
        subtotal_minor=totals.subtotal_minor,
        shipping_minor=totals.shipping_minor,
        tax_minor=totals.tax_minor,
        total_minor=totals.total_minor,
        capture_mode=settings.payment_capture.value,
        payment_provider=settings.payment_provider.value,
        payment_state=PaymentState.none,
        reserved_until=utcnow() + timedelta(minutes=settings.order_reservation_minutes),
        lines=order_lines,
        shipments=[],
    )
    # 32^8 numbers: a collision is about as likely as a guessed token, and the unique
    # constraint turns one into a failed (rolled back) request rather than a duplicate.
    order.number = number
    session.add(order)
    await session.flush()
    record_creation(session, order, actor="customer" if actor else "guest")
    if data.marketing_opt_in:  # P2: the ledger, not the order, holds the choice
        choice = {Purpose.marketing_email: True}
        if actor is not None:
            await consent.record(
                session, account_subject(actor.id), choice, source=ConsentSource.checkout
            )
        else:  # joins an account once that account verifies this address
            await consent.record_for_email(
                session, settings, order.email, choice, source=ConsentSource.checkout
            )
    await referrals.record_conversion(
        session, settings, code=data.referral_code, email=order.email, via="checkout"
    )
    await carts.mark_checked_out(session, cart)
    await session.flush()
    return order, token


async def reissue_token(session: AsyncSession, order_id: uuid.UUID) -> tuple[Order, str | None]:
    """A replayed checkout (same caller, key and body): the stored answer never held the
    token, so while the order still awaits payment a fresh one is issued and replaces the
    old (a guest whose first answer was lost can still pay; only the latest token works).
    Once the order has moved on, the replay answers without a token."""
    order = await load_order(session, order_id, for_update=True)
    if order.status != OrderStatus.pending_payment:
        return order, None
    token = new_secret_token()
    order.order_token_hash = hash_token(token)
    await session.flush()
    return order, token
