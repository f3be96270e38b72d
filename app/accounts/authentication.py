"""Login, refresh-token rotation, logout and login throttling."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import InvalidCredentials, InvalidRefreshToken, RefreshTokenReused
from app.accounts.models import Account, RefreshToken
from app.accounts.service import get_account_by_email, normalize_email
from app.core.db import utcnow
from app.core.errors import TooManyRequests
from app.core.ratelimit import RateLimitBackend
from app.core.security import (
    create_access_token,
    hash_password,
    hash_token,
    keyed_hash,
    new_secret_token,
    password_needs_rehash,
    verify_password,
)
from app.core.settings import Settings


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


class LoginThrottle:
    """Counts failed logins per account and per client address.

    Keys are keyed hashes, so the shared store never holds an email address.
    """

    def __init__(self, backend: RateLimitBackend, settings: Settings) -> None:
        self._backend = backend
        self._settings = settings

    def _keys(self, email: str, client_ip: str) -> list[tuple[str, int]]:
        account = keyed_hash(self._settings, normalize_email(email), purpose="login-throttle")
        return [
            (f"login:acct:{account}", self._settings.login_max_failures_per_account),
            (f"login:ip:{client_ip}", self._settings.login_max_failures_per_ip),
        ]

    async def check(self, email: str, client_ip: str) -> None:
        for key, limit in self._keys(email, client_ip):
            window = await self._backend.peek(key)
            if window.count >= limit:
                raise TooManyRequests(window.resets_in, "Too many failed logins; try again later.")

    async def record_failure(self, email: str, client_ip: str) -> None:
        for key, _ in self._keys(email, client_ip):
            await self._backend.hit(key, self._settings.login_failure_window_seconds)

    async def record_success(self, email: str, client_ip: str) -> None:
        account_key, _ = self._keys(email, client_ip)[0]
        await self._backend.reset(account_key)


async def _issue(
    session: AsyncSession, settings: Settings, account: Account, family_id: uuid.UUID
) -> TokenPair:
    refresh = new_secret_token()
    now = utcnow()
    session.add(
        RefreshToken(
            account_id=account.id,
            family_id=family_id,
            token_hash=hash_token(refresh),
            created_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    access = create_access_token(
        settings, subject=account.id, role=account.role.value, session_id=family_id
    )
    return TokenPair(access.token, access.expires_in, refresh)


async def login(
    session: AsyncSession,
    settings: Settings,
    throttle: LoginThrottle,
    *,
    email: str,
    password: str,
    client_ip: str,
) -> TokenPair:
    await throttle.check(email, client_ip)
    account = await get_account_by_email(session, email)
    # An unknown email still pays for one hash verification: no timing oracle.
    valid = verify_password(account.password_hash if account else None, password)
    if account is None or not valid or not account.is_active:
        await throttle.record_failure(email, client_ip)
        raise InvalidCredentials()
    await throttle.record_success(email, client_ip)
    if password_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    return await _issue(session, settings, account, family_id=uuid.uuid4())


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def refresh(session: AsyncSession, settings: Settings, *, token: str) -> TokenPair:
    """Rotate a refresh token; an already-rotated one revokes its whole family."""
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    )
    now = utcnow()
    if stored is None or stored.expires_at <= now:
        raise InvalidRefreshToken()
    if stored.revoked_at is not None and stored.rotated_at is None:
        raise InvalidRefreshToken()  # logged out or revoked: not a theft signal
    # Claim the rotation atomically, so two concurrent refreshes cannot both succeed.
    claimed = await session.scalar(
        update(RefreshToken)
        .where(RefreshToken.id == stored.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, rotated_at=now)
        .returning(RefreshToken.id)
    )
    if claimed is None:
        await _revoke_family(session, stored.family_id)
        raise RefreshTokenReused()
    account = await session.get(Account, stored.account_id)
    if account is None or not account.is_active:
        raise InvalidRefreshToken()
    return await _issue(session, settings, account, family_id=stored.family_id)


async def logout(session: AsyncSession, *, token: str) -> None:
    """End the login session the refresh token belongs to. Unknown tokens are ignored."""
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    )
    if stored is not None:
        await _revoke_family(session, stored.family_id)
