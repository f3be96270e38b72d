"""Login sessions: login, refresh-token rotation, logout and the access-token session check.

A login session (`LoginSession`, id = the refresh-token family id = every access
token's `sid`) ends at logout, at a password change made from another session, when a
rotated refresh token is reused, or `session_max_days` after login, whichever comes
first. Refreshing rotates tokens inside the session and never moves its end.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.errors import (
    InvalidAccessToken,
    InvalidCredentials,
    InvalidRefreshToken,
    RefreshTokenReused,
)
from app.accounts.models import Account, LoginSession, RefreshToken
from app.accounts.service import (
    check_current_password,
    check_password_strength,
    get_account_by_email,
    normalize_email,
)
from app.accounts.throttle import PasswordThrottle
from app.core.db import utcnow
from app.core.security import (
    AccessClaims,
    create_access_token,
    hash_password_in_thread,
    hash_token,
    new_secret_token,
    password_needs_rehash,
    verify_password_in_thread,
)
from app.core.settings import Settings


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


async def _issue(
    session: AsyncSession, settings: Settings, account: Account, login_session: LoginSession
) -> TokenPair:
    refresh = new_secret_token()
    now = utcnow()
    # A refresh token never outlives its session: rotation cannot extend the session.
    expires_at = min(now + timedelta(days=settings.refresh_token_days), login_session.expires_at)
    session.add(
        RefreshToken(
            account_id=account.id,
            family_id=login_session.id,
            token_hash=hash_token(refresh),
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    access = create_access_token(
        settings, subject=account.id, role=account.role.value, session_id=login_session.id
    )
    return TokenPair(access.token, access.expires_in, refresh)


async def login(
    session: AsyncSession,
    settings: Settings,
    throttle: PasswordThrottle,
    *,
    email: str,
    password: str,
) -> TokenPair:
    # Counted before the account is even looked up: the request's session has not touched
    # the database yet (SQLite), and a concurrent burst cannot outrun the count.
    await throttle.count_attempt(normalize_email(email))
    throttle.check()
    account = await get_account_by_email(session, email)
    # An unknown email still pays for one hash verification: no timing oracle.
    valid = await verify_password_in_thread(account.password_hash if account else None, password)
    if account is None or not valid or not account.is_active:
        throttle.record_failure()
        raise InvalidCredentials()
    throttle.record_success()
    if password_needs_rehash(account.password_hash):
        account.password_hash = await hash_password_in_thread(password)
    return await _issue(session, settings, account, await start_session(session, settings, account))


async def start_session(
    session: AsyncSession, settings: Settings, account: Account
) -> LoginSession:
    """A new login session; its end is fixed now and no refresh moves it."""
    now = utcnow()
    login_session = LoginSession(
        id=uuid.uuid4(),
        account_id=account.id,
        started_at=now,
        expires_at=now + timedelta(days=settings.session_max_days),
    )
    session.add(login_session)
    await session.flush()
    return login_session


async def refresh(session: AsyncSession, settings: Settings, *, token: str) -> TokenPair:
    """Rotate a refresh token; an already-rotated one revokes its whole session."""
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    )
    now = utcnow()
    if stored is None or stored.expires_at <= now:
        raise InvalidRefreshToken()
    login_session = await session.get(LoginSession, stored.family_id)
    if login_session is None or login_session.expires_at <= now:
        raise InvalidRefreshToken()  # past the absolute lifetime: log in again
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
        await revoke_sessions(session, [stored.family_id])
        raise RefreshTokenReused()
    if login_session.revoked_at is not None:
        raise InvalidRefreshToken()
    account = await session.get(Account, stored.account_id)
    if account is None or not account.is_active:
        raise InvalidRefreshToken()
    return await _issue(session, settings, account, login_session)


async def logout(session: AsyncSession, *, token: str) -> None:
    """End the login session the refresh token belongs to. Unknown tokens are ignored."""
    stored = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hash_token(token))
    )
    if stored is not None:
        await revoke_sessions(session, [stored.family_id])


async def revoke_sessions(session: AsyncSession, family_ids: list[uuid.UUID]) -> None:
    """End login sessions: their refresh tokens and their access tokens stop working."""
    if not family_ids:
        return
    now = utcnow()
    await session.execute(
        update(LoginSession)
        .where(LoginSession.id.in_(family_ids), LoginSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id.in_(family_ids), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    for family_id in family_ids:
        _live_sessions.forget(family_id)


class _LiveSessionCache:
    """Sessions this process found live in the last few seconds, so most requests skip the
    lookup. A revocation made in this process forgets the entry at once; one made by
    another process is seen here within `session_check_cache_seconds`, the price of not
    querying on every request (an access token itself lives 15 minutes)."""

    _MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[uuid.UUID, tuple[uuid.UUID, datetime, float]] = {}

    def get(self, session_id: uuid.UUID, ttl: int) -> tuple[uuid.UUID, datetime] | None:
        entry = self._entries.get(session_id)
        if entry is None or time.monotonic() - entry[2] >= ttl:
            return None
        return entry[0], entry[1]

    def put(self, session_id: uuid.UUID, account_id: uuid.UUID, expires_at: datetime) -> None:
        if len(self._entries) >= self._MAX_ENTRIES:
            self._entries.clear()  # a refill costs one query per active session
        self._entries[session_id] = (account_id, expires_at, time.monotonic())

    def forget(self, session_id: uuid.UUID) -> None:
        self._entries.pop(session_id, None)


_live_sessions = _LiveSessionCache()


async def ensure_session_is_live(
    session: AsyncSession, settings: Settings, claims: AccessClaims
) -> None:
    """Refuse an access token whose login session ended (revoked or past its lifetime)."""
    ttl = settings.session_check_cache_seconds
    cached = _live_sessions.get(claims.session_id, ttl) if ttl else None
    if cached is None:
        row = await session.get(LoginSession, claims.session_id)
        if row is None or row.revoked_at is not None:
            raise InvalidAccessToken()
        cached = row.account_id, row.expires_at
        if ttl:
            _live_sessions.put(claims.session_id, *cached)
    account_id, expires_at = cached
    if account_id != claims.subject or expires_at <= utcnow():
        raise InvalidAccessToken()


async def change_password(
    session: AsyncSession,
    account: Account,
    throttle: PasswordThrottle,
    *,
    current_password: str,
    new_password: str,
    keep_session: uuid.UUID,
) -> None:
    """Set a new password and end every other login session of the account."""
    await check_current_password(
        account, current_password, throttle, detail="The current password is not correct."
    )
    check_password_strength(new_password, email=account.email, full_name=account.full_name)
    account.password_hash = await hash_password_in_thread(new_password)
    others = await session.scalars(
        select(LoginSession.id).where(
            LoginSession.account_id == account.id,
            LoginSession.id != keep_session,
            LoginSession.revoked_at.is_(None),
        )
    )
    await revoke_sessions(session, list(others))
