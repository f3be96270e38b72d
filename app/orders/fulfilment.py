"""After payment: ship, deliver, cancel, refund, expire unpaid orders, and tracking."""

from __future__ import annotations

import hmac
import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.accounts.service import normalize_email
from app.adapters.payments.base import (
    PaymentDeclined,
    PaymentError,
    PaymentProvider,
    PaymentUnavailable,
)
from app.adapters.shipping.base import (
    Parcel,
    Recipient,
    ShippingCarrier,
    ShippingRejected,
    ShippingUnavailable,
)
from app.catalog import repository as catalog
from app.core.db import utcnow
from app.orders.errors import (
    CarrierRejected,
    CarrierUnavailable,
    IllegalTransition,
    OrderNotFound,
    PaymentDeclinedProblem,
    PaymentProviderUnavailable,
    PaymentRejectedProblem,
)
from app.orders.models import Order, OrderStatus, PaymentState, Shipment
from app.orders.schemas import ShipmentRead, TrackingEventRead, TrackingRead
from app.orders.service import load_order, money, notify, transition

log = logging.getLogger("facet.orders")

# Jewelry boxes are light; a nominal weight per item keeps carrier quotes sensible.
GRAMS_PER_ITEM = 150


async def _release_stock(session: AsyncSession, order: Order) -> None:
    if order.stock_released:
        return
    for line in order.lines:
        await catalog.release_stock(
            session, line.variant_id, line.quantity, note=f"order {order.number}"
        )
    order.stock_released = True


async def _provider_call(call):  # type: ignore[no-untyped-def]
    """Run a payment call, turning port errors into problems. Nothing in the database
    has changed yet when it fails, so the order stays as it was."""
    try:
        return await call
    except PaymentUnavailable as exc:
        raise PaymentProviderUnavailable() from exc
    except PaymentDeclined as exc:
        raise PaymentDeclinedProblem(str(exc), decline_code=exc.code) from exc
    except PaymentError as exc:
        raise PaymentRejectedProblem() from exc


async def _give_money_back(session: AsyncSession, provider: PaymentProvider, order: Order) -> None:
    intent = order.payment_intent_id
    if intent is None:
        return
    if order.payment_state in (PaymentState.none, PaymentState.authorized):
        await _provider_call(provider.cancel(intent, idempotency_key=f"order-{order.id}-void"))
        order.payment_state = PaymentState.voided
    elif order.payment_state == PaymentState.captured:
        remaining = order.total_minor - order.amount_refunded_minor
        await _provider_call(
            provider.refund(
                intent, amount_minor=remaining, idempotency_key=f"order-{order.id}-refund"
            )
        )
        order.payment_state = PaymentState.refunded
        order.amount_refunded_minor = order.total_minor


async def cancel(
    session: AsyncSession,
    provider: PaymentProvider,
    order: Order,
    *,
    actor: str,
    actor_account: Account | None = None,
    note: str | None = None,
) -> Order:
    """Cancel before shipment: void or refund the payment, release the stock."""
    if order.status not in (OrderStatus.pending_payment, OrderStatus.paid):
        raise IllegalTransition(f"An order that is {order.status.value} cannot be cancelled.")
    was_paid = order.status == OrderStatus.paid
    await _give_money_back(session, provider, order)
    await transition(
        session, order, OrderStatus.cancelled, actor=actor, actor_account=actor_account,
        note=note, cancelled_at=utcnow(),
    )  # fmt: skip
    await _release_stock(session, order)
    if was_paid:
        for line in order.lines:
            await catalog.add_units_sold(session, line.product_id, -line.quantity)
    refunded = order.payment_state == PaymentState.refunded
    notify(
        session,
        order,
        "order_cancelled",
        "Your order is cancelled",
        [
            "Your order has been cancelled.",
            f"We refunded {money(order.total_minor, order.currency)} to your card."
            if refunded
            else "Nothing was charged to your card.",
        ],
    )
    return order


def _recipient(order: Order) -> Recipient:
    address = order.shipping_address
    return Recipient(
        full_name=address["full_name"],
        line1=address["line1"],
        line2=address.get("line2"),
        city=address["city"],
        region=address.get("region"),
        postal_code=address["postal_code"],
        country=address["country"],
        phone=order.phone,
    )


