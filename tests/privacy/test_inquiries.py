"""Privacy inquiries (P13): a reference, an acknowledgement stating the due date and where
to escalate, staff answers emailed, overdue ones flagged; a minor's inquiry stores nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.core.db import utcnow
from app.outbox.models import OutboxMessage
from app.privacy.inquiries import ACK_EMAIL_KIND, ANSWER_EMAIL_KIND
from app.privacy.models import PrivacyInquiry
from tests.factories import signed_in

PROBLEM = "https://facet.example/problems/"


async def ask(client: httpx.AsyncClient, email: str, *, adult: bool = True) -> httpx.Response:
    return await client.post(
        "/v1/privacy/inquiries",
        json={"email": email, "message": "Why do you keep my phone?", "is_adult": adult},
    )


async def mail(session: AsyncSession, email: str, kind: str) -> list[str]:
    return list(
        await session.scalars(
            select(OutboxMessage.body).where(
                OutboxMessage.recipient == email, OutboxMessage.kind == kind
            )
        )
    )


async def test_an_inquiry_is_acknowledged_with_its_reference_due_date_and_escalation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = f"asker.{uuid.uuid4().hex[:8]}@example.com"

    answer = await ask(client, email)

    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["reference"].startswith("PI-")
    assert body["due_on"] == (utcnow().date() + timedelta(days=30)).isoformat()
    assert "data-protection authority" in body["escalation"]
    (ack,) = await mail(session, email, ACK_EMAIL_KIND)
    assert body["reference"] in ack
    assert body["due_on"] in ack
    assert body["escalation"] in ack


async def test_a_minors_inquiry_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = f"young.{uuid.uuid4().hex[:8]}@example.com"
    before = await session.scalar(select(func.count()).select_from(PrivacyInquiry))

    refused = await ask(client, email, adult=False)

    assert (refused.status_code, refused.json()["type"]) == (
        422,
        PROBLEM + "age-restricted",
    )
    assert await session.scalar(select(func.count()).select_from(PrivacyInquiry)) == before
    assert await mail(session, email, ACK_EMAIL_KIND) == []


async def test_staff_answer_by_email_close_and_see_overdue_inquiries(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    late_email = f"late.{uuid.uuid4().hex[:8]}@example.com"
    email = f"asker.{uuid.uuid4().hex[:8]}@example.com"
    late = (await ask(client, late_email)).json()["reference"]
    fresh = (await ask(client, email)).json()["reference"]
    await session.execute(
        update(PrivacyInquiry)
        .where(PrivacyInquiry.reference == late)
        .values(due_on=utcnow().date() - timedelta(days=1))
    )
    await session.commit()

    listed = (await client.get("/v1/admin/privacy/inquiries", headers=staff)).json()["items"]
    overdue = (await client.get("/v1/admin/privacy/inquiries?overdue=true", headers=staff)).json()[
        "items"
    ]
    flags = {i["reference"]: i["overdue"] for i in listed}
    assert (flags[late], flags[fresh]) == (True, False)
    assert [i["reference"] for i in overdue] == [late]

    fresh_id = next(i["id"] for i in listed if i["reference"] == fresh)
    answered = await client.post(
        f"/v1/admin/privacy/inquiries/{fresh_id}/answer", headers=staff,
        json={"answer": "For delivery questions only."},
    )  # fmt: skip
    closed = await client.post(f"/v1/admin/privacy/inquiries/{fresh_id}/close", headers=staff)
    again = await client.post(
        f"/v1/admin/privacy/inquiries/{fresh_id}/answer", headers=staff, json={"answer": "More."}
    )

    assert answered.json()["status"] == "answered"
    (sent,) = await mail(session, email, ANSWER_EMAIL_KIND)
    assert "For delivery questions only." in sent
    assert fresh in sent
    assert closed.json()["status"] == "closed"
    assert (again.status_code, again.json()["type"]) == (409, PROBLEM + "privacy-inquiry-closed")
