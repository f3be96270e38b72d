"""Mail backends: the `.eml` sink, and SMTP against a real aiosmtpd server on loopback."""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from app.adapters.mail import create_mail_sender
from app.adapters.mail.base import MailRejected, MailUnavailable, OutgoingEmail
from app.adapters.mail.sink import MailSink, file_id
from app.adapters.mail.smtp import SmtpMailer
from app.core.settings import Settings
from tests.processes import free_port

SENDER = "Facet Fine Jewelry <shop@facet.test>"
MESSAGE = OutgoingEmail(
    message_id="0b7e6c1e-2f0a-4d67-9a57-2f1c6f0e9d11",
    to="Ada Lovelace <ada@example.com>",
    subject="Your order FCT-1001 has shipped — merci",
    text="Hello Ada,\n\nYour ring is on its way. Café included.\n",
    headers={"List-Unsubscribe": "<https://facet.test/unsubscribe/abc>"},
)
NOW = datetime(2025, 3, 3, 9, 30, 15, 123456, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def listing(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


# -- the sink -----------------------------------------------------------------------------


async def test_sink_writes_a_parseable_eml(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "mail"  # created on first send
    sink = MailSink(directory, sender=SENDER, clock=Clock())

    await sink.send(MESSAGE)

    [path] = listing(directory)
    assert path.name == f"20250303T093015123456Z-{MESSAGE.message_id}.eml"
    parsed = parse(path.read_bytes())
    assert parsed["Message-ID"] == f"<{MESSAGE.message_id}@facet.test>"
    assert parsed["From"] == SENDER
    assert parsed["To"] == MESSAGE.to
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["List-Unsubscribe"] == "<https://facet.test/unsubscribe/abc>"
    assert parsed["Date"].datetime == NOW.replace(microsecond=0)
    assert parsed.get_content() == MESSAGE.text


async def test_sink_uses_a_sender_set_on_the_message(tmp_path: Path) -> None:
    sink = MailSink(tmp_path, sender=SENDER, clock=Clock())
    message = OutgoingEmail(
        message_id="m-1", to="ada@example.com", subject="Hi", text="Hi", sender="privacy@facet.test"
    )

    await sink.send(message)

    [path] = listing(tmp_path)
    assert parse(path.read_bytes())["From"] == "privacy@facet.test"


async def test_sink_replaces_a_repeated_message_instead_of_duplicating(tmp_path: Path) -> None:
    clock = Clock()
    sink = MailSink(tmp_path, sender=SENDER, clock=clock)
    await sink.send(MESSAGE)
    first = sink.path_for(MESSAGE.message_id)

    clock.now = NOW + timedelta(minutes=5)
    await sink.send(OutgoingEmail(**{**MESSAGE.__dict__, "subject": "Second attempt"}))
    await sink.send(OutgoingEmail(message_id="other", to="bob@example.com", subject="B", text="B"))

    files = [p.name for p in listing(tmp_path)]
    assert len(files) == 2  # no leftover temporary files either
    assert first is not None
    assert first.name in files
    assert parse(first.read_bytes())["Subject"] == "Second attempt"


async def test_sink_never_logs_the_recipient_subject_or_body(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = MailSink(tmp_path, sender=SENDER, clock=Clock())

    with caplog.at_level(logging.DEBUG):
        await sink.send(MESSAGE)

    records = [r for r in caplog.records if r.name.startswith("facet.mail")]
    assert records, "the sink logs each write"
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert MESSAGE.message_id in logged
    for secret in ("ada@example.com", "Ada Lovelace", "FCT-1001", "ring is on its way"):
        assert secret not in logged


@pytest.mark.parametrize(
    "headers",
    [{"X-Note": "line\r\nBcc: eve@example.com"}, {"Bcc": "eve@example.com"}],
    ids=["header-injection", "reserved-header"],
)
async def test_sink_rejects_a_message_that_cannot_be_encoded(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    sink = MailSink(tmp_path, sender=SENDER)

    message = OutgoingEmail(
        message_id="m-2", to="a@example.com", subject="S", text="T", headers=headers
    )

    with pytest.raises(MailRejected):
        await sink.send(message)

    assert listing(tmp_path) == []


# -- SMTP ---------------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it receives; `rcpt_reply` refuses recipients."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.rcpt_reply: str | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    # Controller's readiness check connects to the configured port, so pick one first.
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def inbox(smtp_server: tuple[Inbox, int]) -> Inbox:
    inbox = smtp_server[0]
    inbox.envelopes.clear()
    inbox.rcpt_reply = None
    return inbox


@pytest.fixture
def mailer(smtp_server: tuple[Inbox, int]) -> SmtpMailer:
    return SmtpMailer(
        host="127.0.0.1", port=smtp_server[1], timeout_seconds=2, sender=SENDER, clock=Clock()
    )


async def test_smtp_delivers_to_a_real_server(mailer: SmtpMailer, inbox: Inbox) -> None:
    await mailer.send(MESSAGE)

    [envelope] = inbox.envelopes
    assert envelope.mail_from == "shop@facet.test"
    assert envelope.rcpt_tos == ["ada@example.com"]
    assert isinstance(envelope.content, bytes)
    parsed = parse(envelope.content)
    assert parsed["Message-ID"] == f"<{MESSAGE.message_id}@facet.test>"
    assert parsed["From"] == SENDER
    assert parsed["To"] == MESSAGE.to
    assert parsed["Subject"] == MESSAGE.subject
    assert parsed["List-Unsubscribe"] == "<https://facet.test/unsubscribe/abc>"
    assert parsed.get_content().replace("\r\n", "\n") == MESSAGE.text  # CRLF on the wire


async def test_smtp_server_not_listening_is_unavailable() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), timeout_seconds=2)

    with pytest.raises(MailUnavailable) as caught:
        await mailer.send(MESSAGE)

    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPConnectError)


async def test_smtp_recipient_refused_with_550_is_rejected(
    mailer: SmtpMailer, inbox: Inbox
) -> None:
    inbox.rcpt_reply = "550 5.1.1 <ada@example.com>: mailbox unavailable"

    with pytest.raises(MailRejected, match="550") as caught:
        await mailer.send(MESSAGE)

    assert "ada@example.com" not in str(caught.value)
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPRecipientsRefused)
    assert inbox.envelopes == []


async def test_smtp_recipient_deferred_with_450_is_unavailable(
    mailer: SmtpMailer, inbox: Inbox
) -> None:
    inbox.rcpt_reply = "450 4.2.1 mailbox busy, try later"

    with pytest.raises(MailUnavailable, match="450"):
        await mailer.send(MESSAGE)


# -- the factory --------------------------------------------------------------------------


def test_factory_defaults_to_the_sink(tmp_path: Path) -> None:
    sender = create_mail_sender(Settings(mail_backend="sink", mail_dir=tmp_path))  # type: ignore[arg-type]

    assert isinstance(sender, MailSink)
    assert sender.directory == tmp_path


def test_factory_builds_smtp_from_settings() -> None:
    sender = create_mail_sender(
        Settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=2525)  # type: ignore[arg-type]
    )

    assert isinstance(sender, SmtpMailer)
    assert sender.name == "smtp"


def test_sink_file_names_are_safe_for_any_message_id() -> None:
    assert re.fullmatch(r"[A-Za-z0-9._-]+", file_id("../../etc/passwd *?[x]"))
    assert not file_id("../x").startswith(".")


async def test_sink_forgets_every_file_sent_to_an_address_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    sink = MailSink(tmp_path)
    for number, to in enumerate(["Ada <ADA@example.com>", "ada@example.com", "bob@example.com"]):
        await sink.send(OutgoingEmail(message_id=f"m{number}", to=to, subject="Hi", text="..."))

    forgotten = await sink.forget("ada@example.com")

    assert forgotten == 2
    assert [parse(path.read_bytes())["To"] for path in listing(tmp_path)] == ["bob@example.com"]
    assert await MailSink(tmp_path / "never-written").forget("ada@example.com") == 0


async def test_smtp_cannot_recall_mail_and_says_it_keeps_no_copy() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=1)
    assert mailer.keeps_copies is False
    assert await mailer.forget("ada@example.com") == 0
