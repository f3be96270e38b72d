"""Paying for an order, and applying the processor's webhook events.

No processor call runs while this transaction holds a lock on the order: the order is
read, the processor called, and only then are the results written, each write
conditional on what was read (see `transition`). Concurrent requests are kept apart by
the processor's idempotency keys and by deciding from the processor's own state.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
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
    PaymentMethod,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
    is_provisional,
    payment_method_fingerprint,
)
from app.core.db import utcnow
from app.core.errors import TooManyRequests
from app.core.settings import Settings
from app.orders import fulfilment
from app.orders.errors import (
    IllegalTransition,
    InvalidWebhookProblem,
    PaymentAttemptsExhausted,
    PaymentDeclinedProblem,
    PaymentMethodNotAccepted,
    PaymentOutcomeUnknown,
    PaymentProviderUnavailable,
    PaymentRejectedProblem,
    PaymentUnderReview,
)
from app.orders.models import Order, OrderStatus, PaymentEventRecord, PaymentState
from app.orders.schemas import CustomerAction
from app.orders.service import (
    apply_intent,
    flag_for_review,
    get_accessible_order,
    load_order,
    notify,
    transition,
)

log = logging.getLogger("facet.payments")

HELD_NOTE = "payment held for review by the processor's fraud filters"

# A card tester's order gets one "payment failed" email an hour, however many declines.
FAILURE_EMAIL_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class PaymentAttempts:
    """This attempt's place in the throttling windows, counted before the request read
    the database (the counters may write in their own transaction)."""

    on_order: int
    order_resets_in: int
    from_address: int
    address_resets_in: int


@dataclass(frozen=True)
class PaymentOutcome:
    order: Order
    customer_action: CustomerAction | None = None


def intent_key(order: Order) -> str:
    return f"order-{order.id}-intent"


def confirm_key(order: Order, payment_method: PaymentMethod) -> str:
    # Same order, attempt and method -> same key: a retry after a timeout replays the
    # first outcome at the processor instead of charging again.
    method = payment_method_fingerprint(payment_method)
    return f"order-{order.id}-confirm-{order.payment_attempt}-{method}"


async def _check_attempts(
    session: AsyncSession,
    provider: PaymentProvider,
    settings: Settings,
    order: Order,
    attempts: PaymentAttempts,
    *,
    actor: str,
) -> None:
    """Card testing: throttle attempts per order and per address; at the hard cap the
    order is cancelled, which releases its stock and voids anything the processor holds."""
    cap = settings.payment_attempts_cancel_order_at
    if attempts.on_order >= cap or order.payment_attempt >= cap:
        await fulfilment.cancel(
            session, provider, order, actor=actor, note="too many payment attempts"
        )
        raise PaymentAttemptsExhausted(
            "This order had too many payment attempts and has been cancelled."
        )
    if attempts.on_order > settings.payment_attempts_per_order:
        raise TooManyRequests(
            attempts.order_resets_in, "Too many payment attempts for this order; try later."
        )
    if attempts.from_address > settings.payment_attempts_per_address:
        raise TooManyRequests(attempts.address_resets_in, "Too many payment attempts; try later.")


async def pay(
    session: AsyncSession,
    provider: PaymentProvider,
    settings: Settings,
    actor: Account | None,
    order_token: str | None,
    order_id: uuid.UUID,
    *,
    payment_method: PaymentMethod,
    attempts: PaymentAttempts,
) -> PaymentOutcome:
    """Confirm the order's payment with what the processor's form gave the buyer: a
    payment-method token (Stripe) or opaque card data (Authorize.Net)."""
    if not isinstance(payment_method, provider.accepts):
        raise PaymentMethodNotAccepted(
            "Send `opaque_data` from Accept.js."
            if provider.accepts is not str
            else "Send `payment_method`, the processor's payment-method token."
        )
    order = await get_accessible_order(session, order_id, actor, order_token)
    if order.status != OrderStatus.pending_payment or order.stock_released:
        raise IllegalTransition(f"An order that is {order.status.value} cannot be paid.")
    label = "customer" if actor else "guest"
    await _check_attempts(session, provider, settings, order, attempts, actor=label)
    intent_id = order.payment_intent_id
    try:
        if intent_id is None:
            created = await provider.create_intent(
                PaymentRequest(
                    order_id=str(order.id),
                    order_number=order.number,
                    amount_minor=order.total_minor,
                    currency=order.currency,
                    capture=CaptureMode(order.capture_mode),
                    idempotency_key=intent_key(order),
                )
            )
            intent_id = created.id
        intent = await provider.confirm(
            intent_id,
            payment_method=payment_method,
            idempotency_key=confirm_key(order, payment_method),
        )
    except PaymentDeclined as exc:
        await _remember_intent(session, order, intent_id)
        await _record_decline(session, order)
        raise PaymentDeclinedProblem(
            "The card was declined; try another payment method.", decline_code=exc.code
        ) from exc
    except PaymentUnavailable as exc:
        # Kept (the error commits), so the processor's webhook finds the order.
        await _remember_intent(session, order, intent_id)
        raise PaymentOutcomeUnknown() from exc
    except PaymentRejected as exc:
        settled = await _settled_intent(provider, intent_id)
        if settled is None:
            raise PaymentRejectedProblem() from exc
        # An earlier attempt whose answer was lost (a 503) went through: the intent can no
        # longer be confirmed because it is already paid.
        intent = settled
    # A processor without intents answers confirm with a new id (its transaction's).
    await _remember_intent(session, order, intent.id or intent_id)
    if intent.held_for_review:
        # Nothing is final until the merchant decides: the order stays payable-pending,
        # flagged for staff, and the processor's webhook completes or fails it.
        flag_for_review(order, HELD_NOTE)
        await session.flush()
        return PaymentOutcome(order)
    if intent.status == IntentStatus.requires_action and intent.client_secret:
        action = CustomerAction(
            type=intent.next_action or "use_stripe_sdk",
            client_secret=intent.client_secret,
            redirect_url=intent.redirect_url,
        )
        return PaymentOutcome(order, action)
    if not await apply_intent(session, order, intent, actor=label):
        raise PaymentUnderReview()
    return PaymentOutcome(order)


async def _remember_intent(session: AsyncSession, order: Order, intent_id: str | None) -> None:
    """Record the order's intent id, unless it has one already; a provisional id (which
    names nothing at the processor) gives way to the real one."""
    if intent_id is None or order.payment_intent_id == intent_id:
        return
    if order.payment_intent_id is not None and not is_provisional(order.payment_intent_id):
        return
    await session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            or_(
                Order.payment_intent_id.is_(None),
                Order.payment_intent_id == order.payment_intent_id,
            ),
        )
        .values(payment_intent_id=intent_id)
        .execution_options(synchronize_session=False)
    )
    order.payment_intent_id = intent_id


async def _forget_intent(session: AsyncSession, order: Order, intent_id: str | None) -> None:
    """A payment that ended with no money taken (declined after review): the order may be
    paid afresh, with a new intent."""
    if intent_id is None or order.payment_intent_id != intent_id:
        return
    await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.payment_intent_id == intent_id)
        .values(payment_intent_id=None)
        .execution_options(synchronize_session=False)
    )
    order.payment_intent_id = None


async def _record_decline(session: AsyncSession, order: Order) -> None:
    """Count the decline (a new attempt gets a new confirm key) and tell the buyer, at
    most once an hour: the address of a guest order is nobody's verified address."""
    order.payment_attempt = (
        await session.scalar(
            update(Order)
            .where(Order.id == order.id)
            .values(payment_attempt=Order.payment_attempt + 1)
            .returning(Order.payment_attempt)
            .execution_options(synchronize_session=False)
        )
        or order.payment_attempt + 1
    )
    now = utcnow()
    claimed = await session.scalar(
        update(Order)
        .where(
            Order.id == order.id,
            or_(
                Order.payment_failure_notified_at.is_(None),
                Order.payment_failure_notified_at <= now - FAILURE_EMAIL_INTERVAL,
            ),
        )
        .values(payment_failure_notified_at=now)
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    )
    if claimed is None:
        return
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
    found = None
    if event.intent_id:
        found = await session.scalar(
            select(Order.id).where(Order.payment_intent_id == event.intent_id)
        )
    if found is None and event.metadata.get("order_number"):
        # The processor names the order by number only (Authorize.Net's invoice number):
        # adopt its transaction if the order awaits payment with no real intent yet.
        candidate = await session.scalar(
            select(Order.id).where(
                Order.number == event.metadata["order_number"],
                Order.status == OrderStatus.pending_payment,
            )
        )
        if candidate is not None and event.intent_id:
            order = await load_order(session, candidate)
            if order.payment_intent_id is None or is_provisional(order.payment_intent_id):
                await _remember_intent(session, order, event.intent_id)
                return order
    if found is None and event.order_id:
        # An intent whose id was never written (the process stopped mid-payment) still
        # names our order in its metadata; adopt it only if the order has no other.
        try:
            order_id = uuid.UUID(event.order_id)
        except ValueError:
            return None
        found = await session.scalar(
            select(Order.id).where(Order.id == order_id, Order.payment_intent_id.is_(None))
        )
        if found is not None and event.intent_id:
            order = await load_order(session, found)
            await _remember_intent(session, order, event.intent_id)
            return order
    if found is None:
        return None
    return await load_order(session, found)


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
        type=(event.raw_type or event.type.value)[:60],
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
    outcome = "applied"
    match event.type:
        case PaymentEventType.succeeded:
            if order.status == OrderStatus.cancelled:
                await _refund_late_payment(session, provider, order, event)
            elif not await apply_intent(
                session, order, _intent(event, IntentStatus.succeeded), actor="provider"
            ):
                outcome = "flagged"
        case PaymentEventType.authorized:
            if not await apply_intent(
                session, order, _intent(event, IntentStatus.requires_capture), actor="provider"
            ):
                outcome = "flagged"
        case PaymentEventType.held_for_review:
            if order.status == OrderStatus.pending_payment and HELD_NOTE not in (
                order.payment_review or ""
            ):
                flag_for_review(order, HELD_NOTE)
        case PaymentEventType.review_approved:
            outcome = await _apply_review_approval(session, provider, order, event)
        case PaymentEventType.failed if event.status == "review_declined":
            if order.status == OrderStatus.pending_payment:
                flag_for_review(order, "payment declined after the processor's review")
                await _forget_intent(session, order, event.intent_id)
        case PaymentEventType.refunded:
            await _apply_refund(session, order, event)
        case PaymentEventType.dispute_opened:
            order.payment_state = PaymentState.disputed
            flag_for_review(order, f"dispute opened ({event.status or 'unknown'})")
        case PaymentEventType.dispute_closed:
            _apply_dispute_closed(order, event)
        case _:
            pass
    await session.flush()
    return outcome


