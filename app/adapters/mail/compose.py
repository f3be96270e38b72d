"""One RFC 5322 message per OutgoingEmail, built the same way by every backend."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from app.adapters.mail.base import MailRejected, OutgoingEmail

# The port's default sender stands for "the configured sender" (FACET_MAIL_FROM).
PORT_DEFAULT_SENDER = str(next(f.default for f in fields(OutgoingEmail) if f.name == "sender"))

# Set by the mailer itself; extra headers may not replace them.
RESERVED_HEADERS = frozenset(
    {
        "bcc",
        "cc",
        "content-transfer-encoding",
        "content-type",
        "date",
        "from",
        "message-id",
        "mime-version",
        "return-path",
        "sender",
        "subject",
        "to",
    }
)


def sender_for(message: OutgoingEmail, configured_sender: str) -> str:
    return configured_sender if message.sender == PORT_DEFAULT_SENDER else message.sender


def address_of(value: str) -> str:
    """The bare addr-spec of `Name <addr>` (or the value itself)."""
    return parseaddr(value)[1] or value


def message_id_header(message_id: str, sender: str) -> str:
    if message_id.startswith("<") and message_id.endswith(">") and "@" in message_id:
        return message_id
    domain = address_of(sender).rpartition("@")[2] or "facet.invalid"
    return f"<{message_id}@{domain}>"


def build_email(message: OutgoingEmail, *, configured_sender: str, now: datetime) -> EmailMessage:
    """The message to write or send; a header that cannot be encoded is a permanent refusal."""
    sender = sender_for(message, configured_sender)
    email = EmailMessage()
    try:
        email["Message-ID"] = message_id_header(message.message_id, sender)
        email["Date"] = format_datetime(now)
        email["From"] = sender
        email["To"] = message.to
        email["Subject"] = message.subject
        for name, value in message.headers.items():
            if name.lower() in RESERVED_HEADERS:
                raise MailRejected(f"header {name!r} is set by the mailer")
            email[name] = value
        email.set_content(message.text)
    except (ValueError, TypeError, HeaderParseError) as e:
        raise MailRejected("the message cannot be encoded") from e
    return email
