"""The privacy domain's own personal-data handler: an account's policy acceptances."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.privacy.models import PolicyAcceptance
from app.privacy.registry import ErasureResult, Subject


class PolicyAcceptancesPersonalData:
    name = "policy_acceptances"
    tables = frozenset({"privacy_policy_acceptances"})

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        if subject.account_id is None:
            return {}
        rows = await session.scalars(
            select(PolicyAcceptance)
            .where(PolicyAcceptance.account_id == subject.account_id)
            .order_by(PolicyAcceptance.accepted_at)
        )
        return {
            "policy_acceptances": [
                {"version": row.version, "accepted_at": row.accepted_at} for row in rows
            ]
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        if subject.account_id is not None:
            deleted = await session.execute(
                delete(PolicyAcceptance).where(PolicyAcceptance.account_id == subject.account_id)
            )
            result.count_deleted(
                "privacy_policy_acceptances", int(getattr(deleted, "rowcount", 0) or 0)
            )
        return result