async def _apply_review_approval(
    session: AsyncSession, provider: PaymentProvider, order: Order, event: PaymentEvent
) -> str:
    """The merchant approved a held payment: what it became (charged, or authorized for a
    later capture) is the processor's transaction, read back and checked like any other."""
    if not event.intent_id:
        return "ignored"
    try:
        intent = await provider.retrieve(event.intent_id)
    except PaymentError as exc:  # the processor will resend the event
        raise PaymentProviderUnavailable() from exc
    if order.status == OrderStatus.cancelled:
        # The order expired or was cancelled while the payment was held: give it back.
        if intent.status == IntentStatus.succeeded:
            await _refund_late_payment(session, provider, order, event)
        elif intent.status == IntentStatus.requires_capture:
            try:
                await provider.cancel(intent.id, idempotency_key=f"order-{order.id}-late-void")
            except PaymentError as exc:
                raise PaymentProviderUnavailable() from exc
            order.payment_state = PaymentState.voided
        return "applied"
    if not await apply_intent(session, order, intent, actor="provider"):
        return "flagged"
    return "applied"


async def _refund_late_payment(
    session: AsyncSession, provider: PaymentProvider, order: Order, event: PaymentEvent
) -> None:
    """Money arrived for an order already cancelled (e.g. expired): give it back."""
    if order.payment_state == PaymentState.refunded:
        return
    try:
        refund = await provider.refund(
            event.intent_id or "", amount_minor=None,
            idempotency_key=f"order-{order.id}-late-refund",
        )  # fmt: skip
    except PaymentError as exc:  # the processor will resend the event
        raise PaymentProviderUnavailable() from exc
    order.payment_state = PaymentState.refunded
    order.amount_refunded_minor = max(order.amount_refunded_minor, refund.amount_minor)


