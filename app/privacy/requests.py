"""Access, rectification and erasure asked for by email, by people without an account
(guest buyers, referred friends, subscribers) (P8).

Opening a request looks nothing up: it stores the request and mails a verification link
to the address, so the answer, and the work behind it, is the same for an address Facet
knows and one it does not. Only the link's token (stored hashed, valid for a while)
lets the request be carried out, through the registry, for a subject that is just that
address: guest orders placed with it, messages sent to it, and whatever else a handler
finds by it. Accounts are never reached this way: they erase themselves with their
password (`POST /v1/me/privacy/erasure`).
"""

from __future__ import annotations

import calendar
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected, utcnow
from app.core.pagination import paginate_by_creation
from app.core.security import hash_token, new_secret_token
from app.outbox.service import enqueue_email
from app.privacy import service
from app.privacy.errors import PrivacyRequestNotFound
from app.privacy.models import PrivacyRequest, RequestKind, RequestStatus
from app.privacy.registry import Registry, Subject

VERIFY_EMAIL_KIND = "privacy_request_verification"
EXPORT_EMAIL_KIND = "privacy_request_export"


def one_month_after(day: date) -> date:
    """The same day next month, or that month's last day (31 January -> 28/29 February)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class OpenedRequest:
    request: PrivacyRequest
    token: str


def _verification_email(request: PrivacyRequest, token: str) -> tuple[str, str]:
    what = {
        RequestKind.access: "a copy of the personal data we hold about this address",
        RequestKind.rectification: "a correction of the personal data we hold about it",
        RequestKind.erasure: "the erasure of the personal data we hold about this address",
    }[request.kind]
    body = (
        "Hello,\n\n"
        f"Someone asked for {what}. If it was you, confirm the request with this code "
        f"before {request.verify_by:%Y-%m-%d %H:%M} UTC:\n\n"
        f"  request: {request.id}\n  code: {token}\n\n"
        "(send it to POST /v1/privacy/requests/{request}/verify, or follow the link on our "
        "privacy page). If it was not you, ignore this message: nothing happens without "
        "the code.\n\nFacet Fine Jewelry\n"
    )
    return "Confirm your privacy request", body


async def open_request(
    session: AsyncSession,
    *,
    kind: RequestKind,
    email: str,
    details: str | None,
    verify_hours: int,
) -> OpenedRequest:
    """Store the request and mail its verification code; nothing is looked up."""
    now = utcnow()
    token = new_secret_token()
    request = PrivacyRequest(
        id=uuid.uuid4(),
        kind=kind,
        status=RequestStatus.awaiting_verification,
        email=email.strip().lower(),
        details=details,
        token_hash=hash_token(token),
        created_at=now,
        verify_by=now + timedelta(hours=verify_hours),
        due_on=one_month_after(now.date()),
    )
    session.add(request)
    subject, body = _verification_email(request, token)
    enqueue_email(session, to=request.email or "", subject=subject, body=body,
                  kind=VERIFY_EMAIL_KIND)  # fmt: skip
    await session.flush()
    return OpenedRequest(request, token)


@dataclass(frozen=True)
class Carried:
    request: PrivacyRequest
    erasure: service.Erasure | None = None


async def _verified(
    session: AsyncSession, request_id: uuid.UUID, token: str, now: datetime
) -> PrivacyRequest:
    """The request, locked, if the token is its own and still valid. Every failure is the
    same not-found: an id alone tells nothing."""
    request = await session.scalar(
        select(PrivacyRequest).where(PrivacyRequest.id == request_id).with_for_update()
    )
    if (
        request is None
        or request.token_hash is None
        or request.status != RequestStatus.awaiting_verification
        or request.verify_by <= now
        or not hmac.compare_digest(request.token_hash, hash_token(token))
    ):
        raise PrivacyRequestNotFound()
    return request


async def _subject(session: AsyncSession, registry: Registry, email: str) -> Subject:
    subject = Subject(verified_emails={email})
    subject.add_address(email)
    for handler in registry.handlers:
        await handler.expand(session, subject)
    return subject


async def carry_out(
    session: AsyncSession,
    registry: Registry,
    request_id: uuid.UUID,
    token: str,
    *,
    mail_keeps_copies: bool,
    processor_notes: list[service.Kept] | None = None,
) -> Carried:
    """Verify the request, then do it: access mails the export to the address; erasure
    runs every handler for the address (an open order refuses it, and the request stays
    open to be confirmed again once the order ships); rectification waits for staff."""
    now = utcnow()
    request = await _verified(session, request_id, token, now)
    email = request.email or ""
    request.token_hash = None
    request.verified_at = now
    erasure = None
    if request.kind == RequestKind.access:
        subject = await _subject(session, registry, email)
        document = await service.export_document(session, registry, subject)
        enqueue_email(
            session, to=email, subject="The personal data we hold about you",
            body="Hello,\n\nas you asked, here is every personal datum we hold about this "
                 "address, as JSON:\n\n" + json.dumps(document, indent=2, default=str),
            kind=EXPORT_EMAIL_KIND,
        )  # fmt: skip
        request.status, request.completed_at = RequestStatus.completed, now
    elif request.kind == RequestKind.erasure:
        subject = await _subject(session, registry, email)
        erasure = await service.erase_subject(
            session, registry, subject, receipt_to=email, mail_keeps_copies=mail_keeps_copies,
            processor_notes=processor_notes or [],
        )  # fmt: skip
        request.status, request.completed_at = RequestStatus.completed, now
        request.email = request.details = None
    else:
        request.status = RequestStatus.awaiting_staff
    await session.flush()
    return Carried(request, erasure)


async def list_requests(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[PrivacyRequest], str | None]:
    """Every verified or pending request, newest first."""
    return await paginate_by_creation(
        session, select(PrivacyRequest), created_at=PrivacyRequest.created_at,
        id_=PrivacyRequest.id, limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip


async def complete_request(session: AsyncSession, request_id: uuid.UUID) -> PrivacyRequest:
    """Staff mark a verified rectification done (after correcting the data)."""
    request = await session.get(PrivacyRequest, request_id, with_for_update=True)
    if request is None or request.status != RequestStatus.awaiting_staff:
        raise PrivacyRequestNotFound()
    request.status, request.completed_at = RequestStatus.completed, utcnow()
    await session.flush()
    return request


async def purge_unverified(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Requests never verified in time: deleted, address and all."""
    result = await session.execute(
        delete(PrivacyRequest).where(
            PrivacyRequest.status == RequestStatus.awaiting_verification,
            PrivacyRequest.verify_by <= (now or utcnow()),
        )
    )
    return rows_affected(result)
