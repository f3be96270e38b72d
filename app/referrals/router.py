"""Tell-a-friend referrals (P6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.responses import JSONResponse

from app.accounts.deps import ClaimsDep, CurrentAccount, StaffAccount
from app.core.deps import RateLimitDep, SessionDep, SettingsDep
from app.core.errors import AgeRestricted, TooManyRequests
from app.core.idempotency import REPLAYED_HEADERS, IdempotentRequest, idempotency
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.referrals import service
from app.referrals.errors import InvalidRemovalToken, ReferralMessageRefused
from app.referrals.schemas import (
    MyReferral,
    ProgrammeTotalsRead,
    ReferralAccepted,
    ReferralCodeRead,
    ReferralCreate,
    RemovalRequest,
)

router = APIRouter(tags=["referrals"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/referrals", tags=["admin"], route_class=FacetRoute)

ACCEPTED = {"status": "accepted"}
DAY_SECONDS = 86_400


async def referral_caller(claims: ClaimsDep) -> str:
    """The signed-in account, from the token alone (no database)."""
    return f"account:{claims.subject}"


ReferralIdempotency = Annotated[
    IdempotentRequest, Depends(idempotency("referral", referral_caller))
]


@raises(TooManyRequests)
async def limit_referrals(
    idem: ReferralIdempotency, limiter: RateLimitDep, settings: SettingsDep, claims: ClaimsDep
) -> None:
    """The per-referrer daily cap, counted before the request's session is used (the
    counter may write in its own transaction); a replay is free."""
    if idem.replay is not None:
        return
    window = await limiter.hit(f"referrals:account:{claims.subject}", DAY_SECONDS)
    if window.count > settings.referrals_per_account_per_day:
        raise TooManyRequests(window.resets_in, "Too many referrals today; try tomorrow.")


@router.post(
    "/referrals",
    status_code=status.HTTP_202_ACCEPTED,
    operation_id="referFriend",
    summary="Invite a friend",
    response_model=ReferralAccepted,
    responses=problem_responses(AgeRestricted, ReferralMessageRefused),
    dependencies=[Depends(limit_referrals)],
)
async def refer_a_friend(
    idem: ReferralIdempotency,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
    body: ReferralCreate,
) -> JSONResponse:
    """Invite a friend (18+) by email, with an optional plain-text message (no links or
    HTML). Each address gets one invitation ever, and none once it asked for removal; the
    answer is the same 202 in every case, so it says nothing about the address. The
    `Idempotency-Key` is required; referrals per customer per day are capped (429)."""
    if idem.replay is not None:
        return JSONResponse(
            idem.replay.body, status_code=idem.replay.status, headers=REPLAYED_HEADERS
        )
    await service.invite(
        session,
        settings,
        referrer_id=account.id,
        referrer_name=account.full_name,
        invitation=service.Invitation(
            friend_name=body.friend_name,
            friend_email=body.friend_email,
            message=body.message,
            is_adult=body.is_adult,
        ),
    )
    await idem.complete(session, status.HTTP_202_ACCEPTED, ACCEPTED)
    return JSONResponse(ACCEPTED, status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/referrals/removal",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="removeFromReferrals",
    summary="Remove a friend's data from referrals",
    responses=problem_responses(InvalidRemovalToken),
)
async def remove_me(session: SessionDep, settings: SettingsDep, body: RemovalRequest) -> Response:
    """With the token from an invitation: delete the friend's name and address from every
    referral and never invite that address again. Repeating it changes nothing."""
    await service.remove(session, settings, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/referral-code",
    operation_id="getMyReferralCode",
    summary="Get my referral code",
    response_model=ReferralCodeRead,
)
async def my_code(session: SessionDep, account: CurrentAccount) -> ReferralCodeRead:
    """Your referral code, for friends to give at registration or checkout."""
    return ReferralCodeRead(code=await service.code_of(session, account.id))


@router.get(
    "/me/referrals",
    operation_id="listMyReferrals",
    summary="List my referrals",
    response_model=Page[MyReferral],
    responses=problem_responses(InvalidCursor),
)
async def my_referrals(
    session: SessionDep, account: CurrentAccount, limit: Limit = 20, cursor: Cursor = None
) -> Page[MyReferral]:
    """Your referrals, newest first, each one you made (whether or not anyone invited that
    address before); the friend is shown only while their data is held."""
    rows, next_cursor = await service.list_mine(session, account.id, limit=limit, cursor=cursor)
    return Page(items=[MyReferral.model_validate(r) for r in rows], next_cursor=next_cursor)


@admin_router.get(
    "/totals",
    operation_id="adminReferralTotals",
    summary="Get referral programme totals",
    response_model=ProgrammeTotalsRead,
)
async def programme_totals(session: SessionDep, _: StaffAccount) -> ProgrammeTotalsRead:
    """Referrals accepted, invitations sent, addresses suppressed and converted: counts
    only."""
    totals = await service.totals(session)
    return ProgrammeTotalsRead.model_validate(totals)
