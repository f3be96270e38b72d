"""Privacy requests from people without an account, inquiries (P13) and legal
disclosures (P10): the public routes and the staff routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status

from app.accounts.deps import StaffAccount
from app.adapters.deps import MailSenderDep
from app.core.deps import ClientKeyDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import AgeRestricted, TooManyRequests
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.privacy import disclosures, inquiries, requests, service
from app.privacy.deps import RegistryDep
from app.privacy.errors import (
    DisclosureSubjectRequired,
    ErasureBlockedByOpenOrder,
    InquiryClosed,
    InquiryNotFound,
    PrivacyRequestNotFound,
    UnknownDisclosureAccount,
)
from app.privacy.models import PrivacyInquiry
from app.privacy.processors import ErasureNotesDep
from app.privacy.schemas import (
    DisclosureCreate,
    DisclosureRead,
    InquiryAcknowledged,
    InquiryAnswer,
    InquiryCreate,
    InquiryRead,
    PrivacyRequestAccepted,
    PrivacyRequestCreate,
    PrivacyRequestRead,
    PrivacyRequestResult,
    PrivacyRequestVerify,
)

public_router = APIRouter(prefix="/privacy", tags=["privacy"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/privacy", tags=["admin"], route_class=FacetRoute)


@raises(TooManyRequests)
async def limit_privacy_requests(
    backend: RateLimitDep, settings: SettingsDep, client_key: ClientKeyDep
) -> None:
    """Requests, confirmations and inquiries per client address: counted before the
    request's session touches the database (the counter may write in its own)."""
    window = await backend.hit(f"privacy-request:ip:{client_key}", 3600)
    if window.count > settings.privacy_requests_per_ip_per_hour:
        raise TooManyRequests(window.resets_in, "Too many privacy requests from this address.")


THROTTLED = [Depends(limit_privacy_requests)]


@public_router.post(
    "/requests",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="openPrivacyRequest",
    summary="Request access to, correction or erasure of personal data",
    dependencies=THROTTLED,
)
async def open_privacy_request(
    session: SessionDep, settings: SettingsDep, body: PrivacyRequestCreate
) -> PrivacyRequestAccepted:
    """Ask for access to, rectification or erasure of the personal data held about an
    email address, without an account (P8). A code is mailed to the address; nothing is
    done until it is sent back to `/verify`. The answer is the same whether or not the
    store knows the address."""
    opened = await requests.open_request(
        session, kind=body.type, email=body.email, details=body.details,
        verify_hours=settings.privacy_request_verify_hours,
    )  # fmt: skip
    return PrivacyRequestAccepted.model_validate(opened.request)


@public_router.post(
    "/requests/{request_id}/verify",
    operation_id="verifyPrivacyRequest",
    summary="Confirm a privacy request",
    responses=problem_responses(PrivacyRequestNotFound, ErasureBlockedByOpenOrder),
    dependencies=THROTTLED,
)
async def verify_privacy_request(
    session: SessionDep,
    registry: RegistryDep,
    sender: MailSenderDep,
    processor_notes: ErasureNotesDep,
    background: BackgroundTasks,
    request_id: uuid.UUID,
    body: PrivacyRequestVerify,
) -> PrivacyRequestResult:
    """Confirm a request with the mailed code, which carries it out: access mails the
    export to the address; erasure deletes or anonymizes what is held about the address
    (guest orders as for accounts: an order being paid, or paid and not shipped, refuses
    it with 409 until it ships or is cancelled, and the code stays valid meanwhile) and
    mails a receipt; rectification is recorded for staff. A wrong, used or expired code
    is 404, like an unknown id."""
    carried = await requests.carry_out(
        session, registry, request_id, body.token,
        mail_keeps_copies=sender.keeps_copies, processor_notes=processor_notes,
    )  # fmt: skip
    if carried.erasure is not None:
        background.add_task(service.send_receipt_and_forget, sender, carried.erasure)
    result = PrivacyRequestResult.model_validate(carried.request)
    if carried.erasure is not None:
        result.receipt = carried.erasure.receipt
    return result


@public_router.post(
    "/inquiries",
    status_code=status.HTTP_201_CREATED,
    operation_id="openPrivacyInquiry",
    summary="Send a privacy question or complaint",
    responses=problem_responses(AgeRestricted),
    dependencies=THROTTLED,
)
async def open_privacy_inquiry(
    session: SessionDep, settings: SettingsDep, body: InquiryCreate
) -> InquiryAcknowledged:
    """Ask a question or make a complaint about personal data (P13): the answer carries a
    reference and the due date, also mailed. Without the 18+ attestation nothing is
    stored (P9)."""
    inquiry = await inquiries.open_inquiry(
        session, email=body.email, message=body.message, is_adult=body.is_adult,
        due_days=settings.privacy_inquiry_due_days,
        escalation_body=settings.privacy_escalation_body,
    )  # fmt: skip
    return InquiryAcknowledged(
        reference=inquiry.reference,
        due_on=inquiry.due_on,
        escalation=settings.privacy_escalation_body,
    )


