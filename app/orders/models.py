"""Orders: a snapshot of what was bought, by whom, shipped where, and every transition."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, IdMixin, TimestampMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class OrderStatus(StrEnum):
    """Where an order stands.

    - `pending_payment`: placed, stock held, waiting for payment; cancelled if left
      unpaid too long (30 minutes by default).
    - `paid`: the payment went through (or is held on the card); being prepared.
    - `shipped`: handed to the carrier; tracking is available.
    - `delivered`: the carrier delivered it.
    - `cancelled`: cancelled before shipment; any payment voided or refunded.
    - `refunded`: paid back in full after shipment (a return).
    """

    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    refunded = "refunded"


class PaymentState(StrEnum):
    """Where an order's money stands.

    - `none`: nothing paid yet.
    - `authorized`: held on the card, to be charged when the order ships (manual capture).
    - `captured`: charged.
    - `voided`: a hold released without any charge.
    - `partially_refunded`: charged, and part of it paid back.
    - `refunded`: charged, and all of it paid back.
    - `disputed`: the buyer's bank opened a chargeback; nothing ships while it lasts.
    """

    none = "none"
    authorized = "authorized"  # manual capture: held on the card, not yet captured
    captured = "captured"
    voided = "voided"
    partially_refunded = "partially_refunded"
    refunded = "refunded"
    # The buyer's bank opened a chargeback: the money is in question, so nothing ships.
    disputed = "disputed"


class Order(IdMixin, TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_account_created", "account_id", "created_at", "id"),
        Index("ix_orders_status_created", "status", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True, info=NOT_PII)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, 24), default=OrderStatus.pending_payment, info=NOT_PII
    )
    email: Mapped[str] = mapped_column(String(254), info=PII)
    phone: Mapped[str | None] = mapped_column(String(32), info=PII)
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON, info=PII)
    # Free text the buyer typed until referrals exist (it may name a friend): personal,
    # exported and erased with the order.
    referral_code: Mapped[str | None] = mapped_column(String(40), info=PII)
    order_token_hash: Mapped[str] = mapped_column(String(64), info=NOT_PII)

    currency: Mapped[str] = mapped_column(String(3), info=NOT_PII)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    shipping_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger)

    capture_mode: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    payment_provider: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    payment_intent_id: Mapped[str | None] = mapped_column(String(64), unique=True, info=NOT_PII)
    payment_state: Mapped[PaymentState] = mapped_column(
        str_enum(PaymentState, 24), default=PaymentState.none, info=NOT_PII
    )
    # Raised only by a definitive decline, so a retry after a timeout reuses the same
    # idempotency key and can never charge twice.
    payment_attempt: Mapped[int] = mapped_column(default=0)
    amount_refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # Why staff must look at this order's payment (an amount that does not match, a
    # dispute, a label bought for an order cancelled meanwhile); None when all is well.
    payment_review: Mapped[str | None] = mapped_column(String(200), info={"pii": False})
    # The last "payment failed" email: at most one per order per hour (card testing).
    payment_failure_notified_at: Mapped[datetime | None]
    # The expiry job could not void this order's payment: retry after this time, so one
    # failing order never holds up the rest of the batch.
    expiry_retry_at: Mapped[datetime | None]

    reserved_until: Mapped[datetime]
    stock_released: Mapped[bool] = mapped_column(default=False)
    paid_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    lines: Mapped[list[OrderLine]] = relationship(lazy="raise", order_by="OrderLine.position")
    shipments: Mapped[list[Shipment]] = relationship(lazy="raise", order_by="Shipment.created_at")


class OrderLine(IdMixin, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    # RESTRICT: a variant (and so a product) that has been ordered is never deleted.
    variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("variants.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(index=True)
    product_name: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    sku: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, info=NOT_PII)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]
    line_total_minor: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(default=0)


class OrderEvent(IdMixin, Base):
    """Every status transition: from, to, when, and who (customer, staff, system, provider)."""

    __tablename__ = "order_events"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[str | None] = mapped_column(String(24), info=NOT_PII)
    to_status: Mapped[str] = mapped_column(String(24), info=NOT_PII)
    actor: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(String(200), info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Shipment(IdMixin, Base):
    __tablename__ = "shipments"

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    carrier: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    service: Mapped[str] = mapped_column(String(40), info=NOT_PII)
    # Personal: with it anyone can look up the delivery (name, address) at the carrier.
    tracking_number: Mapped[str] = mapped_column(String(64), info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentEventRecord(IdMixin, Base):
    """Webhook events applied, by the provider's event id: a replay is a no-op."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    event_id: Mapped[str] = mapped_column(String(100), info=NOT_PII)
    type: Mapped[str] = mapped_column(String(60), info=NOT_PII)
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
