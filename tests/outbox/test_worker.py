"""The outbox worker: claiming, retries with backoff, stale leases, two worker processes
sharing one queue, quiet logs, and the worker that runs inside the API process."""

from __future__ import annotations

import asyncio
import email
import io
import logging
import os
import sys
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.adapters.mail.base import MailRejected, MailUnavailable, OutgoingEmail
from app.adapters.mail.sink import MailSink
from app.cli import PROJECT_ROOT
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.logging import JsonFormatter
from app.main import create_app
from app.outbox.models import MessageStatus, OutboxMessage
from app.outbox.service import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    backoff,
    claim_batch,
    enqueue_email,
    run_once,
)
from tests.conftest import make_settings
from tests.processes import free_port
from tests.realdb import dedicated_pg_database, dedicated_sqlite_database


class Recorder:
    """A mail sender that keeps what it is given, or raises what it is told to."""

    name = "recorder"
    keeps_copies = False

    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[OutgoingEmail] = []
        self.error = error

    async def send(self, message: OutgoingEmail) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(message)

    async def forget(self, address: str) -> int:
        return 0

    async def close(self) -> None:
        return None


# -- a shared SQLite database, emptied of messages before each test -------------------------


@pytest.fixture(scope="module")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return await dedicated_sqlite_database(tmp_path_factory.mktemp("outbox"), "outbox.db")


