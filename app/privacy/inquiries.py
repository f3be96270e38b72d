"""Privacy questions and complaints (P13): acknowledged with a reference number and the
due date, answered by staff by email, closed; an inquiry still open after its due date is
overdue, and the acknowledgement says where to escalate it then."""

from __future__ import annotations

import secrets
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.core.errors import AgeRestricted
from app.core.pagination import paginate_by_creation
from app.outbox.service import enqueue_email
from app.privacy.errors import InquiryClosed, InquiryNotFound
from app.privacy.models import InquiryStatus, PrivacyInquiry

ACK_EMAIL_KIND = "privacy_inquiry_acknowledgement"
ANSWER_EMAIL_KIND = "privacy_inquiry_answer"
# Unambiguous letters and digits (no 0/O, 1/I) for a reference read over the phone.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    return "PI-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def is_overdue(inquiry: PrivacyInquiry, today: date | None = None) -> bool:
    return inquiry.status == InquiryStatus.open and inquiry.due_on < (today or utcnow().date())


async def open_inquiry(
    session: AsyncSession,
    *,
    email: str,
    message: str,
    is_adult: bool,
    due_days: int,
    escalation_body: str,
) -> PrivacyInquiry:
    """Record the inquiry and queue its acknowledgement; a minor's stores nothing (P9)."""
    if not is_adult:
        raise AgeRestricted("Only people aged 18 or over can send this.", parameter="is_adult")
    now = utcnow()
    inquiry = PrivacyInquiry(
        id=uuid.uuid4(), reference=new_reference(), status=InquiryStatus.open,
        email=email.strip().lower(), message=message, created_at=now,
        due_on=now.date() + timedelta(days=due_days),
    )  # fmt: skip
    session.add(inquiry)
    enqueue_email(
        session, to=inquiry.email or "", kind=ACK_EMAIL_KIND,
        subject=f"We received your privacy inquiry {inquiry.reference}",
        body=(
            f"Hello,\n\nwe received your inquiry about your personal data. Its reference "
            f"is {inquiry.reference}. We will answer by {inquiry.due_on.isoformat()}.\n\n"
            f"If it is not resolved by then, you may escalate it to {escalation_body}, "
            "quoting this reference.\n\nFacet Fine Jewelry\n"
        ),
    )  # fmt: skip
    await session.flush()
    return inquiry


async def list_inquiries(
    session: AsyncSession, *, overdue_only: bool, limit: int, cursor: str | None
) -> tuple[list[PrivacyInquiry], str | None]:
    query = select(PrivacyInquiry)
    if overdue_only:
        query = query.where(
            PrivacyInquiry.status == InquiryStatus.open,
            PrivacyInquiry.due_on < utcnow().date(),
        )
    return await paginate_by_creation(
        session, query, created_at=PrivacyInquiry.created_at, id_=PrivacyInquiry.id,
        limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip


async def _locked(session: AsyncSession, inquiry_id: uuid.UUID) -> PrivacyInquiry:
    inquiry = await session.get(PrivacyInquiry, inquiry_id, with_for_update=True)
    if inquiry is None:
        raise InquiryNotFound()
    if inquiry.status == InquiryStatus.closed:
        raise InquiryClosed()
    return inquiry


async def answer_inquiry(
    session: AsyncSession, inquiry_id: uuid.UUID, *, answer: str
) -> PrivacyInquiry:
    """Email the answer to the inquirer; answering again sends the new answer too."""
    inquiry = await _locked(session, inquiry_id)
    if inquiry.email is None:  # its subject was erased meanwhile
        raise InquiryClosed()
    inquiry.answer, inquiry.answered_at = answer, utcnow()
    inquiry.status = InquiryStatus.answered
    enqueue_email(
        session, to=inquiry.email, kind=ANSWER_EMAIL_KIND,
        subject=f"Our answer to your privacy inquiry {inquiry.reference}",
        body=f"Hello,\n\n{answer}\n\nReference: {inquiry.reference}\n\nFacet Fine Jewelry\n",
    )  # fmt: skip
    await session.flush()
    return inquiry


async def close_inquiry(session: AsyncSession, inquiry_id: uuid.UUID) -> PrivacyInquiry:
    inquiry = await _locked(session, inquiry_id)
    inquiry.status, inquiry.closed_at = InquiryStatus.closed, utcnow()
    await session.flush()
    return inquiry


async def purge_settled(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> int:
    """Answered or closed inquiries whose last step is older than the retention window."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    result = await session.execute(
        delete(PrivacyInquiry).where(
            or_(
                (PrivacyInquiry.status == InquiryStatus.closed)
                & (PrivacyInquiry.closed_at < before),
                (PrivacyInquiry.status == InquiryStatus.answered)
                & (PrivacyInquiry.answered_at < before),
            )
        )
    )
    return rows_affected(result)
