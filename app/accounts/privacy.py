"""What the accounts domain hands the privacy domain (which imports no other domain)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account

NOTICE_BATCH = 500


async def active_account_emails(
    session: AsyncSession, *, batch_size: int = NOTICE_BATCH
) -> AsyncIterator[list[str]]:
    """Every active account's email, in batches ordered by id (a stable keyset walk)."""
    after: uuid.UUID | None = None
    while True:
        query = (
            select(Account.id, Account.email)
            .where(Account.is_active)
            .order_by(Account.id)
            .limit(batch_size)
        )
        if after is not None:
            query = query.where(Account.id > after)
        rows = (await session.execute(query)).all()
        if not rows:
            return
        yield [row.email for row in rows]
        after = rows[-1].id
