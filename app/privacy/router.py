from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status

from app.accounts.deps import CurrentAccount, PasswordConfirmationDep, StaffAccount
from app.adapters.deps import MailSenderDep
from app.core.deps import SessionDep
from app.core.pagination import Cursor, InvalidCursor, Limit
from app.core.problems import problem_responses
from app.core.routing import FacetRoute
from app.core.schemas import IsoDay, Page
from app.privacy import service, technical_data
from app.privacy.deps import RegistryDep
from app.privacy.errors import (
    ErasureBlockedByOpenOrder,
    InvalidDateRange,
    InvalidEffectiveDate,
    NoPolicyInForce,
    PolicyUnchanged,
    PolicyVersionConflict,
)
from app.privacy.processors import ErasureNotesDep
from app.privacy.schemas import (
    ErasureReceipt,
    ErasureRequest,
    PersonalDataExport,
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


@public_router.get(
    "/policy",
    operation_id="getPrivacyPolicy",
    summary="Get the privacy policy",
    responses=problem_responses(NoPolicyInForce),
)
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
    "/policy/versions",
    operation_id="listPrivacyPolicyVersions",
    summary="List privacy policy versions",
    responses=problem_responses(InvalidCursor),
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
    summary="Accept the privacy policy",
    responses=problem_responses(NoPolicyInForce),
)
async def accept_policy(session: SessionDep, account: CurrentAccount) -> PolicyAcceptanceRead:
    """Accept the privacy policy version in force; accepting it again changes nothing."""
    acceptance = await service.accept_current(session, account.id)
    return PolicyAcceptanceRead.model_validate(acceptance)


@admin_router.post(
    "/policy",
    status_code=status.HTTP_201_CREATED,
    operation_id="publishPrivacyPolicy",
    summary="Publish a privacy policy version",
    responses=problem_responses(InvalidEffectiveDate, PolicyUnchanged, PolicyVersionConflict),
)
async def publish_policy(
    session: SessionDep, staff: StaffAccount, registry: RegistryDep, body: PolicyPublish
) -> PolicyPublished:
    """Publish a new policy version (staff only). A material change queues one notice
    email per active account and raises the home-page notice (P12)."""
    published = await service.publish(
        session, body, published_by=staff.id, recipients=registry.notice_recipients
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
    summary="List technical data statistics",
    responses=problem_responses(InvalidCursor, InvalidDateRange),
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


@me_router.post(
    "/export",
    operation_id="exportMyPersonalData",
    summary="Export my personal data",
)
async def export_personal_data(
    session: SessionDep, account: CurrentAccount, registry: RegistryDep
) -> PersonalDataExport:
    """Every personal datum held about the signed-in customer, machine-readable (P8):
    account, addresses, sessions, cart, orders with lines, events and the processors that
    received their data, policy acceptances, messages sent, stored answers, and staff
    notes that mention them. Guest orders placed with the account's email join once
    that email is verified."""
    return await service.export_personal_data(session, registry, account.id)


@me_router.post(
    "/erasure",
    operation_id="eraseMyPersonalData",
    summary="Erase my personal data",
    responses=problem_responses(ErasureBlockedByOpenOrder),
)
async def erase_personal_data(
    confirmation: PasswordConfirmationDep,  # before the session is used: it counts first
    session: SessionDep,
    account: CurrentAccount,
    registry: RegistryDep,
    sender: MailSenderDep,
    background: BackgroundTasks,
    body: ErasureRequest,
    processor_notes: ErasureNotesDep,
) -> ErasureReceipt:
    """Erase the account (P8), after re-confirming the password (wrong guesses are
    throttled like logins). Deleted: the account, addresses, cart, sessions and tokens,
    policy acceptances, unsent messages and stored answers. Kept, anonymized: orders
    (totals, lines, dates, status and country, for bookkeeping), with their token
    revoked; sent messages are redacted. An unpaid order is cancelled and its stock
    released; an order being paid, or paid and not yet shipped, refuses the erasure
    (409 `erasure-blocked-by-open-order`) until it ships or is cancelled. The receipt
    is returned and emailed to the account's address as the last message to it."""
    erasure = await service.erase_personal_data(
        session, registry, account.id,
        confirm_password=confirmation.for_account(account, body.current_password),
        mail_keeps_copies=sender.keeps_copies, processor_notes=processor_notes,
    )  # fmt: skip
    # Runs after the answer, so after the erasure committed.
    background.add_task(service.send_receipt_and_forget, sender, erasure)
    return erasure.receipt
