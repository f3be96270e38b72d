"""The testimonials domain's personal-data handler: a customer's testimonials are theirs,
exported with them and deleted on erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected
from app.privacy.registry import ErasureResult, Subject
from app.testimonials.models import Testimonial


class TestimonialsPersonalData:
    name = "testimonials"
    tables = frozenset({"testimonials"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        if subject.account_id is None:
            return {}
        rows = await session.scalars(
            select(Testimonial)
            .where(Testimonial.account_id == subject.account_id)
            .order_by(Testimonial.created_at)
        )
        return {
            "testimonials": [
                {"title": t.title, "body": t.body, "rating": t.rating,
                 "product_id": t.product_id, "status": t.status.value,
                 "created_at": t.created_at}
                for t in rows
            ]
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        if subject.account_id is not None:
            deleted = await session.execute(
                delete(Testimonial).where(Testimonial.account_id == subject.account_id)
            )
            result.count_deleted("testimonials", rows_affected(deleted))
        return result
