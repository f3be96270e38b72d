"""After payment: ship, deliver, cancel, refund, expire unpaid orders, and tracking."""

from __future__ import annotations

import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Account
from app.accounts.service import normalize_email
from app.adapters.payments.base import (
    IntentStatus,
    PaymentDeclined,
    PaymentError,
    PaymentIntent,
    PaymentProvider,
    PaymentRejected,
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
    OrderChangedMeanwhile,
    OrderNotFound,
    PaymentDeclinedProblem,
    PaymentNotShippable,
    PaymentProviderUnavailable,
    PaymentRejectedProblem,
)
from app.orders.models import Order, OrderStatus, PaymentState, Shipment
from app.orders.schemas import ShipmentRead, TrackingEventRead, TrackingRead
from app.orders.service import (
    apply_intent,
    flag_for_review,
    load_order,
    money,
    notify,
    transition,
)

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


@dataclass(frozen=True)
class MoneyBack:
    """What giving the money back did at the processor."""

    state: PaymentState
    refunded_minor: int = 0  # added by this refund
    called_processor: bool = True


NOTHING_TO_GIVE_BACK = MoneyBack(PaymentState.none, called_processor=False)


def _nothing_left(order: Order) -> bool:
    return order.payment_state in (PaymentState.voided, PaymentState.refunded) or (
        order.payment_state == PaymentState.partially_refunded
        and order.amount_refunded_minor >= order.total_minor
    )


async def give_money_back(provider: PaymentProvider, order: Order) -> MoneyBack:
    """Void or refund, decided from the processor's own state (`retrieve`): the database
    can lag it (a capture whose record was lost, a refund made in the dashboard). Only
    calls the processor; the caller records the result. Nothing held or left to refund:
    no call at all."""
    intent_id = order.payment_intent_id
    if intent_id is None:
        return NOTHING_TO_GIVE_BACK
    if _nothing_left(order):
        return MoneyBack(order.payment_state, called_processor=False)
    # Two rounds: a void can lose the race to a confirm that just charged; then refund.
    for _ in range(2):
        intent = await _provider_call(provider.retrieve(intent_id))
        match intent.status:
            case IntentStatus.canceled:
                return MoneyBack(PaymentState.voided)
            case IntentStatus.succeeded:
                remaining = intent.amount_received_minor - order.amount_refunded_minor
                if remaining <= 0:
                    return MoneyBack(PaymentState.refunded)
                await _provider_call(
                    provider.refund(
                        intent_id, amount_minor=remaining,
                        idempotency_key=f"order-{order.id}-refund-{remaining}",
                    )
                )  # fmt: skip
                return MoneyBack(PaymentState.refunded, refunded_minor=remaining)
            case IntentStatus.processing if not intent.held_for_review:
                # The processor is still deciding: neither a void nor a refund applies yet.
                raise PaymentProviderUnavailable()
            case _:
                # Held (requires_capture, or by the processor's fraud review) or still
                # payable: cancel the intent, so a late confirm or approval cannot charge a
                # cancelled order.
                try:
                    await provider.cancel(intent_id, idempotency_key=f"order-{order.id}-void")
                except PaymentRejected:
                    continue  # its state moved meanwhile: look again
                except PaymentError as exc:
                    raise PaymentProviderUnavailable() from exc
                return MoneyBack(PaymentState.voided)
    raise PaymentRejectedProblem()


def record_money_back(order: Order, result: MoneyBack) -> None:
    if not result.called_processor:
        return
    order.payment_state = result.state
    order.amount_refunded_minor += result.refunded_minor


def check_cancellable(order: Order) -> None:
    if order.status not in (OrderStatus.pending_payment, OrderStatus.paid):
        raise IllegalTransition(f"An order that is {order.status.value} cannot be cancelled.")
    if order.payment_state == PaymentState.disputed:
        # The processor refuses refunds of a disputed charge; staff settle the dispute.
        raise IllegalTransition("An order whose payment is disputed cannot be cancelled.")


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
    check_cancellable(order)
    result = await give_money_back(provider, order)
    await record_cancellation(
        session, order, result, actor=actor, actor_account=actor_account, note=note
    )
    return order


