from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.authentication import ensure_session_is_live
from app.accounts.errors import (
    AddressNotFound,
    CurrentPasswordRequired,
    InvalidAccessToken,
    StaffOnly,
)
from app.accounts.models import Account, Address, Role
from app.accounts.service import check_current_password, get_address
from app.accounts.throttle import PasswordThrottle
from app.core.deps import ClientIpDep, ClientKeyDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import TooManyRequests
from app.core.problems import raises
from app.core.security import AccessClaims, InvalidToken, decode_access_token
from app.core.settings import Settings

# Reads only the Authorization header: a token in the query string is never accepted.
bearer = OAuth2PasswordBearer(
    tokenUrl="/v1/auth/token", refreshUrl="/v1/auth/refresh", auto_error=False
)


@raises(InvalidAccessToken)
async def get_access_claims(
    settings: SettingsDep, token: Annotated[str | None, Depends(bearer)]
) -> AccessClaims:
    """The token's verified claims. Whether its session is still live is checked with the
    account (`CurrentAccount`), so this needs no database and can run before anything else."""
    if not token:
        raise InvalidAccessToken("Send an access token as `Authorization: Bearer <token>`.")
    try:
        return decode_access_token(settings, token)
    except InvalidToken as exc:
        raise InvalidAccessToken() from exc


ClaimsDep = Annotated[AccessClaims, Depends(get_access_claims)]


async def _load_account(session: AsyncSession, settings: Settings, claims: AccessClaims) -> Account:
    await ensure_session_is_live(session, settings, claims)
    account = await session.get(Account, claims.subject)
    if account is None or not account.is_active:
        raise InvalidAccessToken()
    return account


async def get_current_account(
    session: SessionDep, settings: SettingsDep, claims: ClaimsDep
) -> Account:
    return await _load_account(session, settings, claims)


CurrentAccount = Annotated[Account, Depends(get_current_account)]


@raises(StaffOnly)
async def get_staff_account(account: CurrentAccount) -> Account:
    # The role is read from the database, so a demotion takes effect at once.
    if account.role != Role.staff:
        raise StaffOnly()
    return account


StaffAccount = Annotated[Account, Depends(get_staff_account)]


@raises(AddressNotFound)
async def get_owned_address(
    session: SessionDep, account: CurrentAccount, address_id: uuid.UUID
) -> Address:
    return await get_address(session, account, address_id)


OwnedAddress = Annotated[Address, Depends(get_owned_address)]


# The throttles below write through the rate-limit backend in their own transactions, so
# each route declares them BEFORE anything that uses the request's session, and they give
# counts back only after that session's transaction has ended (their exit runs after the
# session's commit). On SQLite either write would otherwise wait on the request's own lock.


async def get_login_throttle(
    backend: RateLimitDep, settings: SettingsDep, client_ip: ClientIpDep
) -> AsyncIterator[PasswordThrottle]:
    throttle = PasswordThrottle(backend, settings, scope="login", client_ip=client_ip)
    try:
        yield throttle
    finally:
        await throttle.settle()


LoginThrottleDep = Annotated[PasswordThrottle, Depends(get_login_throttle, scope="function")]


async def get_password_check_throttle(
    backend: RateLimitDep, settings: SettingsDep, client_ip: ClientIpDep, claims: ClaimsDep
) -> AsyncIterator[PasswordThrottle]:
    """The caller's current-password re-check, counted up front; a request that checks
    no password (a profile edit without an email change) gets its count back."""
    throttle = PasswordThrottle(backend, settings, scope="password-check", client_ip=client_ip)
    await throttle.count_attempt(str(claims.subject))
    try:
        yield throttle
    finally:
        await throttle.settle()


PasswordCheckThrottleDep = Annotated[
    PasswordThrottle, Depends(get_password_check_throttle, scope="function")
]


@raises(TooManyRequests)
async def limit_registrations(
    backend: RateLimitDep, settings: SettingsDep, client_key: ClientKeyDep
) -> None:
    key = f"register:ip:{client_key}"
    window = await backend.hit(key, 3600)
    if window.count > settings.registrations_per_ip_per_hour:
        raise TooManyRequests(window.resets_in, "Too many new accounts from this address.")


@raises(TooManyRequests)
async def limit_verification_resends(
    backend: RateLimitDep, settings: SettingsDep, claims: ClaimsDep
) -> None:
    window = await backend.hit(f"verify-email:account:{claims.subject}", 3600)
    if window.count > settings.email_verification_resends_per_hour:
        raise TooManyRequests(window.resets_in, "Too many verification emails; try later.")


@raises(InvalidAccessToken)
async def get_optional_account(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(bearer)]
) -> Account | None:
    """The caller's account if a bearer token is sent (it must then be valid), else None."""
    if not token:
        return None
    try:
        claims = decode_access_token(settings, token)
    except InvalidToken as exc:
        raise InvalidAccessToken() from exc
    return await _load_account(session, settings, claims)


OptionalAccount = Annotated[Account | None, Depends(get_optional_account)]


class PasswordConfirmation:
    """The caller's password re-check for a sensitive request of another domain (an
    erasure), under the same throttle as every other re-check."""

    def __init__(self, throttle: PasswordThrottle) -> None:
        self._throttle = throttle

    def for_account(self, account: Account, password: str) -> Callable[[], Awaitable[None]]:
        async def confirm() -> None:
            await check_current_password(
                account, password, self._throttle, detail="This needs your current password."
            )

        return confirm


@raises(CurrentPasswordRequired, TooManyRequests)
async def get_password_confirmation(throttle: PasswordCheckThrottleDep) -> PasswordConfirmation:
    return PasswordConfirmation(throttle)


PasswordConfirmationDep = Annotated[PasswordConfirmation, Depends(get_password_confirmation)]
