"""Testimonials (P5): submitted by customers, approved by staff, shown with the
customer's name only while the `testimonial_name` consent holds."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.catalog.models import Product
from app.core.db import utcnow
from app.core.errors import AgeRestricted
from app.core.pagination import paginate_by_creation
from app.orders.models import Order, OrderLine, OrderStatus
from app.privacy import consent
from app.privacy.consent_models import ConsentSource, Purpose
from app.privacy.subjects import account_subject
from app.testimonials.errors import TestimonialNotFound, UnknownProduct
from app.testimonials.models import Testimonial, TestimonialStatus
from app.testimonials.schemas import TestimonialCreate, TestimonialRead

ANONYMOUS = "A Facet customer"
PAID_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.delivered)


def display_name(full_name: str) -> str:
    """First name and the initial of the last: enough to be recognised by friends."""
    parts = full_name.split()
    if len(parts) < 2:
        return parts[0] if parts else ANONYMOUS
    return f"{parts[0]} {parts[-1][0]}."


async def bought(session: AsyncSession, account_id: uuid.UUID, product_id: uuid.UUID) -> bool:
    paid_line = (
        select(OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.account_id == account_id,
            Order.status.in_(PAID_STATUSES),
            OrderLine.product_id == product_id,
        )
    )
    return bool(await session.scalar(select(exists(paid_line))))


async def submit(session: AsyncSession, account: Account, data: TestimonialCreate) -> Testimonial:
    if not data.is_adult:  # first: a minor's submission stores nothing (P9)
        raise AgeRestricted("Facet does not collect testimonials from persons under 18.")
    verified = False
    if data.product_id is not None:
        if await session.get(Product, data.product_id) is None:
            raise UnknownProduct(parameter="product_id")
        verified = await bought(session, account.id, data.product_id)
    testimonial = Testimonial(
        account_id=account.id,
        product_id=data.product_id,
        title=data.title,
        body=data.body,
        rating=data.rating,
        verified_purchase=verified,
        status=TestimonialStatus.pending,
    )
    session.add(testimonial)
    # The choice goes to the ledger; unticked records nothing (everything starts withdrawn)
    # but a withdrawal of an earlier grant is recorded like any other.
    await consent.record(
        session,
        account_subject(account.id),
        {Purpose.testimonial_name: data.show_name},
        source=ConsentSource.preferences,
    )
    await session.flush()
    return testimonial


async def list_approved(
    session: AsyncSession,
    *,
    product_id: uuid.UUID | None,
    rating: int | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[TestimonialRead], str | None]:
    query = select(Testimonial).where(Testimonial.status == TestimonialStatus.approved)
    if product_id is not None:
        query = query.where(Testimonial.product_id == product_id)
    if rating is not None:
        query = query.where(Testimonial.rating == rating)
    rows, next_cursor = await paginate_by_creation(
        session, query, created_at=Testimonial.created_at, id_=Testimonial.id,
        limit=limit, cursor=cursor, newest_first=True,
    )  # fmt: skip
    return [await _public(session, row) for row in rows], next_cursor


async def _public(session: AsyncSession, row: Testimonial) -> TestimonialRead:
    author = ANONYMOUS
    # Asked of the ledger on every read: a withdrawal hides the name at once.
    if await consent.holds(session, account_subject(row.account_id), Purpose.testimonial_name):
        name = await session.scalar(select(Account.full_name).where(Account.id == row.account_id))
        author = display_name(name) if name else ANONYMOUS
    return TestimonialRead(
        id=row.id, title=row.title, body=row.body, rating=row.rating,
        product_id=row.product_id, verified_purchase=row.verified_purchase,
        author=author, created_at=row.created_at,
    )  # fmt: skip


async def list_mine(session: AsyncSession, account_id: uuid.UUID) -> list[Testimonial]:
    rows = await session.scalars(
        select(Testimonial)
        .where(Testimonial.account_id == account_id)
        .order_by(Testimonial.created_at.desc(), Testimonial.id.desc())
    )
    return list(rows)


async def delete_mine(
    session: AsyncSession, account_id: uuid.UUID, testimonial_id: uuid.UUID
) -> None:
    """Another customer's testimonial is as unknown as a missing one (404)."""
    row = await session.scalar(
        select(Testimonial).where(
            and_(Testimonial.id == testimonial_id, Testimonial.account_id == account_id)
        )
    )
    if row is None:
        raise TestimonialNotFound()
    await session.delete(row)
    await session.flush()


async def list_for_review(
    session: AsyncSession, *, status: TestimonialStatus | None, limit: int, cursor: str | None
) -> tuple[list[Testimonial], str | None]:
    query = select(Testimonial)
    if status is not None:
        query = query.where(Testimonial.status == status)
    return await paginate_by_creation(
        session, query, created_at=Testimonial.created_at, id_=Testimonial.id,
        limit=limit, cursor=cursor,
    )  # fmt: skip


async def decide(
    session: AsyncSession, staff_id: uuid.UUID, testimonial_id: uuid.UUID, status: str
) -> Testimonial:
    row = await session.get(Testimonial, testimonial_id, with_for_update=True)
    if row is None:
        raise TestimonialNotFound()
    row.status = TestimonialStatus(status)
    row.reviewed_at = utcnow()
    row.reviewed_by = staff_id
    await session.flush()
    return row