async def record_cancellation(
    session: AsyncSession,
    order: Order,
    result: MoneyBack,
    *,
    actor: str,
    actor_account: Account | None = None,
    note: str | None = None,
) -> None:
    """Write a cancellation whose money was given back (`result`). The status move is
    conditional: when another request moved the order first, the money movement is still
    recorded and the order flagged, and the request answers 409 (committed)."""
    was_paid = order.status == OrderStatus.paid
    record_money_back(order, result)
    moved = await transition(
        session, order, OrderStatus.cancelled, actor=actor, actor_account=actor_account,
        note=note, cancelled_at=utcnow(),
    )  # fmt: skip
    if not moved:
        if result.called_processor:
            flag_for_review(order, f"money given back ({result.state.value}) by a cancel "
                            "that lost a race")  # fmt: skip
            await session.flush()
        raise OrderChangedMeanwhile()
    await _release_stock(session, order)
    if was_paid:
        for line in order.lines:
            await catalog.add_units_sold(session, line.product_id, -line.quantity)
    refunded = order.payment_state in (PaymentState.refunded, PaymentState.partially_refunded)
    notify(
        session,
        order,
        "order_cancelled",
        "Your order is cancelled",
        [
            "Your order has been cancelled.",
            f"We refunded {money(order.amount_refunded_minor, order.currency)} to your card."
            if refunded
            else "Nothing was charged to your card.",
        ],
    )


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


SHIPPABLE_PAYMENTS = (
    PaymentState.captured,
    PaymentState.authorized,
    # A partial refund (a goodwill adjustment) leaves the rest of the order to ship.
    PaymentState.partially_refunded,
)


def check_shippable(order: Order) -> None:
    """Every precondition of shipping, checked before anything leaves the process: a
    carrier label costs money and cannot be taken back by a rollback."""
    if order.status != OrderStatus.paid:
        raise IllegalTransition(f"An order that is {order.status.value} cannot be shipped.")
    if order.payment_state not in SHIPPABLE_PAYMENTS:
        raise PaymentNotShippable(
            f"An order whose payment is {order.payment_state.value} cannot be shipped."
        )
    if order.payment_intent_id is None and order.payment_state == PaymentState.authorized:
        raise PaymentNotShippable("The held payment has no processor reference to capture.")


async def _capture(provider: PaymentProvider, order: Order) -> None:
    """Capture a held payment. A capture refused because it already happened (an earlier
    answer lost, or a ship that failed at the carrier) counts as done."""
    intent_id = order.payment_intent_id or ""
    try:
        await provider.capture(intent_id, idempotency_key=f"order-{order.id}-capture")
    except PaymentRejected as exc:
        current = await _provider_call(provider.retrieve(intent_id))
        if current.status != IntentStatus.succeeded:
            raise PaymentRejectedProblem() from exc
    except PaymentUnavailable as exc:
        raise PaymentProviderUnavailable() from exc
    except PaymentError as exc:
        raise PaymentRejectedProblem() from exc


async def _record_capture(session: AsyncSession, order: Order, captured: bool) -> None:
    if captured:
        order.payment_state = PaymentState.captured
        await session.flush()


