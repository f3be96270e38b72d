"""SMTP delivery through aiosmtplib, one connection per message.

Temporary trouble (no connection, timeouts, 4xx replies, a server that refuses our
login or sender) is `MailUnavailable` so the outbox retries; a 5xx refusal of the
recipient or of the message itself is `MailRejected`. Errors carry reply codes,
never the server's text, which often echoes the address.

The relay is whatever mail service the store configures; the settings name it for the
processors register (`DISCLOSURE` lists what it receives).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import aiosmtplib

from app.adapters.disclosure import (
    CONFIGURATION,
    FIXED,
    Channel,
    DataKind,
    DisclosedField,
    Processor,
    ProcessorRole,
    Wire,
    argument,
    dto_field,
)
from app.adapters.mail.base import MailRejected, MailSender, MailUnavailable, OutgoingEmail
from app.adapters.mail.compose import PORT_DEFAULT_SENDER, address_of, build_email


def _header(*names: str) -> tuple[Wire, ...]:
    return tuple(Wire(Channel.header, name) for name in names)


DISCLOSURE = Processor(
    key="smtp",
    name="The store's email service (SMTP)",
    role=ProcessorRole.email_delivery,
    description=(
        "The mail service the store relays its email through. It delivers the emails Facet "
        "sends (order confirmations, shipping and privacy notices, and marketing only to "
        "those who agreed to it) and receives each one as the recipient will read it."
    ),
    third_party=True,
    at_erasure=(
        "Mail handed to the store's email service cannot be recalled; what it keeps of "
        "delivered messages follows its own retention."
    ),
    port=MailSender,
    withheld={
        argument(MailSender.forget, "address"): "names the local copies an erasure deletes; "
        "the relay keeps none, so nothing is sent",
    },
    receives=(
        DisclosedField(
            "recipient address",
            DataKind.personal,
            "Where to deliver the email.",
            (dto_field(OutgoingEmail, "to"),),
            (Wire(Channel.smtp, "RCPT TO"), *_header("To")),
        ),
        DisclosedField(
            "subject",
            DataKind.personal,
            "The email's subject line.",
            (dto_field(OutgoingEmail, "subject"),),
            _header("Subject"),
        ),
        DisclosedField(
            "message",
            DataKind.personal,
            "The text of the email (for an order: the items, totals and delivery address).",
            (dto_field(OutgoingEmail, "text"),),
            (Wire(Channel.smtp, "DATA"),),
        ),
        DisclosedField(
            "extra headers",
            DataKind.technical,
            "Headers the message carries for the mail client, such as a one-click "
            "unsubscribe link.",
            (dto_field(OutgoingEmail, "headers"),),
            _header("*"),
        ),
        DisclosedField(
            "sender",
            DataKind.store,
            "The store's sending address, for replies and bounces.",
            (dto_field(OutgoingEmail, "sender"),),
            (Wire(Channel.smtp, "MAIL FROM"), *_header("From")),
        ),
        DisclosedField(
            "message id",
            DataKind.reference,
            "Facet's id of the email, so a receiver can drop a second delivery of it.",
            (dto_field(OutgoingEmail, "message_id"),),
            _header("Message-ID"),
        ),
        DisclosedField(
            "date and format",
            DataKind.technical,
            "When the email was sent, and how its text is encoded.",
            (FIXED,),
            _header("Date", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"),
        ),
        DisclosedField(
            "server name and login",
            DataKind.store,
            "The sending server's host name, and the store's login when one is configured.",
            (CONFIGURATION,),
            (Wire(Channel.smtp, "EHLO"), Wire(Channel.smtp, "AUTH")),
        ),
    ),
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SmtpMailer:
    name = "smtp"
    disclosure = DISCLOSURE
    keeps_copies = False

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = 10.0,
        sender: str = PORT_DEFAULT_SENDER,
        clock: Callable[[], datetime] = _utcnow,
        provider_name: str | None = None,
        provider_privacy_policy: str | None = None,
        provider_location: str | None = None,
    ) -> None:
        # Who the relay is depends on the store: the register names it when told.
        self.disclosure = replace(
            DISCLOSURE,
            name=provider_name or DISCLOSURE.name,
            privacy_policy=provider_privacy_policy or DISCLOSURE.privacy_policy,
            location=provider_location or DISCLOSURE.location,
        )
        self._host = host
        self._port = port
        self._username = username or None
        self._password = password if username else None
        self._starttls = starttls
        self._timeout = timeout_seconds
        self._sender = sender
        self._clock = clock

    async def send(self, message: OutgoingEmail) -> None:
        email = build_email(message, configured_sender=self._sender, now=self._clock())
        try:
            await aiosmtplib.send(
                email,
                sender=address_of(str(email["From"])),
                recipients=[address_of(message.to)],
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as e:
            codes = [refusal.code for refusal in e.recipients]
            raise _refusal("recipient refused", codes) from e
        except aiosmtplib.SMTPRecipientRefused as e:
            raise _refusal("recipient refused", [e.code]) from e
        except aiosmtplib.SMTPDataError as e:
            raise _refusal("message refused", [e.code]) from e
        except aiosmtplib.SMTPResponseException as e:
            raise MailUnavailable(f"SMTP server answered {e.code}") from e
        except (aiosmtplib.SMTPException, OSError) as e:
            raise MailUnavailable(f"SMTP server unreachable ({type(e).__name__})") from e

    async def forget(self, address: str) -> int:
        # Mail handed to the server is out of our hands; we keep no copy.
        return 0

    async def close(self) -> None:
        return None


def _refusal(what: str, codes: list[int]) -> MailRejected | MailUnavailable:
    detail = f"{what} ({', '.join(map(str, codes))})"
    if codes and all(code >= 500 for code in codes):
        return MailRejected(detail)
    return MailUnavailable(detail)
