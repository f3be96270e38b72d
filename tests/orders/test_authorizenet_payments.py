"""Paying over HTTP with the Authorize.Net adapter against the loopback fake of its API: the
whole money path, Accept.js opaque data beside Stripe's tokens, timeouts, review holds,
webhooks and manual capture, with the fake server's ledger as the record of money moved."""

from __future__ import annotations

import base64
import email
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.mail.sink import MailSink
from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import is_provisional
from app.adapters.payments.fake import FakePaymentProvider
from app.core.db import utcnow
from app.core.settings import CaptureSetting, PaymentProviderName
from app.orders.fulfilment import expire_unpaid
from app.orders.models import Order, OrderStatus, PaymentEventRecord
from app.outbox.service import run_once
from tests.adapters.fake_authorizenet import ACCEPT_DESCRIPTOR, Delay, FakeAuthorizeNet, LedgerEntry
from tests.adapters.test_payments_authorizenet import (  # the loopback server, reset per test
    LOGIN_ID,
    SIGNATURE_KEY,
    TRANSACTION_KEY,
    anet_server,  # noqa: F401
    fake_anet,  # noqa: F401
)
from tests.orders.conftest import (
    ADDRESS,
    PlacedOrder,
    checkout_body,
    outbox_kinds,
    paying_through,
    place_order,
    problem_type,
    settings_changed,
    stored,
)

CLIENT_TIMEOUT = 0.5
SLOW_RESPONSE = 1.0  # longer than the client timeout
AUTHCAPTURE = "net.authorize.payment.authcapture.created"


@dataclass(frozen=True)
class Loopback:
    provider: AuthorizeNetPaymentProvider
    server: FakeAuthorizeNet


@pytest.fixture
async def anet(
    bound_app: FastAPI,
    anet_server: tuple[FakeAuthorizeNet, str],  # noqa: F811
    fake_anet: FakeAuthorizeNet,  # noqa: F811
) -> AsyncIterator[Loopback]:
    """The app paying through a real Authorize.Net adapter that talks to the fake server."""
    _, endpoint = anet_server
    adapter = AuthorizeNetPaymentProvider(
        api_login_id=LOGIN_ID,
        transaction_key=TRANSACTION_KEY,
        signature_key=SIGNATURE_KEY,
        api_base=endpoint,
        timeout=CLIENT_TIMEOUT,
    )
    try:
        with paying_through(bound_app, adapter, PaymentProviderName.authorizenet):
            yield Loopback(adapter, fake_anet)
    finally:
        await adapter.close()


def opaque(outcome: str = "approve") -> dict[str, Any]:
    """What Accept.js `dispatchData` hands the browser, as the payment body carries it."""
    return {
        "opaque_data": {
            "data_descriptor": ACCEPT_DESCRIPTOR,
            # Base64, as Accept.js's are (a hex digest could hold a card-number-like run).
            "data_value": f"{outcome}-{base64.b64encode(uuid.uuid4().bytes).decode()}",
        }
    }


async def pay(
    client: httpx.AsyncClient, order: PlacedOrder, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/orders/{order.id}/payments",
        json=opaque() if body is None else body,
        headers=order.token,
    )


async def post_webhook(
    client: httpx.AsyncClient, body: bytes, signature: str | None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-ANET-Signature"] = signature
    return await client.post("/v1/webhooks/authorizenet", content=body, headers=headers)


def mail_subjects(folder: Path) -> list[str]:
    return sorted(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"].split(" - ")[0]
        for p in folder.glob("*.eml")
    )


# ---- the whole money path ----


async def test_guest_cart_checkout_pay_staff_ships_and_emails_follow(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    anet: Loopback,
    staff: dict[str, str],
    tmp_path: Path,
) -> None:
    order = await place_order(client, session, quantity=2)

    declined = await pay(client, order, opaque("decline"))
    assert declined.status_code == 402, declined.text
    assert problem_type(declined) == "payment-declined"
    paid = await pay(client, order)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment"] == {
        "provider": "authorizenet",
        "state": "captured",
        "capture_mode": "automatic",
        "amount_minor": order.total,
        "currency": "USD",
        "amount_refunded_minor": 0,
    }
    _, trans_id = await stored(session, order)
    assert trans_id is not None
    assert anet.server.ledger == [LedgerEntry(trans_id, "charge", order.total)]
    # P3: the processor is told the amount, currency, order number and the token; no buyer.
    declined_charge, charge = anet.server.requests_for("authCaptureTransaction")
    assert declined_charge.body["transactionRequest"]["order"] == {
        "invoiceNumber": order.body["number"]
    }
    sent = str(charge.body)
    buyer = checkout_body(cart_id="")
    # The two-letter country code is left out: it turns up by chance inside random tokens.
    personal = [buyer["email"], buyer["phone"], *(v for k, v in ADDRESS.items() if k != "country")]
    assert not [v for v in personal if v in sent]
    assert charge.body["refId"] == order.body["number"]

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    tracked = await client.post(
        "/v1/orders/track", json={"number": order.body["number"], "email": "ada@example.com"}
    )
    assert tracked.json()["status"] == "shipped"

    result = await run_once(bound_app.state.sessionmaker, MailSink(tmp_path))
    assert result.sent == 4  # the three order emails and the staff account's email check
    assert mail_subjects(tmp_path) == [
        "Please confirm your email address",
        "Thank you for your order",
        "Your order is on its way",
        "Your payment did not go through",
    ]