@admin_router.get(
    "/requests",
    operation_id="adminListPrivacyRequests",
    summary="List privacy requests",
    responses=problem_responses(InvalidCursor),
)
async def list_privacy_requests(
    session: SessionDep, _: StaffAccount, limit: Limit = 50, cursor: Cursor = None
) -> Page[PrivacyRequestRead]:
    """Every privacy request, newest first, with its status and due date (staff only)."""
    rows, next_cursor = await requests.list_requests(session, limit=limit, cursor=cursor)
    return Page[PrivacyRequestRead](
        items=[PrivacyRequestRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@admin_router.post(
    "/requests/{request_id}/complete",
    operation_id="adminCompletePrivacyRequest",
    summary="Complete a privacy request",
    responses=problem_responses(PrivacyRequestNotFound),
)
async def complete_privacy_request(
    session: SessionDep, _: StaffAccount, request_id: uuid.UUID
) -> PrivacyRequestRead:
    """Mark a verified rectification done, once the data is corrected (for an order's
    contact data: `PATCH /v1/admin/orders/{id}/contact`)."""
    return PrivacyRequestRead.model_validate(await requests.complete_request(session, request_id))


def _inquiry_read(inquiry: PrivacyInquiry) -> InquiryRead:
    return InquiryRead(
        id=inquiry.id, reference=inquiry.reference, status=inquiry.status, email=inquiry.email,
        message=inquiry.message, answer=inquiry.answer, created_at=inquiry.created_at,
        due_on=inquiry.due_on, answered_at=inquiry.answered_at, closed_at=inquiry.closed_at,
        overdue=inquiries.is_overdue(inquiry),
    )  # fmt: skip


@admin_router.get(
    "/inquiries",
    operation_id="adminListPrivacyInquiries",
    summary="List privacy inquiries",
    responses=problem_responses(InvalidCursor),
)
async def list_privacy_inquiries(
    session: SessionDep,
    _: StaffAccount,
    overdue: Annotated[bool, Query(description="Only open inquiries past their due date.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InquiryRead]:
    """Privacy inquiries, newest first; `overdue` flags open ones past their due date."""
    rows, next_cursor = await inquiries.list_inquiries(
        session, overdue_only=overdue, limit=limit, cursor=cursor
    )
    return Page[InquiryRead](items=[_inquiry_read(i) for i in rows], next_cursor=next_cursor)


@admin_router.post(
    "/inquiries/{inquiry_id}/answer",
    operation_id="adminAnswerPrivacyInquiry",
    summary="Answer a privacy inquiry",
    responses=problem_responses(InquiryNotFound, InquiryClosed),
)
async def answer_privacy_inquiry(
    session: SessionDep, _: StaffAccount, inquiry_id: uuid.UUID, body: InquiryAnswer
) -> InquiryRead:
    """Answer an inquiry; the answer is emailed to the inquirer."""
    return _inquiry_read(await inquiries.answer_inquiry(session, inquiry_id, answer=body.answer))


@admin_router.post(
    "/inquiries/{inquiry_id}/close",
    operation_id="adminClosePrivacyInquiry",
    summary="Close a privacy inquiry",
    responses=problem_responses(InquiryNotFound, InquiryClosed),
)
async def close_privacy_inquiry(
    session: SessionDep, _: StaffAccount, inquiry_id: uuid.UUID
) -> InquiryRead:
    """Close an inquiry (answered, or settled otherwise)."""
    return _inquiry_read(await inquiries.close_inquiry(session, inquiry_id))


@admin_router.post(
    "/disclosures",
    status_code=status.HTTP_201_CREATED,
    operation_id="adminRecordLegalDisclosure",
    summary="Record a legal disclosure",
    responses=problem_responses(DisclosureSubjectRequired, UnknownDisclosureAccount),
)
async def record_legal_disclosure(
    session: SessionDep, staff: StaffAccount, body: DisclosureCreate
) -> DisclosureRead:
    """Record a disclosure of personal data required by law (P10). Records are
    append-only; the subject's export lists them."""
    disclosure = await disclosures.record_disclosure(session, body, recorded_by=staff.id)
    return DisclosureRead.model_validate(disclosure)


@admin_router.get(
    "/disclosures",
    operation_id="adminListLegalDisclosures",
    summary="List legal disclosures",
    responses=problem_responses(InvalidCursor),
)
async def list_legal_disclosures(
    session: SessionDep, _: StaffAccount, limit: Limit = 50, cursor: Cursor = None
) -> Page[DisclosureRead]:
    """Every recorded legal disclosure, newest first (staff only)."""
    rows, next_cursor = await disclosures.list_disclosures(session, limit=limit, cursor=cursor)
    return Page[DisclosureRead](
        items=[DisclosureRead.model_validate(d) for d in rows], next_cursor=next_cursor
    )
