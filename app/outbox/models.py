"""The transactional outbox: messages written in the same transaction as the change
that causes them, delivered afterwards by the worker."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text
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
    # Marketing whose consent was withdrawn before delivery: never sent, not an error.
    suppressed = "suppressed"


class OutboxMessage(IdMixin, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    category: Mapped[MessageCategory] = mapped_column(str_enum(MessageCategory), info=NOT_PII)
    kind: Mapped[str] = mapped_column(String(40), info=NOT_PII)
    recipient: Mapped[str] = mapped_column(String(254), info=PII)
    subject: Mapped[str] = mapped_column(String(200), info=PII)
    body: Mapped[str] = mapped_column(Text, info=PII)
    # Whose message it is (`account:<id>` or `email:<keyed hash>`) and, for marketing,
    # the consent purpose that must still be granted when it is delivered.
    data_subject: Mapped[str | None] = mapped_column(String(80), info=PII)
    purpose: Mapped[str | None] = mapped_column(String(32), info=NOT_PII)
    # Extra headers (the one-click opt-out of marketing mail); the link holds a token.
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, info=PII)
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
