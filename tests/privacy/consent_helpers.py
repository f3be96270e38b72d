"""Helpers for the consent, opt-out, newsletter and campaign tests."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.models import OutboxMessage

PROBLEM = "https://facet.example/problems/"
_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_.=-]+)")


def problem_type(response: httpx.Response) -> str:
    kind: str = response.json()["type"]
    assert kind.startswith(PROBLEM), kind
    return kind.removeprefix(PROBLEM)


async def messages(
    session: AsyncSession, *, kind: str | None = None, to: str | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    if to is not None:
        query = query.where(OutboxMessage.recipient == to)
    return list(await session.scalars(query.execution_options(populate_existing=True)))


def link_token(body: str) -> str:
    """The token of the first link in an email body."""
    found = _TOKEN.search(body)
    assert found is not None, body
    return found.group(1)


async def latest_token(session: AsyncSession, *, kind: str, to: str) -> str:
    sent = await messages(session, kind=kind, to=to)
    assert sent, f"no {kind} message to {to}"
    return link_token(sent[-1].body)


async def consents(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, bool]:
    response = await client.get("/v1/me/consents", headers=headers)
    assert response.status_code == 200, response.text
    return {item["purpose"]: item["granted"] for item in response.json()}
