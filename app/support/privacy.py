"""The support domain's personal-data handler: contact requests sent from the subject's
addresses are exported with them and deleted on erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import rows_affected
from app.privacy.registry import ErasureResult, Subject
from app.support.models import SupportRequest


class SupportPersonalData:
    name = "support_requests"
    tables = frozenset({"support_requests"})

    def _from_subject(self, subject: Subject) -> Any:
        if not subject.mail_addresses:
            return false()
        return func.lower(SupportRequest.email).in_(sorted(subject.mail_addresses))

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        rows = await session.scalars(
            select(SupportRequest)
            .where(self._from_subject(subject))
            .order_by(SupportRequest.created_at)
        )
        return {
            "support_requests": [
                {"reference": r.reference, "name": r.name, "email": r.email,
                 "topic": r.topic.value, "message": r.message, "answer": r.answer,
                 "created_at": r.created_at, "answered_at": r.answered_at}
                for r in rows
            ]
        }  # fmt: skip

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        deleted = await session.execute(delete(SupportRequest).where(self._from_subject(subject)))
        result.count_deleted("support_requests", rows_affected(deleted))
        return result
