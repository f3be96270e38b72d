"""SMTP delivery through aiosmtplib, one connection per message.

Temporary trouble (no connection, timeouts, 4xx replies, a server that refuses our
login or sender) is `MailUnavailable` so the outbox retries; a 5xx refusal of the
recipient or of the message itself is `MailRejected`. Errors carry reply codes,
never the server's text, which often echoes the address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import aiosmtplib

from app.adapters.mail.base import MailRejected, MailUnavailable, OutgoingEmail
from app.adapters.mail.compose import PORT_DEFAULT_SENDER, address_of, build_email


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SmtpMailer:
    name = "smtp"
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
    ) -> None:
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