async def ship(
    session: AsyncSession,
    provider: PaymentProvider,
    carrier: ShippingCarrier,
    order: Order,
    *,
    staff: Account,
) -> Order:
    """Capture a held payment if needed, book the shipment with the carrier, mark shipped.

    With manual capture the money is taken before the label is bought. Nothing is
    written before the calls leave the process (no row lock is held across them); a
    carrier failure records the capture and answers with an error that commits, so the
    order shows `captured` though the request fails. A process lost between the two is
    covered as well: a retried capture counts as done, and cancel and refund decide from
    the processor's state, not the row.
    """
    check_shippable(order)
    captured = order.payment_state == PaymentState.authorized
    if captured:
        await _capture(provider, order)
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
        await _record_capture(session, order, captured)
        raise CarrierUnavailable() from exc
    except ShippingRejected as exc:
        await _record_capture(session, order, captured)
        raise CarrierRejected(str(exc)) from exc
    await _record_capture(session, order, captured)
    shipment = Shipment(
        order_id=order.id,
        carrier=booked.carrier,
        service=booked.service,
        tracking_number=booked.tracking_number,
    )
    session.add(shipment)
    moved = await transition(
        session, order, OrderStatus.shipped, actor="staff", actor_account=staff,
        shipped_at=utcnow(),
    )  # fmt: skip
    if not moved:
        # Cancelled (or shipped) by another request while the carrier was asked: keep the
        # label on record so staff can void it with the carrier.
        flag_for_review(order, f"label {booked.tracking_number} bought for an order that "
                        "changed meanwhile: void it with the carrier")  # fmt: skip
        await session.flush()
        raise OrderChangedMeanwhile()
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
    if order.payment_state == PaymentState.disputed:
        raise IllegalTransition("An order whose payment is disputed cannot be refunded.")
    result = await give_money_back(provider, order)
    record_money_back(order, result)
    moved = await transition(
        session, order, OrderStatus.refunded, actor="staff", actor_account=staff, note=note
    )
    if not moved:
        flag_for_review(order, "refund given by a request that lost a race")
        await session.flush()
        raise OrderChangedMeanwhile()
    notify(
        session,
        order,
        "order_refunded",
        "Your refund is on its way",
        [f"We refunded {money(order.amount_refunded_minor, order.currency)} to your card."],
    )
    return order


# A failed void is retried after this, behind every other due order.
EXPIRY_RETRY_DELAY = timedelta(minutes=5)


async def expire_unpaid(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: PaymentProvider,
    *,
    limit: int = 100,
) -> int:
    """Cancel orders whose payment window passed, releasing their stock, oldest first.

    Each order is read, settled with the processor outside any transaction, and written
    in its own short transaction, so no lock is held across a processor call. An order
    whose void fails is pushed back (`expiry_retry_at`) instead of heading every batch.
    """
    now = utcnow()
    async with sessionmaker() as session:
        due = list(
            await session.scalars(
                select(Order.id)
                .where(
                    Order.status == OrderStatus.pending_payment,
                    Order.reserved_until < now,
                    or_(Order.expiry_retry_at.is_(None), Order.expiry_retry_at <= now),
                )
                .order_by(Order.reserved_until, Order.id)
                .limit(limit)
            )
        )
    expired = 0
    for order_id in due:
        try:
            expired += await _expire_one(sessionmaker, provider, order_id)
        except (PaymentProviderUnavailable, PaymentRejectedProblem, OrderChangedMeanwhile):
            log.warning("could not expire an order", extra={"order_id": str(order_id)})
            async with sessionmaker() as session, session.begin():
                await session.execute(
                    update(Order)
                    .where(Order.id == order_id)
                    .values(expiry_retry_at=utcnow() + EXPIRY_RETRY_DELAY)
                )
    return expired


async def _expire_one(
    sessionmaker: async_sessionmaker[AsyncSession], provider: PaymentProvider, order_id: uuid.UUID
) -> int:
    async with sessionmaker() as session:
        order = await load_order(session, order_id)
    if order.status != OrderStatus.pending_payment:
        return 0
    taken = await _money_taken(provider, order)
    if taken is not None:
        # The buyer paid in time and only the answer or the webhook was lost: record the
        # payment (amount checked) rather than refund it.
        async with sessionmaker() as session, session.begin():
            order = await load_order(session, order_id)
            await apply_intent(session, order, taken, actor="system")
        return 0
    result = await give_money_back(provider, order)
    async with sessionmaker() as session, session.begin():
        order = await load_order(session, order_id)
        if order.status != OrderStatus.pending_payment:
            return 0
        await record_cancellation(
            session, order, result, actor="system", note="payment window expired"
        )
    return 1


async def _money_taken(provider: PaymentProvider, order: Order) -> PaymentIntent | None:
    if order.payment_intent_id is None:
        return None
    intent = await _provider_call(provider.retrieve(order.payment_intent_id))
    if intent.status in (IntentStatus.succeeded, IntentStatus.requires_capture):
        return intent
    return None


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
