"""Contact requests to customer service: what a person wrote, under a reference that the
acknowledgement email gives them, and staff's answer."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class ContactTopic(StrEnum):
    """What a contact request is about.

    - `order`: an order placed or to place.
    - `product`: a piece in the catalog (sizes, stones, care).
    - `account`: signing in or account settings.
    - `privacy`: personal data (formal privacy requests have their own operations).
    - `other`: anything else.
    """

    order = "order"
    product = "product"
    account = "account"
    privacy = "privacy"
    other = "other"


class SupportStatus(StrEnum):
    """Whether a contact request was dealt with.

    - `open`: waiting for a staff answer.
    - `answered`: staff answered by email.
    """

    open = "open"
    answered = "answered"


class SupportRequest(IdMixin, Base):
    __tablename__ = "support_requests"
    __table_args__ = (Index("ix_support_requests_status_created", "status", "created_at", "id"),)

    reference: Mapped[str] = mapped_column(String(16), unique=True, info=NOT_PII)
    name: Mapped[str] = mapped_column(String(200), info=PII)
    email: Mapped[str] = mapped_column(String(254), index=True, info=PII)
    topic: Mapped[ContactTopic] = mapped_column(str_enum(ContactTopic), info=NOT_PII)
    message: Mapped[str] = mapped_column(Text, info=PII)
    status: Mapped[SupportStatus] = mapped_column(str_enum(SupportStatus), info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Staff's reply may quote the request: personal, erased with it.
    answer: Mapped[str | None] = mapped_column(Text, info=PII)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
