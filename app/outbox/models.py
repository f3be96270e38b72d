"""The transactional outbox: messages written in the same transaction as the change
that causes them, delivered afterwards by the worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class MessageCategory(StrEnum):
    transactional = "transactional"
    marketing = "marketing"


class MessageStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"  # gave up: permanent refusal or too many attempts


class OutboxMessage(IdMixin, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    category: Mapped[MessageCategory] = mapped_column(str_enum(MessageCategory), info=NOT_PII)
    kind: Mapped[str] = mapped_column(String(40), info=NOT_PII)
    recipient: Mapped[str] = mapped_column(String(254), info=PII)
    subject: Mapped[str] = mapped_column(String(200), info=PII)
    body: Mapped[str] = mapped_column(Text, info=PII)
    status: Mapped[MessageStatus] = mapped_column(
        str_enum(MessageStatus),
        default=MessageStatus.pending,
        info=NOT_PII,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64), info=NOT_PII)
    # An error type, never content.
    last_error: Mapped[str | None] = mapped_column(String(64), info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