async def test_manual_capture_authorizes_at_payment_and_captures_when_staff_ship(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    anet: Loopback,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    paid = await pay(client, order)
    assert paid.status_code == 200, paid.text
    assert paid.json()["payment"]["state"] == "authorized"
    _, trans_id = await stored(session, order)
    assert trans_id is not None

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["payment"]["state"] == "captured"
    assert anet.server.entries(trans_id) == [
        ("authorization", order.total),
        ("capture", order.total),
    ]


async def test_cancel_after_payment_voids_the_unsettled_charge(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order)).status_code == 200
    _, trans_id = await stored(session, order)
    assert trans_id is not None

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert anet.server.entries(trans_id) == [("charge", order.total), ("void", order.total)]


# ---- payment methods, per processor ----


async def test_a_stripe_token_with_authorizenet_selected_is_422(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)

    response = await pay(client, order, {"payment_method": "pm_card_visa"})

    assert response.status_code == 422, response.text
    assert problem_type(response) == "payment-method-not-accepted"
    assert anet.server.requests == []
    assert await stored(session, order) == (OrderStatus.pending_payment, None)


async def test_opaque_data_with_a_token_processor_selected_is_422(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)

    response = await pay(client, order, opaque())

    assert response.status_code == 422, response.text
    assert problem_type(response) == "payment-method-not-accepted"
    assert provider.charges == []


@pytest.mark.parametrize(
    "body",
    [
        {"opaque_data": {"data_descriptor": ACCEPT_DESCRIPTOR, "data_value": "4111111111111111"}},
        {**opaque(), "note": "4111 1111 1111 1111"},
        {**opaque(), "payment_method": "pm_card_visa"},
        {"opaque_data": {"data_descriptor": ACCEPT_DESCRIPTOR}},
        {},
    ],
    ids=["pan-as-value", "pan-beside", "both-shapes", "no-value", "empty"],
)
async def test_malformed_or_card_bearing_bodies_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback, body: dict[str, Any]
) -> None:
    order = await place_order(client, session)

    response = await pay(client, order, body)

    assert response.status_code == 422, response.text
    assert problem_type(response) == "validation-error"
    assert anet.server.requests == []


# ---- retries ----


async def test_a_charge_answered_too_late_is_503_and_a_retry_charges_once(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)
    anet.server.script("authCaptureTransaction", Delay(SLOW_RESPONSE))

    timed_out = await pay(client, order)

    assert timed_out.status_code == 503, timed_out.text
    status, pending = await stored(session, order)
    assert status == OrderStatus.pending_payment
    assert is_provisional(pending)
    [entry] = anet.server.ledger

    # The buyer's browser tokenizes the card again (a token works once) and retries.
    retried = await pay(client, order)

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert await stored(session, order) == (OrderStatus.paid, entry.trans_id)
    assert anet.server.ledger == [LedgerEntry(entry.trans_id, "charge", order.total)]
    assert len(anet.server.requests_for("authCaptureTransaction")) == 1
    assert await outbox_kinds(session) == ["order_confirmation"]


# ---- held for review ----


async def test_a_payment_held_for_review_leaves_the_order_payable_and_flagged(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback, staff: dict[str, str]
) -> None:
    order = await place_order(client, session)

    held = await pay(client, order, opaque("review"))

    assert held.status_code == 200, held.text
    assert held.json()["status"] == "pending_payment"
    assert held.json()["payment"]["state"] == "none"
    admin = await client.get(f"/v1/admin/orders/{order.id}", headers=staff)
    assert "held for review" in admin.json()["payment_review"]
    _, trans_id = await stored(session, order)
    assert trans_id is not None
    assert not is_provisional(trans_id)
    assert anet.server.ledger == []
    assert await outbox_kinds(session) == []
    # Paying again while it is held charges nothing more.
    again = await pay(client, order)
    assert again.status_code == 409, again.text
    assert len(anet.server.requests_for("authCaptureTransaction")) == 1

    # Staff approve it in Authorize.Net's interface; its webhook completes the order.
    anet.server.approve_review(trans_id)
    body, signature = anet.server.notification("net.authorize.payment.fraud.approved", trans_id)
    applied = await post_webhook(client, body, signature)

    assert applied.status_code == 200, applied.text
    assert applied.json() == {"status": "applied"}
    assert await stored(session, order) == (OrderStatus.paid, trans_id)
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_a_held_payment_whose_window_passes_is_voided_with_the_order(
    bound_app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, opaque("review"))).status_code == 200
    _, trans_id = await stored(session, order)
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order.id))
        .values(reserved_until=utcnow() - timedelta(minutes=1))
    )
    await session.commit()

    expired = await expire_unpaid(bound_app.state.sessionmaker, anet.provider)

    assert expired == 1
    assert (await stored(session, order))[0] == OrderStatus.cancelled
    # The hold is voided too, so a later approval in the merchant interface cannot charge.
    assert anet.server.transactions[trans_id].status == "voided"
    assert anet.server.ledger == []


