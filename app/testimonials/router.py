"""Testimonials (P5)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.accounts.deps import CurrentAccount, StaffAccount
from app.core.deps import SessionDep
from app.core.errors import AgeRestricted
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.testimonials import service
from app.testimonials.errors import TestimonialNotFound, UnknownProduct
from app.testimonials.models import TestimonialStatus
from app.testimonials.schemas import (
    AdminTestimonial,
    MyTestimonial,
    TestimonialCreate,
    TestimonialDecision,
    TestimonialRead,
)

router = APIRouter(tags=["testimonials"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/testimonials", tags=["admin"], route_class=FacetRoute)


@router.post(
    "/testimonials",
    status_code=status.HTTP_201_CREATED,
    operation_id="submitTestimonial",
    summary="Submit a testimonial",
    response_model=MyTestimonial,
    responses=problem_responses(AgeRestricted, UnknownProduct),
)
async def submit(
    session: SessionDep, account: CurrentAccount, body: TestimonialCreate
) -> MyTestimonial:
    """Submit a testimonial for staff review. `show_name` records the `testimonial_name`
    consent; without it the testimonial is shown under an anonymous label. Marked a
    verified purchase when you have a paid order for the product."""
    testimonial = await service.submit(session, account, body)
    return MyTestimonial.model_validate(testimonial)


@router.get(
    "/testimonials",
    operation_id="listTestimonials",
    summary="List testimonials",
    response_model=Page[TestimonialRead],
    responses=problem_responses(InvalidCursor),
)
async def list_testimonials(
    session: SessionDep,
    product_id: uuid.UUID | None = None,
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[TestimonialRead]:
    """Approved testimonials, newest first, with the customer's name only while they
    consent to it."""
    items, next_cursor = await service.list_approved(
        session, product_id=product_id, rating=rating, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/me/testimonials",
    operation_id="listMyTestimonials",
    summary="List my testimonials",
    response_model=list[MyTestimonial],
)
async def list_mine(session: SessionDep, account: CurrentAccount) -> list[MyTestimonial]:
    """Your testimonials and their review status."""
    return [MyTestimonial.model_validate(t) for t in await service.list_mine(session, account.id)]


@router.delete(
    "/me/testimonials/{testimonial_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteMyTestimonial",
    summary="Delete my testimonial",
    responses=problem_responses(TestimonialNotFound),
)
async def delete_mine(
    session: SessionDep, account: CurrentAccount, testimonial_id: uuid.UUID
) -> Response:
    """Remove one of your testimonials for good."""
    await service.delete_mine(session, account.id, testimonial_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get(
    "",
    operation_id="adminListTestimonials",
    summary="List testimonials awaiting or past review",
    response_model=Page[AdminTestimonial],
    responses=problem_responses(InvalidCursor),
)
async def admin_list(
    session: SessionDep,
    _: StaffAccount,
    status_filter: Annotated[TestimonialStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[AdminTestimonial]:
    """Testimonials to review (oldest first), optionally by status."""
    rows, next_cursor = await service.list_for_review(
        session, status=status_filter, limit=limit, cursor=cursor
    )
    return Page(items=[AdminTestimonial.model_validate(r) for r in rows], next_cursor=next_cursor)


@admin_router.put(
    "/{testimonial_id}/status",
    operation_id="adminDecideTestimonial",
    summary="Approve or reject a testimonial",
    response_model=AdminTestimonial,
    responses=problem_responses(TestimonialNotFound),
)
async def decide(
    session: SessionDep, staff: StaffAccount, testimonial_id: uuid.UUID, body: TestimonialDecision
) -> AdminTestimonial:
    """Approve (publish) or reject a testimonial."""
    row = await service.decide(session, staff.id, testimonial_id, body.status)
    return AdminTestimonial.model_validate(row)
