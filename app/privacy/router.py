from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.accounts.deps import CurrentAccount, StaffAccount
from app.accounts.privacy import active_account_emails
from app.core.deps import SessionDep
from app.core.errors import problem_responses
from app.core.pagination import Cursor, Limit
from app.core.routing import FacetRoute
from app.core.schemas import IsoDay, Page
from app.privacy import service, technical_data
from app.privacy.schemas import (
    PolicyAcceptanceRead,
    PolicyPublish,
    PolicyPublished,
    PolicyRead,
    PolicyVersionRead,
    TechnicalDataRead,
)

public_router = APIRouter(prefix="/privacy", tags=["privacy"], route_class=FacetRoute)
me_router = APIRouter(prefix="/me/privacy", tags=["me"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin/privacy", tags=["admin"], route_class=FacetRoute)


@public_router.get("/policy", operation_id="getPrivacyPolicy", responses=problem_responses(404))
async def get_policy(session: SessionDep) -> PolicyRead:
    """The privacy policy in force (Markdown), with the home-page notice of a material
    change while its notice period runs (P12)."""
    version = await service.require_current_version(session)
    notice = await service.running_notice(session)
    return PolicyRead(
        version=version.version,
        effective_on=version.effective_on,
        material=version.material,
        text_markdown=version.text_markdown,
        notice=notice,
    )


@public_router.get(
    "/policy/versions", operation_id="listPrivacyPolicyVersions", responses=problem_responses()
)
async def list_policy_versions(
    session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[PolicyVersionRead]:
    """Every published version of the privacy policy, newest first."""
    rows, next_cursor = await service.list_versions(session, limit=limit, cursor=cursor)
    return Page[PolicyVersionRead](
        items=[PolicyVersionRead.model_validate(v) for v in rows], next_cursor=next_cursor
    )


@me_router.post(
    "/policy-acceptance",
    operation_id="acceptPrivacyPolicy",
    responses=problem_responses(401, 404),
)
async def accept_policy(session: SessionDep, account: CurrentAccount) -> PolicyAcceptanceRead:
    """Accept the privacy policy version in force; accepting it again changes nothing."""
    acceptance = await service.accept_current(session, account.id)
    return PolicyAcceptanceRead.model_validate(acceptance)


@admin_router.post(
    "/policy",
    status_code=status.HTTP_201_CREATED,
    operation_id="publishPrivacyPolicy",
    responses=problem_responses(401, 403, 409),
)
async def publish_policy(
    session: SessionDep, staff: StaffAccount, body: PolicyPublish
) -> PolicyPublished:
    """Publish a new policy version (staff only). A material change queues one notice
    email per active account and raises the home-page notice (P12)."""
    published = await service.publish(
        session, body, published_by=staff.id, recipients=active_account_emails
    )
    return PolicyPublished.model_validate(
        {
            **PolicyVersionRead.model_validate(published.version).model_dump(),
            "notices_queued": published.notices_queued,
        }
    )


@admin_router.get(
    "/technical-data",
    operation_id="adminListTechnicalData",
    responses=problem_responses(401, 403),
)
async def list_technical_data(
    session: SessionDep,
    _: StaffAccount,
    since: Annotated[
        IsoDay | None, Query(alias="from", description="First day (default: 6 days before `to`).")
    ] = None,
    until: Annotated[
        IsoDay | None, Query(alias="to", description="Last day (default: today).")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[TechnicalDataRead]:
    """Daily request counts by coarse traits, newest day first (staff only, P4)."""
    rows, next_cursor = await technical_data.list_daily(
        session, since=since, until=until, limit=limit, cursor=cursor
    )
    return Page[TechnicalDataRead](
        items=[TechnicalDataRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )
