"""The mail port: deliver one message. The outbox decides what and when."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from app.adapters.disclosure import Processor


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # our outbox id: lets a receiver drop a duplicate delivery
    to: str
    subject: str
    text: str
    sender: str = "Facet Fine Jewelry <orders@facet.example>"
    headers: dict[str, str] = field(default_factory=dict)


class MailError(Exception):
    """Base of every mail port error."""


class MailUnavailable(MailError):
    """The mail server could not be reached or refused for now: retry later."""


class MailRejected(MailError):
    """The message was refused permanently (bad recipient): do not retry."""


class MailSender(Protocol):
    name: str
    disclosure: Processor  # who receives what (P3): the processors register
    # Whether `forget` removes the backend's copies of sent mail (an erasure receipt
    # says so when it cannot: mail handed to an SMTP server cannot be recalled).
    keeps_copies: bool

    async def send(self, message: OutgoingEmail) -> None: ...

    async def forget(self, address: str) -> int:
        """Delete this backend's copies of mail sent to `address`; returns how many."""
        ...

    async def close(self) -> None: ...
