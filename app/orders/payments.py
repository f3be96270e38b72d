"""Paying for an order, and applying the processor's webhook events."""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.adapters.payments.base import (
    CaptureMode,
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentEvent,
    PaymentEventType,
    PaymentIntent,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from app.catalog import repository as catalog
from app.core.db import utcnow
from app.orders.errors import (
    IllegalTransition,
    InvalidWebhookProblem,
    PaymentDeclinedProblem,
    PaymentOutcomeUnknown,
    PaymentProviderUnavailable,
    PaymentRejectedProblem,
)
from app.orders.models import Order, OrderStatus, PaymentEventRecord, PaymentState
from app.orders.service import get_accessible_order, load_order, money, notify, transition

log = logging.getLogger("facet.payments")


def intent_key(order: Order) -> str:
    return f"order-{order.id}-intent"


def confirm_key(order: Order, payment_method: str) -> str:
    # Same order, attempt and method -> same key: a retry after a timeout replays the
    # first outcome at the processor instead of charging again.
    method = hashlib.sha256(payment_method.encode()).hexdigest()[:12]
    return f"order-{order.id}-confirm-{order.payment_attempt}-{method}"


async def _mark_paid(
    session: AsyncSession, order: Order, state: PaymentState, *, actor: str
) -> None:
    moved = await transition(
        session, order, OrderStatus.paid, actor=actor, payment_state=state, paid_at=utcnow()
    )
    if not moved:
        return
    for line in order.lines:
        await catalog.add_units_sold(session, line.product_id, line.quantity)
    items = "\n".join(
        f"- {line.quantity} x {line.product_name} ({line.sku})" for line in order.lines
    )
    notify(
        session,
        order,
        "order_confirmation",
        "Thank you for your order",
        [
            f"We have received your payment of {money(order.total_minor, order.currency)}.",
            f"Your order:\n{items}",
            "It ships free, in our gift box. We will email the tracking number when it leaves.",
        ],
    )


async def apply_intent(
    session: AsyncSession, order: Order, intent: PaymentIntent, *, actor: str
) -> None:
    if intent.status == IntentStatus.succeeded:
        if order.status == OrderStatus.pending_payment:
            await _mark_paid(session, order, PaymentState.captured, actor=actor)
        elif (
            order.status != OrderStatus.cancelled and order.payment_state == PaymentState.authorized
        ):
            order.payment_state = PaymentState.captured
    elif (
        intent.status == IntentStatus.requires_capture
        and order.status == OrderStatus.pending_payment
    ):
        await _mark_paid(session, order, PaymentState.authorized, actor=actor)


async def pay(
    session: AsyncSession,
    provider: PaymentProvider,
    actor: Account | None,
    order_token: str | None,
    order_id: object,
    *,
    payment_method: str,
) -> Order:
    """Confirm the order's payment with a payment-method token from the processor."""
    order = await get_accessible_order(session, order_id, actor, order_token, for_update=True)  # type: ignore[arg-type]
    if order.status != OrderStatus.pending_payment or order.stock_released:
        raise IllegalTransition(f"An order that is {order.status.value} cannot be paid.")
    try:
        if order.payment_intent_id is None:
            intent = await provider.create_intent(
                PaymentRequest(
                    order_id=str(order.id),
                    order_number=order.number,
                    amount_minor=order.total_minor,
                    currency=order.currency,
                    capture=CaptureMode(order.capture_mode),
                    idempotency_key=intent_key(order),
                )
            )
            order.payment_intent_id = intent.id
            await session.flush()
        intent = await provider.confirm(
            order.payment_intent_id,
            payment_method=payment_method,
            idempotency_key=confirm_key(order, payment_method),
        )
    except PaymentDeclined as exc:
        order.payment_attempt += 1
        notify(
            session,
            order,
            "payment_failed",
            "Your payment did not go through",
            [
                "Your card was declined, so nothing was charged.",
                "Your items stay reserved for a while: you can pay with another card.",
            ],
        )
        raise PaymentDeclinedProblem(
            "The card was declined; try another payment method.", decline_code=exc.code
        ) from exc
    except PaymentUnavailable as exc:
        raise PaymentOutcomeUnknown() from exc
    except PaymentRejected as exc:
        settled = await _settled_intent(provider, order.payment_intent_id)
        if settled is None:
            raise PaymentRejectedProblem() from exc
        # An earlier attempt whose answer was lost (a 503) went through: the intent can no
        # longer be confirmed because it is already paid.
        intent = settled
    await apply_intent(session, order, intent, actor="customer" if actor else "guest")
    return order


async def _settled_intent(provider: PaymentProvider, intent_id: str | None) -> PaymentIntent | None:
    """The order's intent if the processor already holds or took the money, else None."""
    if intent_id is None:
        return None
    try:
        intent = await provider.retrieve(intent_id)
    except PaymentError:
        return None
    if intent.status in (IntentStatus.succeeded, IntentStatus.requires_capture):
        return intent
    return None


async def _order_for_event(session: AsyncSession, event: PaymentEvent) -> Order | None:
    if event.intent_id:
        found = await session.scalar(
            select(Order.id).where(Order.payment_intent_id == event.intent_id)
        )
        if found is not None:
            return await load_order(session, found, for_update=True)
    return None


async def handle_webhook(
    session: AsyncSession, provider: PaymentProvider, payload: bytes, signature: str | None
) -> str:
    """Verify, record once by event id, and apply. Events never move an order backwards."""
    try:
        event = provider.verify_webhook(payload, signature)
    except InvalidWebhook as exc:
        raise InvalidWebhookProblem() from exc
    order = await _order_for_event(session, event)
    record = PaymentEventRecord(
        provider=provider.name,
        event_id=event.id,
        type=event.raw_type or event.type.value,
        order_id=order.id if order else None,
    )
    try:
        # Added inside the savepoint, so a duplicate's rollback also drops it from the session.
        async with session.begin_nested():
            session.add(record)
            await session.flush()
    except IntegrityError:
        return "duplicate"
    if order is None:
        return "ignored"
    match event.type:
        case PaymentEventType.succeeded:
            if (
                order.status == OrderStatus.cancelled
                and order.payment_state != PaymentState.refunded
            ):
                # Money arrived for an order already cancelled (e.g. expired): give it back.
                try:
                    await provider.refund(
                        event.intent_id or "", amount_minor=None,
                        idempotency_key=f"order-{order.id}-late-refund",
                    )  # fmt: skip
                except PaymentError as exc:  # the processor will resend the event
                    raise PaymentProviderUnavailable() from exc
                order.payment_state = PaymentState.refunded
                order.amount_refunded_minor = order.total_minor
            else:
                await apply_intent(
                    session, order, _intent(event, IntentStatus.succeeded, order), actor="provider"
                )
        case PaymentEventType.authorized:
            await apply_intent(
                session, order, _intent(event, IntentStatus.requires_capture, order),
                actor="provider",
            )  # fmt: skip
        case PaymentEventType.refunded:
            if event.amount_minor is not None:
                order.amount_refunded_minor = max(order.amount_refunded_minor, event.amount_minor)
        case _:
            pass
    await session.flush()
    return "applied"


def _intent(event: PaymentEvent, status: IntentStatus, order: Order) -> PaymentIntent:
    return PaymentIntent(
        id=event.intent_id or "",
        status=status,
        amount_minor=event.amount_minor or order.total_minor,
        currency=order.currency,
    )