@pytest.fixture(scope="module")
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessions(sqlite_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    maker = create_sessionmaker(sqlite_engine)
    async with maker() as session, session.begin():
        await session.execute(delete(OutboxMessage))
    return maker


async def queue(
    sessions: async_sessionmaker[AsyncSession],
    subject: str = "Your order is on its way",
    body: str = "Tracking number inside.",
    to: str = "ada@example.com",
) -> OutboxMessage:
    async with sessions() as session, session.begin():
        return enqueue_email(session, to=to, subject=subject, body=body, kind="test")


async def reload(sessions: async_sessionmaker[AsyncSession], message_id: Any) -> OutboxMessage:
    async with sessions() as session:
        message = await session.get(OutboxMessage, message_id)
    assert message is not None
    return message


async def make_due(sessions: async_sessionmaker[AsyncSession], message_id: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


# -- retries, refusals and leases -----------------------------------------------------------


async def test_unavailable_mail_is_retried_after_a_backoff(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queued = await queue(sessions)

    before = utcnow()
    result = await run_once(sessions, Recorder(MailUnavailable("connection refused")))

    assert (result.sent, result.retried, result.failed) == (0, 1, 0)
    message = await reload(sessions, queued.id)
    assert message.status == MessageStatus.pending
    assert message.attempts == 1
    assert message.last_error == "MailUnavailable"
    wait = message.next_attempt_at - before
    assert timedelta(seconds=25) <= wait <= timedelta(seconds=35)

    # Not yet due: a run straight away leaves it alone.
    working = Recorder()
    assert (await run_once(sessions, working)).sent == 0
    assert working.sent == []

    await make_due(sessions, queued.id)
    result = await run_once(sessions, working)

    assert (result.sent, result.retried, result.failed) == (1, 0, 0)
    assert [m.message_id for m in working.sent] == [str(queued.id)]
    message = await reload(sessions, queued.id)
    assert message.status == MessageStatus.sent
    assert message.attempts == 2
    assert message.sent_at is not None
    assert message.last_error is None


async def test_a_permanent_refusal_fails_the_message_without_retrying(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queued = await queue(sessions)

    result = await run_once(sessions, Recorder(MailRejected("recipient refused (550)")))

    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    message = await reload(sessions, queued.id)
    assert message.status == MessageStatus.failed
    assert message.attempts == 1
    assert message.last_error == "MailRejected"
    await make_due(sessions, queued.id)
    working = Recorder()
    assert (await run_once(sessions, working)).sent == 0
    assert working.sent == []


async def test_a_message_fails_after_max_attempts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    queued = await queue(sessions)
    failing = Recorder(MailUnavailable("still down"))

    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        started = utcnow()
        result = await run_once(sessions, failing)
        assert result.retried == 1
        message = await reload(sessions, queued.id)
        assert (message.status, message.attempts) == (MessageStatus.pending, attempt)
        waits.append(message.next_attempt_at - started)
        await make_due(sessions, queued.id)

    result = await run_once(sessions, failing)

    assert (result.sent, result.retried, result.failed) == (0, 0, 1)
    message = await reload(sessions, queued.id)
    assert (message.status, message.attempts) == (MessageStatus.failed, MAX_ATTEMPTS)
    assert message.last_error == "MailUnavailable"
    # The waits grow: 30 s, 1 min, 2 min, ...
    assert all(
        abs(wait - backoff(n)) < timedelta(seconds=5) for n, wait in enumerate(waits, start=1)
    )
    assert waits == sorted(waits)
    assert (await run_once(sessions, Recorder())).sent == 0


async def test_a_message_held_by_a_dead_worker_is_claimed_again_after_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    stale = await queue(sessions, subject="stale")
    fresh = await queue(sessions, subject="fresh")
    now = utcnow()
    async with sessions() as session, session.begin():
        for message_id, claimed_at in (
            (stale.id, now - CLAIM_LEASE - timedelta(seconds=30)),
            (fresh.id, now - CLAIM_LEASE + timedelta(minutes=1)),
        ):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(
                    status=MessageStatus.sending,
                    claimed_at=claimed_at,
                    claimed_by="dead-worker",
                    attempts=1,
                )
            )

    recorder = Recorder()
    result = await run_once(sessions, recorder, worker_id="rescuer")

    assert result.sent == 1
    assert [m.subject for m in recorder.sent] == ["stale"]
    rescued = await reload(sessions, stale.id)
    assert (rescued.status, rescued.claimed_by, rescued.attempts) == (
        MessageStatus.sent,
        "rescuer",
        2,
    )
    # Still within its lease: the other worker may yet finish it.
    held = await reload(sessions, fresh.id)
    assert (held.status, held.claimed_by, held.attempts) == (
        MessageStatus.sending,
        "dead-worker",
        1,
    )


def eml_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.eml"))


# -- logs -----------------------------------------------------------------------------------


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged at INFO and above, formatted as the service formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)


async def test_delivery_logs_never_carry_the_subject_body_or_recipient(
    sessions: async_sessionmaker[AsyncSession], json_logs: io.StringIO, tmp_path: Path
) -> None:
    subject = "Zephyr-Quartz-Subject-7731"
    body = "Obsidian-Marmalade-Body-9042"
    recipient = "secret.buyer.5521@example.com"
    delivered = await queue(sessions, subject=subject, body=body, to=recipient)
    await run_once(sessions, MailSink(tmp_path))
    # A failure whose error text echoes the content: only its type may be logged.
    refused = await queue(sessions, subject=subject, body=body, to=recipient)
    await run_once(sessions, Recorder(MailUnavailable(f"{recipient}: {subject} {body}")))

    assert (await reload(sessions, delivered.id)).status == MessageStatus.sent
    assert (await reload(sessions, refused.id)).status == MessageStatus.pending
    [written] = eml_files(tmp_path)
    assert subject in written.read_text()
    logs = json_logs.getvalue()
    assert "mail written" in logs
    assert "mail delivery failed" in logs
    for secret in (subject, body, recipient, "secret.buyer"):
        assert secret not in logs


# -- the worker inside the API process ------------------------------------------------------


async def test_the_in_process_worker_delivers_a_queued_message(
    sqlite_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    application = create_app(
        make_settings(sqlite_url, outbox_in_process=True, mail_dir=str(tmp_path))
    )
    async with application.router.lifespan_context(application):
        queued = await queue(application.state.sessionmaker, subject="Delivered in process")
        for _ in range(200):  # the worker polls every second: allow up to 10 s
            if files := eml_files(tmp_path):
                break
            await asyncio.sleep(0.05)
        assert len(files) == 1, "the in-process worker did not deliver within 10 s"

    parsed = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Delivered in process"
    assert str(queued.id) in files[0].name
    assert (await reload(sessions, queued.id)).status == MessageStatus.sent


# -- two worker processes against PostgreSQL ------------------------------------------------

MESSAGES = 200


class GatedInbox:
    """An SMTP handler that holds every delivery until `gate` opens, so a worker that
    starts first cannot drain the queue before the other one has claimed its share."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        # The controller's loop runs in its own thread; wait without blocking that loop.
        await asyncio.to_thread(self.gate.wait, 60)
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=policy.default)
        self.subjects.append(str(parsed["Subject"]))
        return "250 Message accepted for delivery"


@pytest.fixture
def gated_smtp() -> Iterator[tuple[GatedInbox, int]]:
    inbox = GatedInbox()
    port = free_port()  # Controller's readiness check connects to the configured port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        inbox.gate.set()
        controller.stop()


@pytest.fixture(scope="module")
async def pg_url() -> str:
    return await dedicated_pg_database("_outbox")


@pytest.fixture(scope="module")
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_sessions(pg_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    maker = create_sessionmaker(pg_engine)
    async with maker() as session, session.begin():
        await session.execute(delete(OutboxMessage))
    return maker


@pytest.mark.postgres
async def test_concurrent_claims_skip_rows_another_worker_holds(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    for n in range(10):
        await queue(pg_sessions, subject=f"Claim {n}")

    async with pg_sessions() as first, first.begin():
        held = await claim_batch(first, worker_id="first", limit=5)
        # The first claim is not committed yet: its rows are locked, not yet "sending".
        async with pg_sessions() as second, second.begin():
            taken = await asyncio.wait_for(
                claim_batch(second, worker_id="second", limit=10), timeout=5
            )
    assert len(held) == 5
    assert len(taken) == 5
    assert not {m.id for m in held} & {m.id for m in taken}


async def run_worker_process(env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--once",
        cwd=PROJECT_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def claimers_seen(
    sessions: async_sessionmaker[AsyncSession], count: int, *, seconds: float
) -> bool:
    """Wait until messages are claimed by `count` different workers."""
    for _ in range(int(seconds / 0.05)):
        async with sessions() as session:
            seen = await session.scalar(select(func.count(func.distinct(OutboxMessage.claimed_by))))
        if (seen or 0) >= count:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.postgres
async def test_two_worker_processes_deliver_every_message_exactly_once(
    pg_url: str, pg_sessions: async_sessionmaker[AsyncSession], gated_smtp: tuple[GatedInbox, int]
) -> None:
    inbox, port = gated_smtp
    subjects = [f"Message {n:03d}" for n in range(MESSAGES)]
    async with pg_sessions() as session, session.begin():
        for n, subject in enumerate(subjects):
            enqueue_email(
                session,
                to=f"buyer{n}@example.com",
                subject=subject,
                body=f"Body {n}",
                kind="test",
            )

    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="test",
        FACET_DATABASE_URL=pg_url,
        FACET_MAIL_BACKEND="smtp",
        FACET_SMTP_HOST="127.0.0.1",
        FACET_SMTP_PORT=str(port),
        FACET_SMTP_TIMEOUT_SECONDS="60",  # deliveries wait at the gate
        FACET_LOG_LEVEL="WARNING",
    )
    workers = asyncio.gather(run_worker_process(env), run_worker_process(env))
    try:
        both_claimed = await claimers_seen(pg_sessions, 2, seconds=30)
    finally:
        inbox.gate.set()
        outcomes = await workers
    assert both_claimed, "the second worker never claimed a batch"

    for code, _, err in outcomes:
        assert code == 0, err
    counts = [int(out.split()[1].rstrip(",")) for _, out, _ in outcomes]
    assert sum(counts) == MESSAGES, [out for _, out, _ in outcomes]
    assert all(count > 0 for count in counts), f"one worker did everything: {counts}"

    received = Counter(inbox.subjects)
    assert len(inbox.subjects) == MESSAGES
    assert [s for s, n in received.items() if n > 1] == []
    assert sorted(received) == subjects

    async with pg_sessions() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
    assert len(rows) == MESSAGES
    assert Counter(r.status for r in rows) == {MessageStatus.sent: MESSAGES}
    assert all(r.attempts == 1 for r in rows)
    claimers = Counter(r.claimed_by for r in rows)
    assert len(claimers) == 2, claimers
    assert sorted(claimers.values()) == sorted(counts)
