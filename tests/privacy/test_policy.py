"""Privacy policy versions, material-change notices and acceptances (P12)."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account, Role
from app.accounts.privacy import active_account_emails
from app.core.db import utcnow
from app.outbox.models import MessageCategory, OutboxMessage
from app.privacy import service
from app.privacy.models import PolicyAcceptance
from app.privacy.schemas import PolicyPublish
from tests.factories import login, make_account, signed_in

PROBLEM = "https://facet.example/problems/"
FIRST_POLICY = Path(__file__).resolve().parents[2] / "app" / "privacy" / "policy" / "v1.md"
NEW_TEXT = "# Privacy policy\n\nVersion two. " + "We keep our thirteen promises. " * 10


def new_text(n: int) -> str:
    return NEW_TEXT + f"Revision {n}."


async def publish(
    client: httpx.AsyncClient, staff: dict[str, str], *, material: bool, n: int = 2, **extra: object
) -> httpx.Response:
    body = {"text_markdown": new_text(n), "material": material, **extra}
    return await client.post("/v1/admin/privacy/policy", json=body, headers=staff)


async def notices(session: AsyncSession) -> Counter[str]:
    rows = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == service.NOTICE_EMAIL_KIND)
    )
    return Counter(m.recipient for m in rows)


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    response = await client.get("/v1/me", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_every_database_starts_with_version_one_from_the_repository(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/privacy/policy")

    assert response.status_code == 200, response.text
    policy = response.json()
    assert policy["version"] == 1
    assert policy["text_markdown"] == FIRST_POLICY.read_text(encoding="utf-8")
    assert policy["material"] is False
    assert policy["notice"] is None
    for processor in ("Stripe", "Authorize.Net", "FedEx", "SMTP"):
        assert processor in policy["text_markdown"]


async def test_publishing_a_material_version_emails_every_active_account_exactly_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    customers = [await make_account(session) for _ in range(3)]
    inactive = await make_account(session)
    inactive.is_active = False
    await session.commit()
    staff_account, staff = await signed_in(client, session, role=Role.staff)

    response = await publish(client, staff, material=True, notice_text="Our policy changed.")

    assert response.status_code == 201, response.text
    published = response.json()
    assert published["version"] == 2
    assert published["material"] is True
    assert published["notices_queued"] == 4
    expected = {a.email for a in customers} | {staff_account.email}
    assert await notices(session) == Counter(dict.fromkeys(expected, 1))
    queued = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == service.NOTICE_EMAIL_KIND)
    )
    assert {m.category for m in queued} == {MessageCategory.transactional}

    policy = (await client.get("/v1/privacy/policy")).json()
    assert policy["version"] == 2
    assert policy["notice"]["text"] == "Our policy changed."
    assert policy["notice"]["version"] == 2


async def test_notices_reach_each_account_once_across_batches(session: AsyncSession) -> None:
    accounts = [await make_account(session) for _ in range(5)]
    staff = await make_account(session, role=Role.staff)

    published = await service.publish(
        session,
        PolicyPublish(text_markdown=new_text(2), material=True),
        published_by=staff.id,
        recipients=functools.partial(active_account_emails, batch_size=2),
    )

    assert published.notices_queued == 6
    expected = {a.email for a in accounts} | {staff.email}
    assert await notices(session) == Counter(dict.fromkeys(expected, 1))


async def test_a_non_material_version_emails_nobody_and_raises_no_notice(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await make_account(session)
    _, staff = await signed_in(client, session, role=Role.staff)

    response = await publish(client, staff, material=False)

    assert response.status_code == 201, response.text
    assert response.json()["notices_queued"] == 0
    assert await notices(session) == Counter()
    policy = (await client.get("/v1/privacy/policy")).json()
    assert policy["version"] == 2
    assert policy["notice"] is None


async def test_customers_cannot_publish_and_anonymous_callers_must_log_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, customer = await signed_in(client, session)
    body = {"text_markdown": new_text(2), "material": True}

    as_customer = await client.post("/v1/admin/privacy/policy", json=body, headers=customer)
    anonymous = await client.post("/v1/admin/privacy/policy", json=body)

    assert as_customer.status_code == 403
    assert anonymous.status_code == 401
    assert (await client.get("/v1/privacy/policy")).json()["version"] == 1
    assert await notices(session) == Counter()


async def test_acceptance_flips_the_me_flag_and_is_idempotent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    customer, headers = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    assert (await me(client, headers))["privacy_policy_pending"] is False  # accepted at sign-up

    assert (await publish(client, staff, material=True)).status_code == 201
    assert (await me(client, headers))["privacy_policy_pending"] is True

    first = await client.post("/v1/me/privacy/policy-acceptance", headers=headers)
    again = await client.post("/v1/me/privacy/policy-acceptance", headers=headers)

    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["version"] == 2
    assert (await me(client, headers))["privacy_policy_pending"] is False
    versions = await session.scalars(
        select(PolicyAcceptance.version).where(PolicyAcceptance.account_id == customer.id)
    )
    assert sorted(versions) == [1, 2]


async def test_registration_records_acceptance_of_the_version_in_force(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/accounts",
        json={
            "email": "grace@example.com",
            "password": "Emerald-Cut-Sparkle-42",
            "full_name": "Grace Hopper",
            "date_of_birth": "1980-12-09",
        },
    )
    assert response.status_code == 201, response.text

    account = await session.scalar(select(Account).where(Account.email == "grace@example.com"))
    assert account is not None
    accepted = await session.scalars(
        select(PolicyAcceptance.version).where(PolicyAcceptance.account_id == account.id)
    )
    assert list(accepted) == [1]
    tokens = await login(client, "grace@example.com")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await me(client, headers))["privacy_policy_pending"] is False


async def test_acceptance_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/me/privacy/policy-acceptance")

    assert response.status_code == 401


async def test_an_announced_version_shows_its_notice_before_it_takes_effect(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    effective_on = utcnow().date() + timedelta(days=14)

    response = await publish(
        client, staff, material=True, effective_on=effective_on.isoformat(), notice_days=10
    )

    assert response.status_code == 201, response.text
    assert response.json()["notice_until"] == (effective_on + timedelta(days=10)).isoformat()
    policy = (await client.get("/v1/privacy/policy")).json()
    assert policy["version"] == 1  # still in force
    assert policy["notice"]["version"] == 2
    assert policy["notice"]["effective_on"] == effective_on.isoformat()
    # Nothing new to accept until the new version takes effect.
    assert (await me(client, headers))["privacy_policy_pending"] is False


async def test_versions_are_listed_newest_first_page_by_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    for n in (2, 3):
        assert (await publish(client, staff, material=False, n=n)).status_code == 201

    first = await client.get("/v1/privacy/policy/versions", params={"limit": 2})
    cursor = first.json()["next_cursor"]
    second = await client.get("/v1/privacy/policy/versions", params={"limit": 2, "cursor": cursor})

    assert [v["version"] for v in first.json()["items"]] == [3, 2]
    assert [v["version"] for v in second.json()["items"]] == [1]
    assert second.json()["next_cursor"] is None


async def test_publishing_the_latest_text_again_is_refused_and_emails_nobody(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    assert (await publish(client, staff, material=True)).status_code == 201
    queued = await notices(session)

    repeat = await publish(client, staff, material=True)

    assert repeat.status_code == 409
    assert repeat.json()["type"] == PROBLEM + "privacy-policy-unchanged"
    assert await notices(session) == queued


@pytest.mark.parametrize("days_from_today", [-1, 367])
async def test_a_version_takes_effect_between_today_and_a_year_ahead(
    client: httpx.AsyncClient, session: AsyncSession, days_from_today: int
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    day = utcnow().date() + timedelta(days=days_from_today)

    response = await publish(client, staff, material=True, effective_on=day.isoformat())

    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + "invalid-effective-date"
    assert await notices(session) == Counter()
