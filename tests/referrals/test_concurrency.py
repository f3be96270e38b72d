"""Referrals of one address by many customers at once, each request in its own committed
transaction, on PostgreSQL: one invitation, ever; none and nothing stored after removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.referrals.models import Referral
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
        referrers = [await make_account(session) for _ in range(REFERRERS)]
    async with http_client(pg_app) as client:
        headers = [bearer((await login(client, r.email))["access_token"]) for r in referrers]
        answers = await asyncio.gather(*(refer(client, h, FRIEND) for h in headers))
        assert {(a.status_code, a.text) for a in answers} == {(202, '{"status":"accepted"}')}

        async with sessions(pg_app)() as session:
            (invitation,) = await invitations(session)
            assert await session.scalar(select(func.count()).select_from(Referral)) == 1
        removed = await client.post(
            "/v1/referrals/removal", json={"token": removal_token(invitation.body)}
        )
        assert removed.status_code == 204

        later = await asyncio.gather(*(refer(client, h, FRIEND) for h in headers[:10]))
        assert {a.status_code for a in later} == {202}

    async with sessions(pg_app)() as session:
        assert await invitations(session) == []
        assert await columns_holding(session, FRIEND) == []
