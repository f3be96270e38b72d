"""Email verification: a single-use, expiring link proves the account owns its address.

Verifying joins the consent choices made earlier with that address (as a guest) to the
account; changing the address clears the verification and sends a new link.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import InvalidVerificationToken
from app.accounts.models import Account, EmailVerificationToken
from app.core.db import rows_affected, utcnow
from app.core.security import hash_token, new_secret_token
from app.core.settings import Settings
from app.outbox.service import enqueue_email
from app.privacy import consent
from app.privacy.subjects import account_subject

VERIFICATION_EMAIL_KIND = "email_verification"


def _link(settings: Settings, token: str) -> str:
    return f"{settings.storefront_url.rstrip('/')}/verify-email?token={token}"


async def send_verification(session: AsyncSession, settings: Settings, account: Account) -> None:
    """Queue a transactional email with a fresh link for the account's current address."""
    token = new_secret_token()
    now = utcnow()
    session.add(
        EmailVerificationToken(
            account_id=account.id,
            token_hash=hash_token(token),
            email=account.email,
            created_at=now,
            expires_at=now + timedelta(hours=settings.email_token_hours),
        )
    )
    enqueue_email(
        session,
        to=account.email,
        subject="Please confirm your email address",
        body=(
            f"Hello {account.full_name},\n\n"
            "Please confirm that this address is yours by opening this link:\n"
            f"{_link(settings, token)}\n\n"
            f"The link works once, for {settings.email_token_hours} hours. If you did not "
            "create an account with us, ignore this message.\n\n"
            "Facet Fine Jewelry\n"
        ),
        kind=VERIFICATION_EMAIL_KIND,
        data_subject=account_subject(account.id),
    )
    await session.flush()


async def verify_email(session: AsyncSession, settings: Settings, token: str) -> Account:
    """Mark the address verified; the link works once, before it expires, and only while
    the account still has the address it was sent to."""
    record = await session.scalar(
        select(EmailVerificationToken)
        .where(EmailVerificationToken.token_hash == hash_token(token))
        .with_for_update()
    )
    now = utcnow()
    if record is None or record.used_at is not None or record.expires_at <= now:
        raise InvalidVerificationToken()
    account = await session.get(Account, record.account_id)
    if account is None or not account.is_active or account.email != record.email:
        raise InvalidVerificationToken()
    record.used_at = now
    if account.email_verified_at is None:
        account.email_verified_at = now
        await consent.join_verified_email(session, settings, account.id, account.email)
    await session.flush()
    return account


async def purge_finished_tokens(session: AsyncSession) -> int:
    """Delete verification links that were used or expired (each holds an address)."""
    now = utcnow()
    result = await session.execute(
        delete(EmailVerificationToken).where(
            (EmailVerificationToken.expires_at <= now) | EmailVerificationToken.used_at.is_not(None)
        )
    )
    return rows_affected(result)
