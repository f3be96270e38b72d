"""Carts. A guest cart is reached by its random id (the session cookie holds it);
an account's cart only by its owner. A claimed guest cart merges into the
account's cart and is deleted, so no cookie ever points at personal data (P11)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, IdMixin, TimestampMixin

MAX_LINE_QUANTITY = 10


class Cart(IdMixin, TimestampMixin, Base):
    __tablename__ = "carts"

    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    # Set when the cart's lines become an order, cleared when a line is added again: an
    # empty cart with it set was just checked out, which a late duplicate checkout is told.
    checked_out_at: Mapped[datetime | None]
    lines: Mapped[list[CartLine]] = relationship(
        lazy="raise",
        order_by="CartLine.created_at, CartLine.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class CartLine(IdMixin, TimestampMixin, Base):
    __tablename__ = "cart_lines"
    __table_args__ = (
        UniqueConstraint("cart_id", "variant_id"),
        CheckConstraint(f"quantity BETWEEN 1 AND {MAX_LINE_QUANTITY}", name="quantity_range"),
    )

    cart_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), index=True
    )
    variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int]
