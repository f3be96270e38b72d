from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.accounts import authentication, service, verification
from app.accounts.deps import (
    ClaimsDep,
    CurrentAccount,
    LoginThrottleDep,
    OwnedAddress,
    PasswordCheckThrottleDep,
    StaffAccount,
    limit_registrations,
    limit_verification_resends,
)
from app.accounts.errors import (
    AddressLimitReached,
    CurrentPasswordRequired,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidVerificationToken,
    WeakPassword,
)
from app.accounts.models import Role
from app.accounts.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    AddressCreate,
    AddressRead,
    AddressUpdate,
    EmailVerification,
    PasswordChange,
    RefreshRequest,
    TokenResponse,
)
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import AgeRestricted, TooManyRequests
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.privacy import service as privacy_service

accounts_router = APIRouter(prefix="/accounts", tags=["accounts"], route_class=FacetRoute)
auth_router = APIRouter(prefix="/auth", tags=["auth"], route_class=FacetRoute)
me_router = APIRouter(prefix="/me", tags=["me"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/accounts", tags=["admin"], route_class=FacetRoute)


@accounts_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="createAccount",
    summary="Register a customer account",
    responses=problem_responses(AgeRestricted, EmailTaken, WeakPassword),
    dependencies=[Depends(limit_registrations)],  # runs before the session is used
)
async def create_account(
    session: SessionDep, settings: SettingsDep, body: AccountCreate
) -> AccountRead:
    """Register a customer account. Under-18s are refused and nothing is stored (P9).
    Registrations are limited per client address (429 with `Retry-After`). A link to
    verify the email is sent; `marketing_opt_in` is recorded in the consent ledger."""
    account = await service.register(session, body, settings=settings)
    return AccountRead.model_validate(account)


@accounts_router.post(
    "/email-verification",
    operation_id="verifyEmail",
    summary="Verify an account's email address",
    responses=problem_responses(InvalidVerificationToken),
)
async def verify_email(
    session: SessionDep, settings: SettingsDep, body: EmailVerification
) -> AccountRead:
    """Verify an account's email with the token from the link sent to it (single use,
    expiring). Marketing choices made earlier as a guest with this address join the
    account's consent state."""
    account = await verification.verify_email(session, settings, body.token)
    return AccountRead.model_validate(account)


@auth_router.post(
    "/token",
    operation_id="issueToken",
    summary="Log in",
    responses=problem_responses(InvalidCredentials, TooManyRequests),
)
async def issue_token(
    throttle: LoginThrottleDep,  # first: it settles after the session's transaction ends
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenResponse:
    """Log in with email (`username`) and password; returns an access and a refresh token.
    Failed attempts are throttled per account and address, per account and per address
    (429 with `Retry-After`)."""
    pair = await authentication.login(
        session, settings, throttle, email=form.username, password=form.password
    )
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@auth_router.post(
    "/refresh",
    operation_id="refreshToken",
    summary="Refresh an access token",
    responses=problem_responses(InvalidRefreshToken),
)
async def refresh_token(
    session: SessionDep, settings: SettingsDep, body: RefreshRequest
) -> TokenResponse:
    """Rotate a refresh token. Reusing a rotated token revokes that whole login session."""
    pair = await authentication.refresh(session, settings, token=body.refresh_token)
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="logout",
    summary="Log out",
)
async def logout(session: SessionDep, body: RefreshRequest) -> Response:
    """Revoke the login session a refresh token belongs to."""
    await authentication.logout(session, token=body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get("", operation_id="getMe", summary="Get my account")
async def get_me(session: SessionDep, account: CurrentAccount) -> AccountRead:
    """The signed-in account, and whether the privacy policy in force awaits its acceptance."""
    pending = await privacy_service.acceptance_pending(session, account.id)
    return AccountRead.model_validate(account).model_copy(
        update={"privacy_policy_pending": pending}
    )


@me_router.patch(
    "",
    operation_id="updateMe",
    summary="Update my account",
    responses=problem_responses(CurrentPasswordRequired, EmailTaken, TooManyRequests),
)
async def update_me(
    throttle: PasswordCheckThrottleDep,  # before the session is used: it counts in its own
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
    body: AccountUpdate,
) -> AccountRead:
    """Rectify name and phone; changing the email needs `current_password` (P8), whose
    wrong guesses are throttled like logins. A new email is unverified until the link
    sent to it is followed."""
    return AccountRead.model_validate(
        await service.update_profile(session, account, body, throttle, settings)
    )


@me_router.post(
    "/email-verification",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="resendEmailVerification",
    summary="Resend the email verification link",
    dependencies=[Depends(limit_verification_resends)],  # counts before the session is used
)
async def resend_email_verification(
    session: SessionDep, settings: SettingsDep, account: CurrentAccount
) -> Response:
    """Send a new verification link (limited per account per hour; nothing is sent when
    the email is already verified)."""
    if not account.email_verified:
        await verification.send_verification(session, settings, account)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="changePassword",
    summary="Change my password",
    responses=problem_responses(CurrentPasswordRequired, WeakPassword, TooManyRequests),
)
async def change_password(
    throttle: PasswordCheckThrottleDep,  # before the session is used: it counts in its own
    session: SessionDep,
    account: CurrentAccount,
    claims: ClaimsDep,
    body: PasswordChange,
) -> Response:
    """Change the password and sign out every other session; wrong `current_password`
    guesses are throttled like logins."""
    await authentication.change_password(
        session,
        account,
        throttle,
        current_password=body.current_password,
        new_password=body.new_password,
        keep_session=claims.session_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get(
    "/addresses",
    operation_id="listMyAddresses",
    summary="List my saved addresses",
)
async def list_addresses(session: SessionDep, account: CurrentAccount) -> list[AddressRead]:
    """The account's saved mailing addresses."""
    return [AddressRead.model_validate(a) for a in await service.list_addresses(session, account)]


@me_router.post(
    "/addresses",
    status_code=status.HTTP_201_CREATED,
    operation_id="createMyAddress",
    summary="Save an address",
    responses=problem_responses(AddressLimitReached),
)
async def create_address(
    session: SessionDep, account: CurrentAccount, body: AddressCreate
) -> AddressRead:
    """Save a mailing address; the first one becomes the default."""
    return AddressRead.model_validate(await service.add_address(session, account, body))


@me_router.patch(
    "/addresses/{address_id}",
    operation_id="updateMyAddress",
    summary="Update a saved address",
)
async def update_address(
    session: SessionDep, account: CurrentAccount, address: OwnedAddress, body: AddressUpdate
) -> AddressRead:
    """Rectify a saved address."""
    return AddressRead.model_validate(await service.update_address(session, account, address, body))


@me_router.delete(
    "/addresses/{address_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="deleteMyAddress",
    summary="Delete a saved address",
)
async def delete_address(session: SessionDep, address: OwnedAddress) -> Response:
    """Delete a saved address."""
    await service.delete_address(session, address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get(
    "",
    operation_id="adminListAccounts",
    summary="List accounts",
    responses=problem_responses(InvalidCursor),
)
async def admin_list_accounts(
    session: SessionDep,
    _: StaffAccount,
    limit: Limit = 50,
    cursor: Cursor = None,
    role: Annotated[Role | None, Query(description="Only accounts with this role.")] = None,
) -> Page[AccountRead]:
    """List accounts, oldest first (staff only)."""
    rows, next_cursor = await service.list_accounts(session, limit=limit, cursor=cursor, role=role)
    return Page[AccountRead](
        items=[AccountRead.model_validate(a) for a in rows], next_cursor=next_cursor
    )
