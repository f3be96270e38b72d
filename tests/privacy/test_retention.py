"""`facet purge`'s retention windows (P8, outdated data): each removes exactly what is
past its window, and a second run removes nothing more."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import LoginSession, RefreshToken
from app.core.db import Base, utcnow
from app.core.security import hash_token, new_secret_token
from app.housekeeping import purge_outdated
from app.outbox.models import MessageStatus, OutboxMessage
from app.outbox.service import enqueue_email
from app.privacy.models import (
    InquiryStatus,
    PrivacyInquiry,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
)
from tests.factories import make_account

JUST = timedelta(minutes=1)


async def ids_left(session: AsyncSession, model: type[Base], ids: list[uuid.UUID]) -> set[int]:
    """Which of the rows (by position in `ids`) are still there."""
    found = set(await session.scalars(select(model.id).where(model.id.in_(ids))))  # type: ignore[attr-defined]
    return {position for position, row_id in enumerate(ids) if row_id in found}


async def test_each_window_removes_exactly_what_is_past_it(
    session: AsyncSession, bound_app: FastAPI
) -> None:
    settings = bound_app.state.settings
    now = utcnow()
    account = await make_account(session)

    def request(status: RequestStatus, verify_by_ago: timedelta) -> PrivacyRequest:
        return PrivacyRequest(
            id=uuid.uuid4(), kind=RequestKind.access, status=status, email="r@example.com",
            token_hash=hash_token(new_secret_token()), created_at=now - timedelta(days=3),
            verify_by=now - verify_by_ago, due_on=now.date(),
        )  # fmt: skip

    requests = [
        request(RequestStatus.awaiting_verification, JUST),  # expired: purged
        request(RequestStatus.awaiting_verification, -timedelta(hours=1)),  # still valid
        request(RequestStatus.completed, timedelta(days=2)),  # done: kept as the record
    ]

    sent_window = timedelta(days=settings.outbox_sent_retention_days)
    messages = []
    for status, sent_ago in ((MessageStatus.sent, sent_window + JUST),
                             (MessageStatus.sent, sent_window - JUST),
                             (MessageStatus.pending, None)):  # fmt: skip
        message = enqueue_email(session, to="m@example.com", subject="s", body="b", kind="k")
        message.id, message.status = uuid.uuid4(), status
        message.sent_at = now - sent_ago if sent_ago else None
        messages.append(message)

    settled = timedelta(days=settings.privacy_inquiry_retention_days)

    def inquiry(status: InquiryStatus, ago: timedelta | None) -> PrivacyInquiry:
        return PrivacyInquiry(
            id=uuid.uuid4(), reference="PI-" + uuid.uuid4().hex[:10].upper(), status=status,
            email="i@example.com", message="m", created_at=now - timedelta(days=800),
            due_on=now.date(),
            answered_at=now - ago if ago and status == InquiryStatus.answered else None,
            closed_at=now - ago if ago and status == InquiryStatus.closed else None,
        )  # fmt: skip

    inquiries = [
        inquiry(InquiryStatus.closed, settled + JUST),  # purged
        inquiry(InquiryStatus.answered, settled + JUST),  # purged
        inquiry(InquiryStatus.closed, settled - JUST),
        inquiry(InquiryStatus.open, None),  # never purged while open, however old
    ]

    ended = timedelta(days=settings.ended_session_retention_days)
    logins = [
        LoginSession(id=uuid.uuid4(), account_id=account.id, started_at=now - timedelta(days=90),
                     expires_at=now - ended - JUST),
        LoginSession(id=uuid.uuid4(), account_id=account.id, started_at=now - timedelta(days=90),
                     expires_at=now - ended + JUST),
    ]  # fmt: skip
    tokens = [
        RefreshToken(id=uuid.uuid4(), account_id=account.id, family_id=login.id,
                     token_hash=hash_token(new_secret_token()), expires_at=login.expires_at)
        for login in logins
    ]  # fmt: skip
    session.add_all([*requests, *inquiries, *logins, *tokens])
    await session.flush()

    first = await purge_outdated(session, settings, now=now)
    second = await purge_outdated(session, settings, now=now)

    assert await ids_left(session, PrivacyRequest, [r.id for r in requests]) == {1, 2}
    assert await ids_left(session, OutboxMessage, [m.id for m in messages]) == {1, 2}
    assert await ids_left(session, PrivacyInquiry, [i.id for i in inquiries]) == {2, 3}
    assert await ids_left(session, LoginSession, [s.id for s in logins]) == {1}
    assert await ids_left(session, RefreshToken, [t.id for t in tokens]) == {1}
    assert first["purged_requests"] >= 1
    assert first["purged_messages"] >= 1
    assert first["purged_inquiries"] >= 2
    assert first["purged_sessions"] >= 1
    assert set(second.values()) == {0}
