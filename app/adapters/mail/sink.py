"""The embedded mail backend: each message becomes an `.eml` file in a folder.

A developer opens the files with any mail client. Logs carry the message id and
file name only, never the recipient, subject or body.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import anyio.to_thread

from app.adapters.disclosure import Processor, ProcessorRole
from app.adapters.mail.base import MailUnavailable, OutgoingEmail
from app.adapters.mail.compose import PORT_DEFAULT_SENDER, address_of, build_email

log = logging.getLogger("facet.mail.sink")

TIMESTAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_TIMESTAMP_LENGTH = len("20000101T000000000000Z")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def file_id(message_id: str) -> str:
    """The message id as it appears in a file name (no path or glob characters)."""
    return _UNSAFE.sub("_", message_id).lstrip(".") or "_"


DISCLOSURE = Processor(
    key="sink",
    name="Facet mail folder",
    role=ProcessorRole.email_delivery,
    description=(
        "Built into Facet for development: each email is written as a file to a folder on "
        "the server instead of being sent. Nothing leaves Facet."
    ),
    third_party=False,
    location="Inside Facet",
)


class MailSink:
    name = "sink"
    disclosure = DISCLOSURE
    keeps_copies = True

    def __init__(
        self,
        directory: Path,
        *,
        sender: str = PORT_DEFAULT_SENDER,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._directory = Path(directory)
        self._sender = sender
        self._clock = clock

    @property
    def directory(self) -> Path:
        return self._directory

    async def send(self, message: OutgoingEmail) -> None:
        now = self._clock().astimezone(UTC)
        data = build_email(message, configured_sender=self._sender, now=now).as_bytes()
        try:
            path = await anyio.to_thread.run_sync(
                self._write, file_id(message.message_id), now, data
            )
        except OSError as e:
            raise MailUnavailable(f"cannot write to the mail folder ({type(e).__name__})") from e
        log.info("mail written", extra={"message_id": message.message_id, "file": path.name})

    async def forget(self, address: str) -> int:
        """Delete every file written to `address` (an erasure): the sink is Facet's own
        copy of what it sent, so it keeps none for an erased person."""
        return await anyio.to_thread.run_sync(self._forget, address.strip().lower())

    def _forget(self, address: str) -> int:
        if not self._directory.is_dir():
            return 0
        removed = 0
        for path in self._directory.glob("*.eml"):
            with path.open("rb") as handle:
                recipients = BytesParser(policy=policy.default).parse(handle, headersonly=True)
            to = [address_of(str(value)).lower() for value in recipients.get_all("To", [])]
            if address in to:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("mail forgotten", extra={"files": removed})
        return removed

    async def close(self) -> None:
        return None

    def path_for(self, message_id: str) -> Path | None:
        """The file already holding this message, if any."""
        safe_id = file_id(message_id)
        suffix = f"-{safe_id}.eml"
        if not self._directory.is_dir():
            return None
        for path in sorted(self._directory.glob(f"*{suffix}")):
            if len(path.name) == _TIMESTAMP_LENGTH + len(suffix):
                return path
        return None

    def _write(self, safe_id: str, now: datetime, data: bytes) -> Path:
        self._directory.mkdir(parents=True, exist_ok=True)
        # A repeated delivery replaces the first file instead of adding a second.
        target = self.path_for(safe_id) or (
            self._directory / f"{now.strftime(TIMESTAMP_FORMAT)}-{safe_id}.eml"
        )
        fd, temp_name = tempfile.mkstemp(dir=self._directory, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return target
