"""Contact requests: stored under a reference, acknowledged by email, answered by staff.
Emails are plain text and never repeat what the sender wrote (an acknowledgement must not
carry a stranger's text to whatever address they typed)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.core.errors import AgeRestricted
from app.core.pagination import paginate_by_creation
from app.outbox.models import OutboxMessage
from app.outbox.service import enqueue_email
from app.privacy.subjects import normalize_email
from app.support.errors import SupportRequestAnswered, SupportRequestNotFound
from app.support.models import SupportRequest, SupportStatus
from app.support.schemas import ContactCreate

ACKNOWLEDGEMENT_KIND = "support_acknowledgement"
ANSWER_KIND = "support_answer"
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PURGE_CHUNK = 500


def new_reference() -> str:
    return "FC-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))


async def open_request(session: AsyncSession, data: ContactCreate) -> SupportRequest:
    if not data.is_adult:  # first: a minor's request stores nothing (P9)
        raise AgeRestricted("Facet does not collect data from persons under 18.")
    # 32^8 references: a clash fails the request (unique) rather than merging two.
    request = SupportRequest(
        reference=new_reference(),
        name=data.name,
        email=normalize_email(data.email),
        topic=data.topic,
        message=data.message,
        status=SupportStatus.open,
    )
    session.add(request)
    enqueue_email(
        session,
        to=request.email,
        subject=f"We received your message ({request.reference})",
        body=(
            f'Hello,\n\nWe received your message about "{data.topic.value}" and will answer '
            f"within two working days. Your reference is {request.reference}.\n\n"
            "Facet Fine Jewelry customer service\n"
        ),
        kind=ACKNOWLEDGEMENT_KIND,
    )
    await session.flush()
    return request


async def list_requests(
    session: AsyncSession, *, status: SupportStatus | None, limit: int, cursor: str | None
) -> tuple[list[SupportRequest], str | None]:
    query = select(SupportRequest)
    if status is not None:
        query = query.where(SupportRequest.status == status)
    return await paginate_by_creation(
        session, query, created_at=SupportRequest.created_at, id_=SupportRequest.id,
        limit=limit, cursor=cursor,
    )  # fmt: skip


async def answer(
    session: AsyncSession, staff_id: uuid.UUID, request_id: uuid.UUID, text: str
) -> SupportRequest:
    request = await session.get(SupportRequest, request_id, with_for_update=True)
    if request is None:
        raise SupportRequestNotFound()
    if request.status == SupportStatus.answered:
        raise SupportRequestAnswered()
    request.status = SupportStatus.answered
    request.answer = text
    request.answered_at = utcnow()
    request.answered_by = staff_id
    enqueue_email(
        session,
        to=request.email,
        subject=f"Re: your message ({request.reference})",
        body=f"Hello,\n\n{text}\n\nReference: {request.reference}\nFacet Fine Jewelry\n",
        kind=ANSWER_KIND,
    )
    await session.flush()
    return request


async def purge_answered(
    session: AsyncSession, *, retention_days: int, now: datetime | None = None
) -> int:
    """Answered requests older than the retention window (counted from the answer), with
    the emails about them still in the outbox (found by the reference in their subject;
    sent ones usually went earlier, with the outbox's own window). Open ones stay."""
    before = (now or utcnow()) - timedelta(days=retention_days)
    references = list(
        await session.scalars(
            select(SupportRequest.reference).where(
                SupportRequest.status == SupportStatus.answered,
                SupportRequest.answered_at < before,
            )
        )
    )
    purged = 0
    for start in range(0, len(references), PURGE_CHUNK):
        chunk = references[start : start + PURGE_CHUNK]
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.kind.in_([ACKNOWLEDGEMENT_KIND, ANSWER_KIND]),
                or_(*(OutboxMessage.subject.contains(f"({ref})") for ref in chunk)),
            )
        )
        deleted = await session.execute(
            delete(SupportRequest).where(SupportRequest.reference.in_(chunk))
        )
        purged += rows_affected(deleted)
    return purged
