"""Customer testimonials (P5): shown once staff approve them, under the customer's name
only while the `testimonial_name` consent holds (read from the ledger on every listing,
so a withdrawal hides the name at once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

PII = {"pii": True}


class TestimonialStatus(StrEnum):
    """Where a testimonial's moderation stands.

    - `pending`: waiting for staff; not public.
    - `approved`: public in `GET /v1/testimonials`.
    - `rejected`: not published.
    """

    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Testimonial(IdMixin, Base):
    __tablename__ = "testimonials"
    __table_args__ = (Index("ix_testimonials_status_created", "status", "created_at", "id"),)

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    # The customer's own words may say who they are: personal, erased with them.
    title: Mapped[str] = mapped_column(String(120), info=PII)
    body: Mapped[str] = mapped_column(Text, info=PII)
    rating: Mapped[int] = mapped_column(SmallInteger)
    verified_purchase: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TestimonialStatus] = mapped_column(
        str_enum(TestimonialStatus), info={"pii": False}
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
