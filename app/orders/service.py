"""What every order use case shares: loading, access, transitions, views and emails."""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import Account, Role
from app.accounts.service import normalize_email
from app.adapters.payments.base import IntentStatus, PaymentIntent
from app.carts.schemas import TotalsRead
from app.catalog import repository as catalog
from app.core.db import rows_affected, utcnow
from app.core.pagination import paginate_by_creation
from app.core.security import hash_token
from app.orders.errors import IllegalTransition, OrderNotFound
from app.orders.models import Order, OrderEvent, OrderLine, OrderStatus, PaymentState
from app.orders.schemas import (
    AdminOrderRead,
    OrderContactUpdate,
    OrderEventRead,
    OrderLineRead,
    OrderRead,
    OrderSummary,
    PaymentRead,
    ShipmentRead,
)
from app.outbox.service import enqueue_email
from app.privacy.subjects import account_subject

S = OrderStatus
ALLOWED: dict[OrderStatus, set[OrderStatus]] = {
    S.pending_payment: {S.paid, S.cancelled},
    S.paid: {S.shipped, S.cancelled},
    S.shipped: {S.delivered, S.refunded},
    S.delivered: {S.refunded},
    S.cancelled: set(),
    S.refunded: set(),
}


async def load_order(
    session: AsyncSession, order_id: uuid.UUID, *, for_update: bool = False
) -> Order:
    query = (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.shipments))
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update(of=Order)
    order = await session.scalar(query)
    if order is None:
        raise OrderNotFound()
    return order


def can_access(order: Order, actor: Account | None, order_token: str | None) -> bool:
    """Owner, staff, or the holder of the order's secret token; nobody else."""
    if actor is not None and (actor.role == Role.staff or actor.id == order.account_id):
        return True
    if order_token:
        return hmac.compare_digest(hash_token(order_token), order.order_token_hash)
    return False


async def get_accessible_order(
    session: AsyncSession,
    order_id: uuid.UUID,
    actor: Account | None,
    order_token: str | None,
    *,
    for_update: bool = False,
) -> Order:
    order = await load_order(session, order_id, for_update=for_update)
    if not can_access(order, actor, order_token):
        raise OrderNotFound()  # indistinguishable from an order that does not exist
    return order


async def transition(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    actor: str,
    actor_account: Account | None = None,
    note: str | None = None,
    **values: Any,
) -> bool:
    """Move an order along the state machine, atomically: the update only applies if
    the order is still in the status we read, so concurrent transitions cannot both
    win. Returns False when another transition got there first."""
    if to not in ALLOWED[order.status]:
        raise IllegalTransition(
            f"An order that is {order.status.value} cannot become {to.value}.",
            status_from=order.status.value,
            status_to=to.value,
        )
    result = await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == order.status)
        .values(status=to, **values)
        .execution_options(synchronize_session=False)
    )
    if not rows_affected(result):
        return False
    session.add(
        OrderEvent(
            order_id=order.id,
            from_status=order.status.value,
            to_status=to.value,
            actor=actor,
            actor_account_id=actor_account.id if actor_account else None,
            note=note,
        )
    )
    order.status = to
    for key, value in values.items():
        setattr(order, key, value)
    await session.flush()
    return True


def flag_for_review(order: Order, reason: str) -> None:
    """Mark the order's payment for staff (shown in the admin order view); the newest
    reason first, the column's length kept."""
    previous = order.payment_review
    order.payment_review = (f"{reason}; {previous}" if previous else reason)[:200]


def _amount_taken(intent: PaymentIntent) -> int:
    if intent.status == IntentStatus.succeeded:
        return intent.amount_received_minor
    return intent.amount_capturable_minor


def payment_matches(order: Order, intent: PaymentIntent) -> bool:
    """The processor took (or holds) exactly the order's amount, in the order's currency."""
    return (
        _amount_taken(intent) == order.total_minor
        and intent.currency.upper() == order.currency.upper()
    )


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
) -> bool:
    """Record what the processor says it took. Returns False when the amount or currency
    differs from the order's: then nothing is marked paid and the order is flagged."""
    taken = intent.status in (IntentStatus.succeeded, IntentStatus.requires_capture)
    if not taken:
        return True
    moves = order.status == OrderStatus.pending_payment or (
        order.status != OrderStatus.cancelled
        and order.payment_state == PaymentState.authorized
        and intent.status == IntentStatus.succeeded
    )
    if not moves:
        return True
    if not payment_matches(order, intent):
        flag_for_review(
            order,
            f"amount mismatch: the processor reported {_amount_taken(intent)} "
            f"{intent.currency.upper()} against a total of {order.total_minor} {order.currency}",
        )
        await session.flush()
        return False
    if order.status == OrderStatus.pending_payment:
        state = (
            PaymentState.captured
            if intent.status == IntentStatus.succeeded
            else PaymentState.authorized
        )
        await _mark_paid(session, order, state, actor=actor)
    else:
        order.payment_state = PaymentState.captured
        await session.flush()
    return True


