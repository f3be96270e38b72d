"""Privacy requests from people without an account (P8), on both databases: the same
answer for known and unknown addresses, nothing done before the mailed code comes back,
expiry, and a guest erasure that leaves no marker in any column or sink file."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.adapters.payments.fake import FakePaymentProvider
from app.core.db import utcnow
from app.housekeeping import purge_outdated
from app.orders.models import Order, OrderStatus
from app.outbox.models import OutboxMessage
from app.privacy.models import PrivacyRequest, RequestStatus
from app.privacy.requests import VERIFY_EMAIL_KIND, one_month_after
from tests.factories import signed_in
from tests.orders.conftest import (
    pay,
    place_order,
    provider,  # noqa: F401  (fixture)
)
from tests.privacy.test_erasure import (
    Markers,
    RecordingSink,
    deliver,
    marked,
    marked_files,
    new_markers,
    sink,  # noqa: F401  (fixture)
)

PROBLEM = "https://facet.example/problems/"


async def guest_order(client: httpx.AsyncClient, session: AsyncSession, markers: Markers) -> Any:
    shipping = {"full_name": markers.name, "line1": markers.street, "city": "Springfield",
                "postal_code": "62701", "country": "US"}  # fmt: skip
    return await place_order(
        client, session, email=markers.email, phone=markers.phone, shipping_address=shipping
    )


async def open_request(client: httpx.AsyncClient, email: str, kind: str, **extra: Any) -> Any:
    return await client.post("/v1/privacy/requests", json={"email": email, "type": kind, **extra})


async def mailed_code(session: AsyncSession, request_id: str) -> str:
    bodies = await session.scalars(
        select(OutboxMessage.body).where(OutboxMessage.kind == VERIFY_EMAIL_KIND)
    )
    for body in bodies:
        if request_id in body:
            found = re.search(r"code: (\S+)", body)
            assert found is not None
            return found.group(1)
    raise AssertionError("no verification message for this request")


async def verify(client: httpx.AsyncClient, request_id: str, token: str) -> httpx.Response:
    return await client.post(f"/v1/privacy/requests/{request_id}/verify", json={"token": token})


async def messages_to(session: AsyncSession, email: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.recipient == email)
        )
        or 0
    )


async def test_a_request_is_answered_alike_for_known_and_unknown_addresses(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    known = new_markers()
    await guest_order(client, session, known)
    unknown = new_markers().email
    before = {email: await messages_to(session, email) for email in (known.email, unknown)}

    answers = [await open_request(client, email, "erasure") for email in (known.email, unknown)]

    assert [a.status_code for a in answers] == [202, 202]
    assert [sorted(a.json()) for a in answers] == [["id", "status", "verify_by"]] * 2
    assert {a.json()["status"] for a in answers} == {"awaiting_verification"}
    # The same work: one verification message each, nothing else looked at or sent.
    for email in (known.email, unknown):
        assert await messages_to(session, email) == before[email] + 1


async def test_nothing_is_erased_until_the_mailed_code_comes_back(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    markers = new_markers()
    order = await guest_order(client, session, markers)
    opened = (await open_request(client, markers.email, "erasure")).json()

    wrong = await verify(client, opened["id"], "not-the-code")
    unknown_id = await verify(client, str(uuid.uuid4()), await mailed_code(session, opened["id"]))

    assert (wrong.status_code, wrong.json()["type"]) == (404, PROBLEM + "privacy-request-not-found")
    assert unknown_id.status_code == 404
    session.expire_all()
    stored = await session.get(Order, uuid.UUID(order.id))
    assert stored is not None
    assert stored.email == markers.email.lower()


async def test_an_expired_request_cannot_be_verified_and_is_purged(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    markers = new_markers()
    order = await guest_order(client, session, markers)
    opened = (await open_request(client, markers.email, "erasure")).json()
    code = await mailed_code(session, opened["id"])
    await session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.id == uuid.UUID(opened["id"]))
        .values(verify_by=utcnow() - timedelta(seconds=1))
    )
    await session.commit()

    late = await verify(client, opened["id"], code)

    assert late.status_code == 404
    session.expire_all()
    stored = await session.get(Order, uuid.UUID(order.id))
    assert stored is not None
    assert stored.email == markers.email.lower()
    await purge_outdated(session, bound_app.state.settings)
    assert await session.get(PrivacyRequest, uuid.UUID(opened["id"])) is None


async def test_a_guest_erasure_leaves_no_marker_in_any_column_or_sink_file(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: RecordingSink,  # noqa: F811
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    markers, other = new_markers(), new_markers()
    shipped = await guest_order(client, session, markers)
    assert (await pay(client, shipped)).status_code == 200
    assert (
        await client.post(f"/v1/admin/orders/{shipped.id}/ship", headers=staff)
    ).status_code == 200
    unpaid = await guest_order(client, session, markers)
    await guest_order(client, session, other)
    inquiry = await client.post(
        "/v1/privacy/inquiries",
        json={"email": markers.email, "message": f"I am {markers.name}", "is_adult": True},
    )
    assert inquiry.status_code == 201, inquiry.text
    disclosure = await client.post(
        "/v1/admin/privacy/disclosures", headers=staff,
        json={"subject_email": markers.email, "data_categories": ["contact", "orders"],
              "recipient": "District court", "legal_basis": "Court order",
              "reference": "CASE-1", "disclosed_on": utcnow().date().isoformat()},
    )  # fmt: skip
    assert disclosure.status_code == 201, disclosure.text
    opened = (await open_request(client, markers.email, "erasure")).json()
    await deliver(sessionmaker, sink)
    other_before = await marked(session, other)
    assert await marked(session, markers) != []
    assert marked_files(sink.directory, markers) != []

    done = await verify(client, opened["id"], await mailed_code(session, opened["id"]))
    await deliver(sessionmaker, sink)

    assert done.status_code == 200, done.text
    result = done.json()
    assert result["status"] == "completed"
    assert result["receipt"]["anonymized"]["orders"] == 2
    assert result["receipt"]["anonymized"]["legal_disclosures"] == 1
    assert result["receipt"]["deleted"]["privacy_inquiries"] == 1
    session.expire_all()
    assert await marked(session, markers) == []
    assert marked_files(sink.directory, markers) == []
    assert sink.sent[-1].to == markers.email.lower()  # the receipt, sent last
    cancelled = await session.get(Order, uuid.UUID(unpaid.id))
    assert cancelled is not None
    assert cancelled.status == OrderStatus.cancelled
    # The disclosure's record stays, no longer naming anyone.
    listed = (await client.get("/v1/admin/privacy/disclosures", headers=staff)).json()["items"]
    assert [(d["reference"], d["subject_email"]) for d in listed] == [("CASE-1", None)]
    assert listed[0]["subject_erased_at"] is not None
    assert await marked(session, other) == other_before


async def test_a_guest_erasure_waits_for_a_paid_order_to_ship(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    markers = new_markers()
    order = await guest_order(client, session, markers)
    assert (await pay(client, order)).status_code == 200
    opened = (await open_request(client, markers.email, "erasure")).json()
    code = await mailed_code(session, opened["id"])

    refused = await verify(client, opened["id"], code)

    assert refused.status_code == 409
    assert refused.json()["type"] == PROBLEM + "erasure-blocked-by-open-order"
    session.expire_all()
    request = await session.get(PrivacyRequest, uuid.UUID(opened["id"]))
    assert request is not None
    assert request.status == RequestStatus.awaiting_verification  # the code still works later


async def test_an_access_request_mails_the_export_with_disclosures(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    markers = new_markers()
    order = await guest_order(client, session, markers)
    recorded = await client.post(
        "/v1/admin/privacy/disclosures", headers=staff,
        json={"subject_email": markers.email, "data_categories": ["contact"],
              "recipient": "Tax office", "legal_basis": "Tax audit", "reference": "TAX-7",
              "disclosed_on": "2026-11-01"},
    )  # fmt: skip
    assert recorded.status_code == 201
    opened = (await open_request(client, markers.email, "access")).json()

    done = await verify(client, opened["id"], await mailed_code(session, opened["id"]))

    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    export = await session.scalar(
        select(OutboxMessage.body).where(
            OutboxMessage.recipient == markers.email.lower(),
            OutboxMessage.kind == "privacy_request_export",
        )
    )
    assert export is not None
    assert order.body["number"] in export
    assert "TAX-7" in export
    assert "Tax office" in export
    # The code is used up.
    again = await verify(client, opened["id"], await mailed_code(session, opened["id"]))
    assert again.status_code == 404


async def test_a_rectification_waits_for_staff_who_correct_the_order(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    markers = new_markers()
    order = await guest_order(client, session, markers)
    opened = (
        await open_request(client, markers.email, "rectification", details="Phone is wrong")
    ).json()
    done = await verify(client, opened["id"], await mailed_code(session, opened["id"]))
    assert done.json()["status"] == "awaiting_staff"

    listed = (await client.get("/v1/admin/privacy/requests", headers=staff)).json()["items"]
    mine = next(r for r in listed if r["id"] == opened["id"])
    assert mine["status"] == "awaiting_staff"
    assert mine["due_on"] == one_month_after(utcnow().date()).isoformat()
    fixed = await client.patch(
        f"/v1/admin/orders/{order.id}/contact", headers=staff, json={"phone": "+1 555 0000001"}
    )
    completed = await client.post(
        f"/v1/admin/privacy/requests/{opened['id']}/complete", headers=staff
    )

    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["phone"] == "+1 555 0000001"
    assert fixed.json()["events"][-1]["note"] == "contact data rectified on request"
    assert completed.json()["status"] == "completed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/privacy/requests"),
        ("POST", f"/v1/admin/privacy/requests/{uuid.uuid4()}/complete"),
        ("GET", "/v1/admin/privacy/inquiries"),
        ("POST", f"/v1/admin/privacy/inquiries/{uuid.uuid4()}/answer"),
        ("POST", f"/v1/admin/privacy/inquiries/{uuid.uuid4()}/close"),
        ("GET", "/v1/admin/privacy/disclosures"),
        ("POST", "/v1/admin/privacy/disclosures"),
        ("PATCH", f"/v1/admin/orders/{uuid.uuid4()}/contact"),
    ],
)
async def test_privacy_staff_routes_are_for_staff_only(
    client: httpx.AsyncClient, session: AsyncSession, method: str, path: str
) -> None:
    _, customer = await signed_in(client, session)
    anonymous = await client.request(method, path, json={})
    as_customer = await client.request(method, path, json={}, headers=customer)
    assert (anonymous.status_code, as_customer.status_code) == (401, 403)


async def test_privacy_requests_are_throttled_per_client_address(
    client: httpx.AsyncClient,
) -> None:
    statuses = [
        (await open_request(client, f"someone{i}@example.com", "access")).status_code
        for i in range(11)
    ]
    assert statuses == [202] * 10 + [429]


def test_one_month_from_receipt_keeps_to_the_month() -> None:
    from datetime import date

    assert one_month_after(date(2026, 1, 31)) == date(2026, 2, 28)
    assert one_month_after(date(2026, 12, 15)) == date(2027, 1, 15)


async def test_a_guest_erasure_leaves_an_accounts_orders_with_that_address_alone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)
    email = account.email.lower()
    placed = await place_order(client, session, headers=headers, email=email)
    guest = await place_order(client, session, email=email)
    opened = (await open_request(client, email, "erasure")).json()

    done = await verify(client, opened["id"], await mailed_code(session, opened["id"]))

    assert done.status_code == 200, done.text
    session.expire_all()
    kept = await session.get(Order, uuid.UUID(placed.id))
    erased = await session.get(Order, uuid.UUID(guest.id))
    assert kept is not None
    assert erased is not None
    assert kept.email == email
    assert erased.email != email
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
