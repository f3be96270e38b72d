from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import Email, Flag, InputModel, Name, OutputModel, trimmed_text
from app.support.models import ContactTopic, SupportStatus


class ContactCreate(InputModel):
    name: Name
    email: Email
    topic: ContactTopic
    message: trimmed_text(min_length=1, max_length=5000)  # type: ignore[valid-type]
    is_adult: Flag = Field(description="An 18+ attestation (P9); a minor's request stores nothing.")


class ContactReceipt(OutputModel):
    reference: str = Field(description="Quote it when writing again; the email repeats it.")


class SupportRequestRead(OutputModel):
    """Text fields are plain text as written: clients show them as text, never as HTML."""

    id: uuid.UUID
    reference: str
    name: str
    email: str
    topic: ContactTopic
    message: str
    status: SupportStatus
    created_at: datetime
    answer: str | None
    answered_at: datetime | None


class SupportAnswer(InputModel):
    answer: trimmed_text(min_length=1, max_length=10000)  # type: ignore[valid-type]