async def _apply_refund(session: AsyncSession, order: Order, event: PaymentEvent) -> None:
    """A refund made at the processor (its dashboard, or ours): the charge's running total
    is authoritative, so events applied out of order settle on the newest."""
    if event.amount_minor is None:
        return
    refunded = max(order.amount_refunded_minor, event.amount_minor)
    order.amount_refunded_minor = refunded
    if order.payment_state == PaymentState.disputed:
        return  # the dispute decides what ships; the refund is still counted
    full = refunded >= order.total_minor or event.status == "refunded"
    order.payment_state = PaymentState.refunded if full else PaymentState.partially_refunded
    if full and order.status in (OrderStatus.shipped, OrderStatus.delivered):
        await transition(
            session, order, OrderStatus.refunded, actor="provider",
            note="refunded at the processor",
        )  # fmt: skip
    elif full and order.status == OrderStatus.paid:
        # Not cancelled on our own initiative: staff or the buyer cancel it (no further
        # processor call), while shipping is refused.
        flag_for_review(order, "refunded at the processor before shipping")


def _apply_dispute_closed(order: Order, event: PaymentEvent) -> None:
    if order.payment_state != PaymentState.disputed:
        return
    if event.status == "won":
        order.payment_state = (
            PaymentState.partially_refunded
            if order.amount_refunded_minor
            else PaymentState.captured
        )
        flag_for_review(order, "dispute won")
    else:
        # Lost (or closed otherwise): the money went back to the buyer's bank; the order
        # stays disputed so nothing ships, and staff settle it.
        flag_for_review(order, f"dispute closed ({event.status or 'unknown'})")


def _intent(event: PaymentEvent, status: IntentStatus) -> PaymentIntent:
    """The event's view of the intent. A missing amount or currency is not assumed to be
    the order's: it fails the amount check."""
    amount = event.amount_minor or 0
    return PaymentIntent(
        id=event.intent_id or "",
        status=status,
        amount_minor=amount,
        currency=event.currency or "",
        amount_received_minor=amount if status == IntentStatus.succeeded else 0,
        amount_capturable_minor=amount if status == IntentStatus.requires_capture else 0,
    )