async def ship(
    session: AsyncSession,
    provider: PaymentProvider,
    carrier: ShippingCarrier,
    order: Order,
    *,
    staff: Account,
) -> Order:
    """Capture a held payment if needed, book the shipment with the carrier, mark shipped."""
    if order.status != OrderStatus.paid:
        raise IllegalTransition(f"An order that is {order.status.value} cannot be shipped.")
    if order.payment_state == PaymentState.authorized and order.payment_intent_id:
        await _provider_call(
            provider.capture(order.payment_intent_id, idempotency_key=f"order-{order.id}-capture")
        )
        order.payment_state = PaymentState.captured
    parcel = Parcel(
        weight_grams=GRAMS_PER_ITEM * sum(line.quantity for line in order.lines),
        declared_value_minor=order.total_minor,
        currency=order.currency,
    )
    try:
        booked = await carrier.create_shipment(
            _recipient(order), parcel, reference=order.number,
            idempotency_key=f"order-{order.id}-ship",
        )  # fmt: skip
    except ShippingUnavailable as exc:
        raise CarrierUnavailable() from exc
    except ShippingRejected as exc:
        raise CarrierRejected(str(exc)) from exc
    shipment = Shipment(
        order_id=order.id,
        carrier=booked.carrier,
        service=booked.service,
        tracking_number=booked.tracking_number,
    )
    session.add(shipment)
    await transition(
        session, order, OrderStatus.shipped, actor="staff", actor_account=staff,
        shipped_at=utcnow(),
    )  # fmt: skip
    notify(
        session,
        order,
        "order_shipped",
        "Your order is on its way",
        [
            f"Your order has shipped with {booked.carrier.upper()}.",
            f"Tracking number: {booked.tracking_number}",
            "Track it any time with your order number and email address.",
        ],
    )
    await session.flush()
    return await load_order(session, order.id)


async def deliver(session: AsyncSession, order: Order, *, staff: Account) -> Order:
    await transition(
        session, order, OrderStatus.delivered, actor="staff", actor_account=staff,
        delivered_at=utcnow(),
    )  # fmt: skip
    return order


async def refund(
    session: AsyncSession,
    provider: PaymentProvider,
    order: Order,
    *,
    staff: Account,
    note: str | None,
) -> Order:
    """Staff refund: before shipment it is a cancellation; after, a return."""
    if order.status in (OrderStatus.pending_payment, OrderStatus.paid):
        return await cancel(session, provider, order, actor="staff", actor_account=staff, note=note)
    if order.status not in (OrderStatus.shipped, OrderStatus.delivered):
        raise IllegalTransition(f"An order that is {order.status.value} cannot be refunded.")
    await _give_money_back(session, provider, order)
    await transition(
        session, order, OrderStatus.refunded, actor="staff", actor_account=staff, note=note
    )
    notify(
        session,
        order,
        "order_refunded",
        "Your refund is on its way",
        [f"We refunded {money(order.total_minor, order.currency)} to your card."],
    )
    return order


async def expire_unpaid(
    session: AsyncSession, provider: PaymentProvider, *, limit: int = 100
) -> int:
    """Cancel orders whose payment window passed, releasing their stock."""
    due = list(
        await session.scalars(
            select(Order.id)
            .where(Order.status == OrderStatus.pending_payment, Order.reserved_until < utcnow())
            .limit(limit)
        )
    )
    expired = 0
    for order_id in due:
        order = await load_order(session, order_id, for_update=True)
        if order.status != OrderStatus.pending_payment:
            continue
        try:
            async with session.begin_nested():
                await cancel(session, provider, order, actor="system",
                             note="payment window expired")  # fmt: skip
        except (PaymentProviderUnavailable, PaymentRejectedProblem):
            log.warning("could not void an expired order", extra={"order_id": str(order.id)})
            continue
        expired += 1
    return expired


async def track(
    session: AsyncSession, carrier: ShippingCarrier, *, number: str, email: str
) -> TrackingRead:
    """Status and tracking events for an order number and email; the same 404 for either
    being wrong, so the endpoint cannot be used to learn whether an order exists."""
    order_id = await session.scalar(select(Order.id).where(Order.number == number.upper()))
    order = await load_order(session, order_id) if order_id else None
    if order is None or not hmac.compare_digest(
        order.email.encode(), normalize_email(email).encode()
    ):
        raise OrderNotFound("No order matches this number and email.")
    events: list[TrackingEventRead] = []
    for shipment in order.shipments:
        try:
            for event in await carrier.track(shipment.tracking_number):
                events.append(
                    TrackingEventRead(
                        occurred_at=event.occurred_at, status=event.status,
                        description=event.description, location=event.location,
                    )
                )  # fmt: skip
        except (ShippingUnavailable, ShippingRejected):
            log.warning("tracking unavailable", extra={"order_id": str(order.id)})
    return TrackingRead(
        number=order.number,
        status=order.status,
        shipments=[ShipmentRead.model_validate(s) for s in order.shipments],
        events=sorted(events, key=lambda e: e.occurred_at),
    )
