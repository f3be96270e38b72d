from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import Email, Flag, InputModel, Name, OutputModel, examples, trimmed_text
from app.support.models import ContactTopic, SupportStatus

_CONTACT = {
    "name": "Ada Lovelace",
    "email": "ada.lovelace@example.com",
    "topic": "product",
    "message": "Can the halo ring in 14k white gold be resized from 6.5 to 7 after delivery?",
    "is_adult": True,
}
_SUPPORT_REQUEST = {
    "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "reference": "FC-4H7K2M9Q",
    "name": _CONTACT["name"],
    "email": _CONTACT["email"],
    "topic": "product",
    "message": _CONTACT["message"],
    "status": "answered",
    "created_at": "2026-11-25T10:12:00Z",
    "answer": "Yes, we can resize it: reply with your order number and the size you need.",
    "answered_at": "2026-11-25T14:40:00Z",
}
_ANSWER = {"answer": _SUPPORT_REQUEST["answer"]}


class ContactCreate(InputModel):
    """A question or request to the store (`POST /v1/contact`), from anyone 18 or over. The answer
    comes by email; the name and email are used only for that."""

    model_config = examples(_CONTACT)

    name: Name
    """How to address the writer; 1-200 characters."""
    email: Email
    """Where the answer goes; at most 254 characters."""
    topic: ContactTopic
    """What the message is about, to route it."""
    message: trimmed_text(min_length=1, max_length=5000)  # type: ignore[valid-type]
    """The message, plain text, 1-5,000 characters."""
    is_adult: Flag = Field(description="An 18+ attestation (P9); a minor's request stores nothing.")


class ContactReceipt(OutputModel):
    """The acknowledgement of a contact request."""

    model_config = examples({"reference": "FC-4H7K2M9Q"})

    reference: str = Field(description="Quote it when writing again; the email repeats it.")


class SupportRequestRead(OutputModel):
    """Text fields are plain text as written: clients show them as text, never as HTML."""

    model_config = examples(_SUPPORT_REQUEST)

    id: uuid.UUID
    """The request's id."""
    reference: str
    """The reference given to the writer, e.g. `FC-4H7K2M9Q`."""
    name: str
    """The writer's name (personal data)."""
    email: str
    """The writer's email (personal data)."""
    topic: ContactTopic
    """What the message is about."""
    message: str
    """The message as written."""
    status: SupportStatus
    """Whether staff answered."""
    created_at: datetime
    """When it was received (UTC)."""
    answer: str | None
    """The staff answer sent by email, or null."""
    answered_at: datetime | None
    """When it was answered (UTC), or null."""


class SupportAnswer(InputModel):
    """A staff answer to a contact request; it is emailed to the writer."""

    model_config = examples(_ANSWER)

    answer: trimmed_text(min_length=1, max_length=10000)  # type: ignore[valid-type]
    """The answer, plain text, 1-10,000 characters."""
