"""Policy publication and acceptance under real concurrency on PostgreSQL: many requests
at once, each in its own committed transaction, against a dedicated database."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from app.accounts.models import Account, Role
from app.outbox.models import OutboxMessage
from app.privacy.models import PolicyAcceptance, PolicyVersion
from app.privacy.service import NOTICE_EMAIL_KIND
from tests.factories import bearer, login, make_account
from tests.realdb import dedicated_pg_database, http_client, running_app, sessions

PUBLISHERS = 6
ACCEPTANCES = 10


@pytest.fixture(scope="module")
async def pg_app() -> AsyncIterator[FastAPI]:
    url = await dedicated_pg_database("_privacy_race")
    async with running_app(url) as application:
        yield application


async def test_concurrent_material_publications_email_each_account_once_per_version(
    pg_app: FastAPI,
) -> None:
    async with sessions(pg_app)() as session:
        customers = [await make_account(session) for _ in range(3)]
        staff = await make_account(session, role=Role.staff)
    async with http_client(pg_app) as client:
        headers = bearer((await login(client, staff.email))["access_token"])

        async def publish(n: int) -> httpx.Response:
            body = {"text_markdown": f"# Policy {n}\n\n" + "A material change. " * 10,
                    "material": True}  # fmt: skip
            return await client.post("/v1/admin/privacy/policy", json=body, headers=headers)

        answers = await asyncio.gather(*(publish(n) for n in range(PUBLISHERS)))

    statuses = Counter(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    published = sorted(a.json()["version"] for a in answers if a.status_code == 201)
    async with sessions(pg_app)() as session:
        versions = list(await session.scalars(select(PolicyVersion.version)))
        notices = Counter(
            await session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.kind == NOTICE_EMAIL_KIND)
            )
        )
        active = await session.scalar(
            select(func.count()).select_from(Account).where(Account.is_active)
        )
    assert published == list(range(2, 2 + statuses[201]))
    assert sorted(versions) == [1, *published]
    # Every account got exactly one notice per published version, none for refused ones.
    assert set(notices.values()) == {statuses[201]}
    assert len(notices) == active
    assert {c.email for c in customers} <= set(notices)


async def test_concurrent_acceptances_record_one_row(pg_app: FastAPI) -> None:
    async with sessions(pg_app)() as session:
        account = await make_account(session)
        # Registration accepted the version in force: take that back, so all race to record it.
        await session.execute(
            delete(PolicyAcceptance).where(PolicyAcceptance.account_id == account.id)
        )
        await session.commit()
    async with http_client(pg_app) as client:
        headers = bearer((await login(client, account.email))["access_token"])
        answers = await asyncio.gather(
            *(
                client.post("/v1/me/privacy/policy-acceptance", headers=headers)
                for _ in range(ACCEPTANCES)
            )
        )

    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert len({a.json()["accepted_at"] for a in answers}) == 1
    async with sessions(pg_app)() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(PolicyAcceptance)
            .where(PolicyAcceptance.account_id == account.id)
        )
    assert rows == 1
