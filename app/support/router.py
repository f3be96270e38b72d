"""The contact channel to customer service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from app.accounts.deps import StaffAccount
from app.core.deps import ClientKeyDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import AgeRestricted, TooManyRequests
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.support import service
from app.support.errors import SupportRequestAnswered, SupportRequestNotFound
from app.support.models import SupportStatus
from app.support.schemas import ContactCreate, ContactReceipt, SupportAnswer, SupportRequestRead

router = APIRouter(tags=["support"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/support-requests", tags=["admin"], route_class=FacetRoute)

HOUR_SECONDS = 3600


@raises(TooManyRequests)
async def limit_contact_requests(
    limiter: RateLimitDep, settings: SettingsDep, client_key: ClientKeyDep
) -> None:
    """Per client address, counted before the request's session is used (the counter may
    write in its own transaction)."""
    window = await limiter.hit(f"contact:ip:{client_key}", HOUR_SECONDS)
    if window.count > settings.contact_requests_per_ip_per_hour:
        raise TooManyRequests(window.resets_in, "Too many messages from this address; try later.")


@router.post(
    "/contact",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="contactCustomerService",
    summary="Contact customer service",
    response_model=ContactReceipt,
    responses=problem_responses(AgeRestricted),
    dependencies=[Depends(limit_contact_requests)],
)
async def contact(session: SessionDep, body: ContactCreate) -> ContactReceipt:
    """Write to customer service (18+ attestation required). The answer carries a
    reference, and an acknowledgement email repeats it; the message is never echoed back.
    Limited per client address (429 with `Retry-After`)."""
    request = await service.open_request(session, body)
    return ContactReceipt(reference=request.reference)


@admin_router.get(
    "",
    operation_id="adminListSupportRequests",
    summary="List support requests",
    response_model=Page[SupportRequestRead],
    responses=problem_responses(InvalidCursor),
)
async def list_requests(
    session: SessionDep,
    _: StaffAccount,
    status_filter: Annotated[SupportStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[SupportRequestRead]:
    """Contact requests, oldest first, optionally by status. Plain text: show as text."""
    rows, next_cursor = await service.list_requests(
        session, status=status_filter, limit=limit, cursor=cursor
    )
    return Page(items=[SupportRequestRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@admin_router.post(
    "/{request_id}/answer",
    operation_id="adminAnswerSupportRequest",
    summary="Answer a support request",
    response_model=SupportRequestRead,
    responses=problem_responses(SupportRequestNotFound, SupportRequestAnswered),
)
async def answer(
    session: SessionDep, staff: StaffAccount, request_id: uuid.UUID, body: SupportAnswer
) -> SupportRequestRead:
    """Answer a request once: the answer is emailed to the sender as plain text."""
    request = await service.answer(session, staff.id, request_id, body.answer)
    return SupportRequestRead.model_validate(request)
