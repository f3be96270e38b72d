from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from app.accounts.authentication import LoginThrottle
from app.accounts.errors import InvalidAccessToken, StaffOnly
from app.accounts.models import Account, Address, Role
from app.accounts.service import get_address
from app.core.deps import RateLimitDep, SessionDep, SettingsDep
from app.core.security import AccessClaims, InvalidToken, decode_access_token

# Reads only the Authorization header: a token in the query string is never accepted.
bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


async def get_access_claims(
    settings: SettingsDep, token: Annotated[str | None, Depends(bearer)]
) -> AccessClaims:
    if not token:
        raise InvalidAccessToken("Send an access token as `Authorization: Bearer <token>`.")
    try:
        return decode_access_token(settings, token)
    except InvalidToken as exc:
        raise InvalidAccessToken() from exc


ClaimsDep = Annotated[AccessClaims, Depends(get_access_claims)]


async def get_current_account(session: SessionDep, claims: ClaimsDep) -> Account:
    account = await session.get(Account, claims.subject)
    if account is None or not account.is_active:
        raise InvalidAccessToken()
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


async def get_staff_account(account: CurrentAccount) -> Account:
    # The role is read from the database, so a demotion takes effect at once.
    if account.role != Role.staff:
        raise StaffOnly()
    return account


StaffAccount = Annotated[Account, Depends(get_staff_account)]


async def get_owned_address(
    session: SessionDep, account: CurrentAccount, address_id: uuid.UUID
) -> Address:
    return await get_address(session, account, address_id)


OwnedAddress = Annotated[Address, Depends(get_owned_address)]


def get_login_throttle(backend: RateLimitDep, settings: SettingsDep) -> LoginThrottle:
    return LoginThrottle(backend, settings)


LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]


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
    account = await session.get(Account, claims.subject)
    if account is None or not account.is_active:
        raise InvalidAccessToken()
    return account


OptionalAccount = Annotated[Account | None, Depends(get_optional_account)]
