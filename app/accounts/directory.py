"""The accounts side of `app.privacy.directory.AccountDirectory`."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account


class SqlAccountDirectory:
    async def addresses(
        self, session: AsyncSession, account_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not account_ids:
            return {}
        rows = await session.execute(
            select(Account.id, Account.email).where(Account.id.in_(account_ids), Account.is_active)
        )
        return {row.id: row.email for row in rows}

    async def verified_owners(
        self, session: AsyncSession, emails: list[str]
    ) -> dict[str, uuid.UUID]:
        if not emails:
            return {}
        rows = await session.execute(
            select(Account.id, Account.email).where(
                Account.email.in_(emails), Account.email_verified_at.is_not(None)
            )
        )
        return {row.email: row.id for row in rows}
