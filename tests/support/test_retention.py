"""`facet purge` deletes answered contact requests past their retention, with the emails
about them still in the outbox, and keeps recent and open ones."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from app.cli import migrate
from app.core.db import create_engine, create_sessionmaker, utcnow
from app.core.settings import Settings
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue_email
from app.support.models import ContactTopic, SupportRequest, SupportStatus
from app.support.service import ANSWER_KIND
from tests.test_cli import run_facet

RETENTION_DAYS = Settings.model_fields["support_request_retention_days"].default


def contact_request(reference: str, *, answered_days_ago: int | None) -> SupportRequest:
    now = utcnow()
    answered_at = now - timedelta(days=answered_days_ago) if answered_days_ago else None
    return SupportRequest(
        reference=reference, name="Grace Hopper", email=f"{reference.lower()}@example.org",
        topic=ContactTopic.order, message="Where is my parcel?",
        status=SupportStatus.answered if answered_at else SupportStatus.open,
        created_at=now - timedelta(days=RETENTION_DAYS + 30),
        answer="It ships today." if answered_at else None, answered_at=answered_at,
    )  # fmt: skip


async def test_facet_purge_deletes_answered_contact_requests_past_the_retention(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'support.db'}"
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add_all([
                contact_request("FC-OLD", answered_days_ago=RETENTION_DAYS + 1),
                contact_request("FC-RECENT", answered_days_ago=RETENTION_DAYS - 1),
                contact_request("FC-OPEN", answered_days_ago=None),  # unanswered: kept
            ])  # fmt: skip
            for reference in ("FC-OLD", "FC-RECENT"):  # answers never delivered
                enqueue_email(session, to=f"{reference.lower()}@example.org",
                              subject=f"Re: your message ({reference})", body="b",
                              kind=ANSWER_KIND)  # fmt: skip

        result = await asyncio.to_thread(run_facet, "purge", database_url=url)

        assert result.returncode == 0, result.stderr
        assert "1 answered contact requests" in result.stdout
        async with create_sessionmaker(engine)() as session:
            left = set(await session.scalars(select(SupportRequest.reference)))
            mailed = set(await session.scalars(select(OutboxMessage.recipient)))
        assert left == {"FC-RECENT", "FC-OPEN"}
        assert mailed == {"fc-recent@example.org"}
    finally:
        await engine.dispose()
