"""Consent (P2, P5): the customer's own choices, opt-out links, the newsletter and staff
campaigns. Thin: each route parses, calls one service, shapes the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from app.accounts.deps import CurrentAccount, StaffAccount
from app.core.deps import ClientKeyDep, RateLimitDep, SessionDep, SettingsDep
from app.core.errors import AgeRestricted, TooManyRequests
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses, raises
from app.core.routing import FacetRoute
from app.core.schemas import Page
from app.privacy import campaigns, consent, newsletter
from app.privacy.consent_models import ConsentSource
from app.privacy.directory import AccountDirectoryDep
from app.privacy.errors import (
    CampaignChannelUnsupported,
    InvalidConfirmationToken,
    InvalidOptOutToken,
)
from app.privacy.schemas import (
    CampaignCreate,
    CampaignRead,
    ConsentChoices,
    ConsentEventRead,
    ConsentStateRead,
    NewsletterConfirm,
    NewsletterSubscribe,
    NewsletterUnsubscribe,
    OptOutRequest,
    OptOutTokenText,
)
from app.privacy.subjects import account_subject

me_consents_router = APIRouter(prefix="/me/consents", tags=["me"], route_class=FacetRoute)
opt_out_router = APIRouter(prefix="/privacy", tags=["privacy"], route_class=FacetRoute)
newsletter_router = APIRouter(prefix="/newsletter", tags=["privacy"], route_class=FacetRoute)
campaigns_router = APIRouter(prefix="/admin/campaigns", tags=["admin"], route_class=FacetRoute)


@raises(TooManyRequests)
async def limit_newsletter_requests(
    backend: RateLimitDep, settings: SettingsDep, client_key: ClientKeyDep
) -> None:
    """Counted in the backend's own transaction, before the request's session is used."""
    window = await backend.hit(f"newsletter:ip:{client_key}", 3600)
    if window.count > settings.newsletter_requests_per_ip_per_hour:
        raise TooManyRequests(window.resets_in, "Too many newsletter requests from this address.")


def _states(states: list[consent.ConsentState]) -> list[ConsentStateRead]:
    return [ConsentStateRead(purpose=s.purpose, granted=s.granted, since=s.since) for s in states]


@me_consents_router.get(
    "",
    operation_id="getMyConsents",
    summary="Get my marketing consents",
)
async def get_my_consents(session: SessionDep, account: CurrentAccount) -> list[ConsentStateRead]:
    """Every purpose and whether it is granted now (everything starts withdrawn)."""
    return _states(await consent.current_state(session, account_subject(account.id)))


@me_consents_router.put(
    "",
    operation_id="setMyConsents",
    summary="Set my marketing consents",
)
async def set_my_consents(
    session: SessionDep, account: CurrentAccount, body: ConsentChoices
) -> list[ConsentStateRead]:
    """Grant or withdraw one or several purposes; each change is a ledger event."""
    subject = account_subject(account.id)
    await consent.record(session, subject, body.chosen(), source=ConsentSource.preferences)
    return _states(await consent.current_state(session, subject))


@me_consents_router.get(
    "/history",
    operation_id="listMyConsentHistory",
    summary="List my consent history",
    responses=problem_responses(InvalidCursor),
)
async def list_my_consent_history(
    session: SessionDep, account: CurrentAccount, limit: Limit = 50, cursor: Cursor = None
) -> Page[ConsentEventRead]:
    """Every grant and withdrawal, newest first, with its source and policy version."""
    rows, next_cursor = await consent.history(
        session, account_subject(account.id), limit=limit, cursor=cursor
    )
    return Page[ConsentEventRead](
        items=[ConsentEventRead.model_validate(e) for e in rows], next_cursor=next_cursor
    )


@opt_out_router.post(
    "/opt-out",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="optOut",
    summary="Opt out of marketing",
    responses=problem_responses(InvalidOptOutToken),
)
async def opt_out(session: SessionDep, settings: SettingsDep, body: OptOutRequest) -> Response:
    """Withdraw marketing with the code from a marketing email, without logging in.
    Idempotent; the answer is the same for every valid code. A code not issued by us, or
    sent with a purpose it does not cover, is refused (422 `invalid-opt-out-token`)."""
    await consent.opt_out(session, settings, body.token, body.purpose)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@opt_out_router.post(
    "/opt-out/one-click",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="optOutOneClick",
    summary="Opt out of marketing in one click",
    responses=problem_responses(InvalidOptOutToken),
)
async def opt_out_one_click(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[OptOutTokenText, Query(description="The code from the email's link.")],
) -> Response:
    """RFC 8058 one-click unsubscribe: the target of a marketing email's `List-Unsubscribe`
    header. Mail clients POST `List-Unsubscribe=One-Click` here; the body is not needed."""
    await consent.opt_out(session, settings, token, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@newsletter_router.post(
    "/subscriptions",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="subscribeNewsletter",
    summary="Subscribe to the newsletter",
    responses=problem_responses(AgeRestricted),
    dependencies=[Depends(limit_newsletter_requests)],  # runs before the session is used
)
async def subscribe_newsletter(
    session: SessionDep, settings: SettingsDep, body: NewsletterSubscribe
) -> Response:
    """Ask for the newsletter: a confirmation link is mailed (double opt-in). The answer
    is the same for every address; without the 18+ attestation nothing is stored (422)."""
    await newsletter.subscribe(session, settings, body.email, adult=body.is_adult)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@newsletter_router.post(
    "/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="confirmNewsletter",
    summary="Confirm a newsletter subscription",
    responses=problem_responses(InvalidConfirmationToken),
)
async def confirm_newsletter(
    session: SessionDep,
    settings: SettingsDep,
    directory: AccountDirectoryDep,
    body: NewsletterConfirm,
) -> Response:
    """Confirm a subscription with the token from the confirmation link."""
    await newsletter.confirm(session, settings, directory, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@newsletter_router.post(
    "/unsubscribe",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="unsubscribeNewsletter",
    summary="Unsubscribe from the newsletter",
    responses=problem_responses(InvalidOptOutToken),
    dependencies=[Depends(limit_newsletter_requests)],  # runs before the session is used
)
async def unsubscribe_newsletter(
    session: SessionDep,
    settings: SettingsDep,
    directory: AccountDirectoryDep,
    body: NewsletterUnsubscribe,
) -> Response:
    """With a newsletter email's code: withdraw at once. With an address: an unsubscribe
    link is mailed to it if it is subscribed. The answer is the same either way."""
    if body.token is not None:
        await consent.opt_out(session, settings, body.token, "newsletter")
    elif body.email is not None:
        await newsletter.send_unsubscribe_link(session, settings, directory, body.email)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@campaigns_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    operation_id="adminCreateCampaign",
    summary="Send a marketing campaign",
    responses=problem_responses(CampaignChannelUnsupported),
)
async def create_campaign(
    session: SessionDep,
    settings: SettingsDep,
    directory: AccountDirectoryDep,
    staff: StaffAccount,
    body: CampaignCreate,
) -> CampaignRead:
    """Queue one marketing email per subject holding the purpose, each once (staff only).
    Delivery re-checks each consent. Postal mail and phone purposes are refused (422)."""
    campaign = await campaigns.create(session, settings, directory, body, created_by=staff.id)
    return CampaignRead.model_validate(campaign)


@campaigns_router.get(
    "",
    operation_id="adminListCampaigns",
    summary="List marketing campaigns",
    responses=problem_responses(InvalidCursor),
)
async def list_campaigns(
    session: SessionDep, _: StaffAccount, limit: Limit = 50, cursor: Cursor = None
) -> Page[CampaignRead]:
    """Campaigns, oldest first (staff only)."""
    rows, next_cursor = await campaigns.list_campaigns(session, limit=limit, cursor=cursor)
    return Page[CampaignRead](
        items=[CampaignRead.model_validate(c) for c in rows], next_cursor=next_cursor
    )
