"""The contact channel: stored under a reference, acknowledged by email, answered by staff,
limited per client address; a minor's message stores nothing; no HTML is rendered back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.outbox.models import OutboxMessage
from app.support.models import SupportRequest
from app.support.service import ACKNOWLEDGEMENT_KIND, ANSWER_KIND
from tests.factories import signed_in
from tests.orders.conftest import problem_type

SCRIPT = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def contact_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Grace Hopper",
        "email": "Grace@Example.org",
        "topic": "order",
        "message": f"Where is my parcel? {SCRIPT}",
        "is_adult": True,
    }
    body.update(overrides)
    return body


@contextmanager
def settings_changed(app: FastAPI, **changes: Any) -> Iterator[None]:
    original = app.state.settings
    app.state.settings = original.model_copy(update=changes)
    try:
        yield
    finally:
        app.state.settings = original


async def mail_of_kind(session: AsyncSession, kind: str) -> list[OutboxMessage]:
    return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


async def test_a_contact_request_is_stored_with_a_reference_and_acknowledged_by_email(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/v1/contact", json=contact_body())
    assert response.status_code == 202, response.text
    reference = response.json()["reference"]
    assert response.json() == {"reference": reference}  # nothing the sender wrote comes back

    (stored,) = await session.scalars(select(SupportRequest))
    assert (stored.reference, stored.email, stored.status.value) == (
        reference, "grace@example.org", "open",
    )  # fmt: skip
    (ack,) = await mail_of_kind(session, ACKNOWLEDGEMENT_KIND)
    assert ack.recipient == "grace@example.org"
    assert reference in ack.subject
    assert reference in ack.body
    assert "<" not in ack.body
    assert "parcel" not in ack.body


async def test_staff_list_and_answer_once_and_the_answer_is_emailed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    _, customer = await signed_in(client, session)
    reference = (await client.post("/v1/contact", json=contact_body())).json()["reference"]

    assert (await client.get("/v1/admin/support-requests", headers=customer)).status_code == 403
    listed = await client.get("/v1/admin/support-requests?status=open", headers=staff)
    assert listed.headers["content-type"].startswith("application/json")
    (item,) = listed.json()["items"]
    assert item["reference"] == reference
    assert item["message"].endswith(SCRIPT)  # JSON text as written, never rendered

    path = f"/v1/admin/support-requests/{item['id']}/answer"
    answered = await client.post(path, json={"answer": "It ships today."}, headers=staff)
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered"
    again = await client.post(path, json={"answer": "Twice?"}, headers=staff)
    assert again.status_code == 409
    assert problem_type(again) == "support-request-answered"
    (mail,) = await mail_of_kind(session, ANSWER_KIND)
    assert (mail.recipient, reference in mail.body) == ("grace@example.org", True)
    assert "It ships today." in mail.body
    assert (await client.get("/v1/admin/support-requests?status=open", headers=staff)).json()[
        "items"
    ] == []


async def test_a_minors_contact_request_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/v1/contact", json=contact_body(is_adult=False))
    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert await session.scalar(select(func.count()).select_from(SupportRequest)) == 0
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


async def test_contact_requests_are_limited_per_client_address(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    with settings_changed(bound_app, contact_requests_per_ip_per_hour=2):
        answers = [await client.post("/v1/contact", json=contact_body()) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert "retry-after" in answers[2].headers
    assert await session.scalar(select(func.count()).select_from(SupportRequest)) == 2
