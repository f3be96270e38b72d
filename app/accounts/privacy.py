"""What the accounts domain hands the privacy domain (which imports no other domain)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import (
    Account,
    Address,
    EmailVerificationToken,
    LoginSession,
    RefreshToken,
)
from app.core.db import rows_affected
from app.privacy.registry import ErasureResult, Subject

NOTICE_BATCH = 500
ADDRESS_FIELDS = (
    "id", "full_name", "line1", "line2", "city", "region", "postal_code", "country", "phone",
    "is_default",
)  # fmt: skip


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


class AccountsPersonalData:
    """The account, its saved addresses, login sessions, refresh tokens and email
    verification links. Runs last in an erasure: every other domain finds the subject's
    rows through the account first."""

    name = "account"
    tables = frozenset({
        "accounts", "addresses", "login_sessions", "refresh_tokens", "email_verification_tokens",
    })  # fmt: skip

    async def expand(self, session: AsyncSession, subject: Subject) -> None:
        if subject.account_id is None:
            return
        account = await session.get(Account, subject.account_id)
        if account is None:
            return
        subject.account_email = account.email
        subject.add_address(account.email)
        subject.add_term(account.full_name)
        subject.add_term(account.phone)
        for address in await session.scalars(
            select(Address).where(Address.account_id == account.id)
        ):
            subject.add_term(address.full_name)
            subject.add_term(address.line1)
            subject.add_term(address.phone)
        # Only a verified address links guest orders placed with it (and the consent it
        # gave as a guest): before, anyone could have typed it.
        if account.email_verified:
            subject.verified_emails.add(account.email.strip().lower())

    async def export(self, session: AsyncSession, subject: Subject) -> dict[str, Any]:
        if subject.account_id is None:
            return {}
        account = await session.get(Account, subject.account_id)
        if account is None:
            return {}
        addresses = await session.scalars(
            select(Address)
            .where(Address.account_id == account.id)
            .order_by(Address.created_at, Address.id)
        )
        sessions = await session.scalars(
            select(LoginSession)
            .where(LoginSession.account_id == account.id)
            .order_by(LoginSession.started_at)
        )
        links = await session.scalars(
            select(EmailVerificationToken)
            .where(EmailVerificationToken.account_id == account.id)
            .order_by(EmailVerificationToken.created_at, EmailVerificationToken.id)
        )
        return {
            "account": {
                "id": account.id,
                "email": account.email,
                "full_name": account.full_name,
                "phone": account.phone,
                "role": account.role.value,
                "created_at": account.created_at,
                "adult_verified_at": account.adult_verified_at,
            },
            "addresses": [
                {column: getattr(address, column) for column in ADDRESS_FIELDS}
                for address in addresses
            ],
            "login_sessions": [
                {"started_at": s.started_at, "expires_at": s.expires_at, "ended_at": s.revoked_at}
                for s in sessions
            ],
            "email_verification": {
                "verified_at": account.email_verified_at,
                "links": [
                    {
                        "email": link.email,
                        "created_at": link.created_at,
                        "expires_at": link.expires_at,
                        "used_at": link.used_at,
                    }
                    for link in links
                ],
            },
        }

    async def check(self, session: AsyncSession, subject: Subject) -> None:
        return None

    async def erase(self, session: AsyncSession, subject: Subject) -> ErasureResult:
        result = ErasureResult()
        if subject.account_id is None:
            return result
        owned = [
            (RefreshToken, RefreshToken.account_id),
            (EmailVerificationToken, EmailVerificationToken.account_id),
            (LoginSession, LoginSession.account_id),
            (Address, Address.account_id),
            (Account, Account.id),
        ]
        for model, column in owned:
            deleted = await session.execute(delete(model).where(column == subject.account_id))
            result.count_deleted(model.__tablename__, rows_affected(deleted))
        return result
