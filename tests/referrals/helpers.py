"""Referral test helpers: send a referral, read the invitation, scan for an address."""

from __future__ import annotations

import re
import uuid

import httpx
from sqlalchemy import JSON, String, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from app.outbox.models import OutboxMessage
from app.referrals.service import INVITATION_KIND


def referral_body(friend_email: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "friend_name": "Grace Hopper",
        "friend_email": friend_email,
        "is_adult": True,
    }
    body.update(overrides)
    return body


async def refer(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    friend_email: str,
    *,
    key: str | None = None,
    **overrides: object,
) -> httpx.Response:
    return await client.post(
        "/v1/referrals",
        json=referral_body(friend_email, **overrides),
        headers={"Idempotency-Key": key or uuid.uuid4().hex, **headers},
    )


async def invitations(session: AsyncSession) -> list[OutboxMessage]:
    rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == INVITATION_KIND))
    return list(rows)


def removal_token(body: str) -> str:
    found = re.search(r"/referrals/remove\?token=(\S+)", body)
    assert found, body
    return found.group(1)


def code_in(body: str) -> str:
    found = re.search(r"the code ([0-9A-Z]+)", body)
    assert found, body
    return found.group(1)


async def columns_holding(session: AsyncSession, text: str) -> list[str]:
    """Every text column of every table that holds `text` (case-insensitive)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            query = (
                select(func.count())
                .select_from(table)
                .where(func.lower(cast(column, Text)).contains(text.lower(), autoescape=True))
            )
            if await session.scalar(query):
                found.append(f"{table.name}.{column.name}")
    return found