def record_creation(session: AsyncSession, order: Order, *, actor: str) -> None:
    session.add(
        OrderEvent(
            order_id=order.id,
            from_status=None,
            to_status=order.status.value,
            actor=actor,
            actor_account_id=order.account_id,
        )
    )


def order_read(order: Order, cls: type[OrderRead] = OrderRead, **extra: Any) -> Any:
    return cls(
        id=order.id,
        number=order.number,
        status=order.status,
        email=order.email,
        phone=order.phone,
        shipping_address=order.shipping_address,
        lines=[OrderLineRead.model_validate(line) for line in order.lines],
        totals=TotalsRead(
            currency=order.currency,
            subtotal_minor=order.subtotal_minor,
            shipping_minor=order.shipping_minor,
            gift_box_minor=0,
            tax_minor=order.tax_minor,
            total_minor=order.total_minor,
        ),
        payment=PaymentRead(
            provider=order.payment_provider,
            state=order.payment_state,
            capture_mode=order.capture_mode,
            amount_minor=order.total_minor,
            currency=order.currency,
            amount_refunded_minor=order.amount_refunded_minor,
        ),
        shipments=[ShipmentRead.model_validate(s) for s in order.shipments],
        created_at=order.created_at,
        paid_at=order.paid_at,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        **extra,
    )


async def admin_order_read(session: AsyncSession, order: Order) -> AdminOrderRead:
    events = await session.scalars(
        select(OrderEvent)
        .where(OrderEvent.order_id == order.id)
        .order_by(OrderEvent.created_at, OrderEvent.id)
    )
    result: AdminOrderRead = order_read(
        order,
        AdminOrderRead,
        events=[OrderEventRead.model_validate(e) for e in events],
        payment_review=order.payment_review,
    )
    return result


async def list_orders(
    session: AsyncSession,
    *,
    account: Account | None,
    status: OrderStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[OrderSummary], str | None]:
    """An account's orders (or every order, for staff), newest first."""
    query = select(Order)
    if account is not None:
        query = query.where(Order.account_id == account.id)
    if status is not None:
        query = query.where(Order.status == status)
    rows, next_cursor = await paginate_by_creation(
        session, query, created_at=Order.created_at, id_=Order.id,
        limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip
    return [OrderSummary.model_validate(o) for o in rows], next_cursor


def money(amount_minor: int, currency: str) -> str:
    return f"{amount_minor // 100:,}.{amount_minor % 100:02d} {currency}"


def notify(session: AsyncSession, order: Order, kind: str, subject: str, lines: list[str]) -> None:
    """Queue a transactional email about this order in the current transaction. An
    account's order names the account as the message's subject (erasure finds it by that
    and by the address); a guest's is found by its address."""
    greeting = f"Hello {order.shipping_address.get('full_name', '')},".replace(" ,", ",")
    body = "\n\n".join([greeting, *lines, "Facet Fine Jewelry"])
    enqueue_email(
        session,
        to=order.email,
        subject=f"{subject} - order {order.number}",
        body=body,
        kind=kind,
        data_subject=account_subject(order.account_id) if order.account_id else None,
    )


def units_sold_since(since: datetime) -> Subquery:
    """Units of each product in orders paid since `since` and not cancelled or refunded:
    the catalog's top sellers read it through `app.state.recent_sales`."""
    return (
        select(OrderLine.product_id, func.sum(OrderLine.quantity).label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.paid_at >= since,
            Order.status.in_([OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered]),
        )
        .group_by(OrderLine.product_id)
        .subquery("recent_sales")
    )


async def rectify_contact(
    session: AsyncSession, order: Order, data: OrderContactUpdate, *, staff: Account
) -> Order:
    """Correct an order's contact data on its buyer's request (P8). The history records
    that it was corrected and by whom, not the old or new values."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "email" in changes:
        order.email = normalize_email(changes["email"])
    if "phone" in changes:
        order.phone = changes["phone"]
    if data.shipping_address is not None:
        order.shipping_address = data.shipping_address.model_dump()
    session.add(
        OrderEvent(
            order_id=order.id, from_status=order.status.value, to_status=order.status.value,
            actor="staff", actor_account_id=staff.id, note="contact data rectified on request",
        )
    )  # fmt: skip
    await session.flush()
    return order
