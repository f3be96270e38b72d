"""The orders domain's personal-data handler (the registry in app/privacy/registry.py).

Orders are kept after an erasure, anonymized: bookkeeping and tax law need what was
sold, for how much, when, and to which country. Names, email, phone, street, the
referral code, staff notes and tracking numbers go; the order token stops working;
the account link goes last, so until then the order is still found through it.

Open orders: an unpaid order no payment was started for is cancelled and its stock
released. An order being paid (a payment intent exists) or paid and not yet shipped
is refused with 409 `erasure-blocked-by-open-order` until it completes: cancelling
would mean a refund at the processor from inside the erasure, and a customer who
wants the jewelry would lose it. They cancel the order themselves or wait for it to
ship, then ask again.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.db import rows_affected
from app.core.security import hash_token
from app.orders.fulfilment import NOTHING_TO_GIVE_BACK, record_cancellation
from app.orders.models import Order, OrderEvent, OrderStatus, Shipment
from app.privacy.errors import ErasureBlockedByOpenOrder
from app.privacy.registry import ErasureResult, Kept, Subject

ERASED = "erased"
# Fields of the shipping address that stay: the country decides the tax.
KEPT_ADDRESS_FIELDS = frozenset({"country"})
PAYMENT_HOLDS = ["amount", "currency", "order reference"]
CARRIER_HOLDS = ["full name", "shipping address", "phone"]


def erased_email(order: Order) -> str:
    return f"{ERASED}+{order.id.hex}@{ERASED}.invalid"


def _processors(order: Order) -> list[dict[str, Any]]:
    """Which processors received which of this order's data."""
    held = []
    if order.payment_intent_id is not None:
        held.append({"processor": order.payment_provider, "role": "payment", "data": PAYMENT_HOLDS})
    held.extend(
        {"processor": shipment.carrier, "role": "shipping", "data": CARRIER_HOLDS}
        for shipment in order.shipments
    )
    return held


class OrdersPersonalData:
    name = "orders"
    tables = frozenset({"orders", "order_lines", "order_events", "shipments", "payment_events"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        """The account's orders, and guest orders placed with a verified address (an
        account's orders are its own: proving an address does not reach them)."""
        found = []
        if subject.account_id is not None:
            found.append(Order.account_id == subject.account_id)
        if subject.verified_emails:
            found.append(
                func.lower(Order.email).in_(sorted(subject.verified_emails))
                & Order.account_id.is_(None)
            )
        if not found:
            return
        query = select(Order.id, Order.email, Order.phone, Order.shipping_address)
        for order_id, email, phone, address in await session.execute(query.where(or_(*found))):
            subject.order_ids.add(order_id)
            subject.add_address(email)
            subject.add_term(phone)
            subject.add_term((address or {}).get("full_name"))
            subject.add_term((address or {}).get("line1"))

    async def _orders(self, session: AsyncSession, subject: Subject) -> list[Order]:
        if not subject.order_ids:
            return []
        eager = selectinload(Order.lines), selectinload(Order.shipments)
        query = select(Order).where(Order.id.in_(subject.order_ids)).options(*eager)
        return list(await session.scalars(query.order_by(Order.created_at, Order.id)))

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        orders = await self._orders(session, subject)
        events: dict[Any, list[OrderEvent]] = {}
        if orders:
            query = select(OrderEvent).where(OrderEvent.order_id.in_([o.id for o in orders]))
            for event in await session.scalars(query.order_by(OrderEvent.created_at)):
                events.setdefault(event.order_id, []).append(event)
        return {
            "orders": [
                {
                    "id": order.id,
                    "number": order.number,
                    "status": order.status.value,
                    "email": order.email,
                    "phone": order.phone,
                    "shipping_address": order.shipping_address,
                    "referral_code": order.referral_code,
                    "currency": order.currency,
                    "total_minor": order.total_minor,
                    "created_at": order.created_at,
                    "lines": [
                        {
                            "product_name": line.product_name,
                            "sku": line.sku,
                            "options": line.options,
                            "quantity": line.quantity,
                            "unit_price_minor": line.unit_price_minor,
                        }
                        for line in order.lines
                    ],
                    "events": [
                        {
                            "from_status": e.from_status,
                            "to_status": e.to_status,
                            "actor": e.actor,
                            "note": e.note,
                            "at": e.created_at,
                        }
                        for e in events.get(order.id, [])
                    ],
                    "shipments": [
                        {
                            "carrier": s.carrier,
                            "service": s.service,
                            "tracking_number": s.tracking_number,
                            "created_at": s.created_at,
                        }
                        for s in order.shipments
                    ],
                    "processors": _processors(order),
                }
                for order in orders
            ]
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        """Refuse while an order is being paid or is paid and not yet shipped."""
        for order in await self._orders(session, subject):
            paying = order.status == OrderStatus.pending_payment and order.payment_intent_id
            if paying or order.status == OrderStatus.paid:
                raise ErasureBlockedByOpenOrder(order_number=order.number)

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        orders = await self._orders(session, subject)
        for order in orders:
            if order.status == OrderStatus.pending_payment:
                await record_cancellation(
                    session, order, NOTHING_TO_GIVE_BACK, actor="customer",
                    note="cancelled by an erasure request",
                )  # fmt: skip
        ids = [order.id for order in orders]
        if not ids:
            return result
        for order in orders:
            address = order.shipping_address or {}
            anonymous = {k: (v if k in KEPT_ADDRESS_FIELDS else ERASED) for k, v in address.items()}
            await session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(
                    email=erased_email(order), phone=None, shipping_address=anonymous,
                    referral_code=None,
                    # A hash of a token nobody holds: the guest order token stops working.
                    order_token_hash=hash_token(secrets.token_urlsafe(32)),
                )
                .execution_options(synchronize_session=False)
            )  # fmt: skip
        notes = await session.execute(
            update(OrderEvent)
            .where(OrderEvent.order_id.in_(ids), OrderEvent.note.is_not(None))
            .values(note=None)
        )
        await session.execute(
            update(Shipment).where(Shipment.order_id.in_(ids)).values(tracking_number=ERASED)
        )
        # Last: the account link, once everything it leads to is handled.
        await session.execute(update(Order).where(Order.id.in_(ids)).values(account_id=None))
        result.count_anonymized("orders", len(ids))
        result.count_anonymized("order_events", rows_affected(notes))
        result.kept.append(
            Kept(
                what=f"{len(ids)} order(s): lines, totals, dates, status and country",
                why="bookkeeping and tax law require the record of each sale; "
                "nothing in it names you any more",
            )
        )
        if any(order.payment_intent_id for order in orders):
            result.kept.append(
                Kept(
                    what="the payment processor's record of each payment "
                    "(amount, currency, order reference)",
                    why="the processor keeps payment records under its own legal duties; "
                    "it holds no name or address from us",
                )
            )
        if any(order.shipments for order in orders):
            result.kept.append(
                Kept(
                    what="the carrier's delivery records (name, address, phone)",
                    why="the carrier keeps them under its own retention rules; "
                    "we cannot delete them there",
                )
            )
        return result