# ---- webhooks ----


async def test_a_signed_notification_completes_an_order_whose_answer_was_lost(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)
    anet.server.script("authCaptureTransaction", Delay(SLOW_RESPONSE))
    assert (await pay(client, order)).status_code == 503
    [entry] = anet.server.ledger
    body, signature = anet.server.notification(AUTHCAPTURE, entry.trans_id)

    applied = await post_webhook(client, body, signature)
    replayed = await post_webhook(client, body, signature)

    assert applied.json() == {"status": "applied"}
    assert replayed.status_code == 200
    assert replayed.json() == {"status": "duplicate"}
    assert await stored(session, order) == (OrderStatus.paid, entry.trans_id)
    records = await session.scalar(
        select(func.count())
        .select_from(PaymentEventRecord)
        .where(PaymentEventRecord.provider == "authorizenet")
    )
    assert records == 1
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_a_notification_with_a_bad_signature_is_400_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback
) -> None:
    order = await place_order(client, session)
    anet.server.script("authCaptureTransaction", Delay(SLOW_RESPONSE))
    assert (await pay(client, order)).status_code == 503
    [entry] = anet.server.ledger
    body, signature = anet.server.notification(AUTHCAPTURE, entry.trans_id)
    forged = "sha512=" + ("AB" * 64)

    for header in (forged, None, signature.replace("sha512", "sha256")):
        response = await post_webhook(client, body, header)
        assert response.status_code == 400, response.text
        assert problem_type(response) == "invalid-webhook"
    tampered = await post_webhook(
        client, body.replace(b'"responseCode": 1', b'"responseCode": 1 '), signature
    )
    assert tampered.status_code == 400

    status, _ = await stored(session, order)
    assert status == OrderStatus.pending_payment
    assert await session.scalar(select(func.count()).select_from(PaymentEventRecord)) == 0


async def test_a_notification_for_another_amount_is_refused_and_flagged(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback, staff: dict[str, str]
) -> None:
    order = await place_order(client, session)
    anet.server.script("authCaptureTransaction", Delay(SLOW_RESPONSE))
    assert (await pay(client, order)).status_code == 503
    [entry] = anet.server.ledger
    body, signature = anet.server.notification(
        AUTHCAPTURE, entry.trans_id, amount_minor=order.total - 1
    )

    response = await post_webhook(client, body, signature)

    assert response.json() == {"status": "flagged"}
    status, _ = await stored(session, order)
    assert status == OrderStatus.pending_payment
    admin = await client.get(f"/v1/admin/orders/{order.id}", headers=staff)
    assert "amount mismatch" in admin.json()["payment_review"]
    assert await outbox_kinds(session) == []


async def test_a_late_notification_never_moves_a_shipped_order_backwards(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback, staff: dict[str, str]
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order)).status_code == 200
    assert (
        await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    ).status_code == 200
    _, trans_id = await stored(session, order)
    assert trans_id is not None

    for event in (AUTHCAPTURE, "net.authorize.payment.authorization.created"):
        body, signature = anet.server.notification(event, trans_id)
        assert (await post_webhook(client, body, signature)).status_code == 200

    assert (await stored(session, order))[0] == OrderStatus.shipped


async def test_a_payment_declined_after_review_leaves_the_order_payable_and_noted(
    client: httpx.AsyncClient, session: AsyncSession, anet: Loopback, staff: dict[str, str]
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, opaque("review"))).status_code == 200
    _, trans_id = await stored(session, order)
    assert trans_id is not None

    anet.server.decline_review(trans_id)
    for event in ("net.authorize.payment.fraud.held", "net.authorize.payment.fraud.declined"):
        body, signature = anet.server.notification(event, trans_id)
        assert (await post_webhook(client, body, signature)).json() == {"status": "applied"}

    assert (await stored(session, order))[0] == OrderStatus.pending_payment
    admin = await client.get(f"/v1/admin/orders/{order.id}", headers=staff)
    assert admin.json()["payment_review"] == (
        "payment declined after the processor's review; "
        "payment held for review by the processor's fraud filters"
    )
    assert anet.server.ledger == []

    # The buyer pays again, with another card, and this one goes through.
    paid = await pay(client, order)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    [entry] = anet.server.ledger
    assert entry.kind == "charge"
    assert await stored(session, order) == (OrderStatus.paid, entry.trans_id)
