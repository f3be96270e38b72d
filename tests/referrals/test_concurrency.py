"""Referrals of one address by many customers at once, each request in its own committed
transaction, on PostgreSQL: one invitation, ever, and a referral in every referrer's list;
none and nothing of the friend stored after removal, even by a referral racing it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.referrals.models import Referral
from app.referrals.service import remove
from tests.factories import bearer, login, make_account
from tests.realdb import dedicated_pg_database, http_client, running_app, sessions
from tests.referrals.helpers import columns_holding, invitations, refer, removal_token

REFERRERS = 30
FRIEND = "many.friends@example.org"


@pytest.fixture(scope="module")
async def pg_app() -> AsyncIterator[FastAPI]:
    url = await dedicated_pg_database("_referral_race")
    async with running_app(url) as application:
        yield application


async def test_thirty_concurrent_referrals_of_one_address_send_one_email_and_none_after_removal(
    pg_app: FastAPI,
) -> None:
    async with sessions(pg_app)() as session:
        referrers = [await make_account(session) for _ in range(REFERRERS + 1)]
    async with http_client(pg_app) as client:
        headers = [bearer((await login(client, r.email))["access_token"]) for r in referrers]
        first, newcomer = headers[:REFERRERS], headers[REFERRERS]
        answers = await asyncio.gather(*(refer(client, h, FRIEND) for h in first))
        assert {(a.status_code, a.text) for a in answers} == {(202, '{"status":"accepted"}')}

        async with sessions(pg_app)() as session:
            (invitation,) = await invitations(session)
            assert await session.scalar(select(func.count()).select_from(Referral)) == REFERRERS
        lists = await asyncio.gather(*(client.get("/v1/me/referrals", headers=h) for h in first))
        assert {
            tuple((r["status"], r["friend_email"]) for r in page.json()["items"]) for page in lists
        } == {(("invited", FRIEND),)}

        # A newcomer's referral while a removal is under way (committed a moment later):
        # it must neither land unscrubbed before the removal commits nor store the friend
        # after it.
        async with sessions(pg_app)() as removing:
            await remove(removing, pg_app.state.settings, removal_token(invitation.body))
            racing = asyncio.create_task(refer(client, newcomer, FRIEND))
            await asyncio.sleep(1)
            await removing.commit()
        assert (await racing).status_code == 202

        again = await asyncio.gather(*(refer(client, h, FRIEND) for h in headers[::5]))
        assert {a.status_code for a in again} == {202}

    async with sessions(pg_app)() as session:
        assert await invitations(session) == []
        assert await columns_holding(session, FRIEND) == []
        assert await columns_holding(session, "Grace Hopper") == []
        assert await session.scalar(select(func.count()).select_from(Referral)) == REFERRERS + 1
