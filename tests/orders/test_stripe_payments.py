"""Paying over HTTP with the Stripe adapter, through the real SDK, against the loopback fake
of the Stripe API: what leaves the store, timeouts, declines, webhooks and manual capture,
with the fake server's ledger as the record of money moved."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.payments.webhooks import sign_payload
from app.core.settings import CaptureSetting, PaymentProviderName
from app.orders.models import OrderStatus, PaymentEventRecord
from tests.adapters.fake_stripe import Delay, Fail, FakeStripe, ServerCharge
from tests.adapters.test_payments_stripe import (  # the loopback server, reset per test
    API_KEY,
    fake_stripe,  # noqa: F401
    stripe_server,  # noqa: F401
)
from tests.orders.conftest import (
    ADDRESS,
    checkout_body,
    outbox_kinds,
    pay,
    paying_through,
    place_order,
    problem_type,
    settings_changed,
    stored,
)

WEBHOOK_SECRET = "whsec_facet_orders_loopback"
CLIENT_TIMEOUT = 0.5
SLOW_RESPONSE = 1.0  # longer than the client timeout
SDK_ATTEMPTS = 3  # the first call and the SDK's two retries

# stripe's HTTPXClient hands the encoded form to httpx as `data=`, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)

INTENT_FIELDS = {
    "amount",
    "currency",
    "capture_method",
    "payment_method_types[0]",
    "metadata[order_id]",
    "metadata[order_number]",
}


@dataclass(frozen=True)
class Loopback:
    provider: StripePaymentProvider  # the app's, for calls made outside the API
    server: FakeStripe


@pytest.fixture
async def stripe(
    bound_app: FastAPI,
    stripe_server: tuple[FakeStripe, str],  # noqa: F811
    fake_stripe: FakeStripe,  # noqa: F811
) -> AsyncIterator[Loopback]:
    """The app paying through a real Stripe adapter that talks to the fake server."""
    _, base_url = stripe_server
    adapter = StripePaymentProvider(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=base_url, timeout=CLIENT_TIMEOUT
    )
    try:
        with paying_through(bound_app, adapter, PaymentProviderName.stripe):
            yield Loopback(adapter, fake_stripe)
    finally:
        await adapter.close()


def charges(fake: FakeStripe, intent_id: str) -> list[ServerCharge]:
    return [charge for charge in fake.ledger if charge.intent_id == intent_id]


def stripe_event(event_type: str, intent: dict[str, Any]) -> bytes:
    """An event as Stripe would send it, about the fake server's current intent."""
    event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


async def post_webhook(client: httpx.AsyncClient, payload: bytes, signature: str) -> httpx.Response:
    return await client.post(
        "/v1/webhooks/stripe",
        content=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


# ---- paying ----


async def test_paying_sends_stripe_only_the_amount_and_the_order_reference(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session, quantity=2)

    response = await pay(client, order)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "paid"
    assert body["payment"]["state"] == "captured"
    assert body["payment"]["provider"] == "stripe"
    [create] = stripe.server.requests_for("create")
    assert create.form == {
        "amount": str(order.total),
        "currency": str(order.body["totals"]["currency"]).lower(),
        "capture_method": "automatic",
        "payment_method_types[0]": "card",
        "metadata[order_id]": order.id,
        "metadata[order_number]": str(order.body["number"]),
    }
    assert set(create.form) == INTENT_FIELDS
    # P3: nothing that identifies the buyer leaves the store.
    personal_fields = ("email", "name", "phone", "address", "shipping", "customer", "description")
    assert not [f for f in create.form if any(word in f for word in personal_fields)]
    buyer = checkout_body(cart_id="")  # what place_order checked out with
    personal_values = [str(buyer["email"]), str(buyer["phone"]), *ADDRESS.values()]
    sent = " ".join(create.form.values())
    assert not [value for value in personal_values if value in sent]
    assert create.idempotency_key == f"order-{order.id}-intent"
    [confirm] = stripe.server.requests_for("confirm")
    assert confirm.form == {"payment_method": "pm_card_visa"}
    assert (confirm.idempotency_key or "").startswith(f"order-{order.id}-confirm-")
    _, intent_id = await stored(session, order)
    assert intent_id is not None
    assert confirm.path == f"/v1/payment_intents/{intent_id}/confirm"
    assert stripe.server.ledger == [ServerCharge(intent_id, "capture", order.total)]
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_a_confirm_applied_but_answered_too_late_is_503_and_a_retry_charges_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session)
    # Stripe charges the card on the first confirm, but no answer arrives in time, neither
    # for it nor for the SDK's retries.
    stripe.server.script("confirm", Delay(SLOW_RESPONSE), times=SDK_ATTEMPTS)

    timed_out = await pay(client, order)

    assert timed_out.status_code == 503, timed_out.text
    assert problem_type(timed_out) == "payment-provider-unavailable"
    assert int(timed_out.headers["Retry-After"]) > 0
    status, intent_id = await stored(session, order)
    assert status == OrderStatus.pending_payment
    assert intent_id is not None
    assert stripe.server.intents[intent_id]["status"] == "succeeded"
    assert charges(stripe.server, intent_id) == [ServerCharge(intent_id, "capture", order.total)]
    assert await outbox_kinds(session) == []

    retried = await pay(client, order)

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert retried.json()["payment"]["state"] == "captured"
    assert await stored(session, order) == (OrderStatus.paid, intent_id)
    assert len(stripe.server.requests_for("create")) == 1
    keys = {r.idempotency_key for r in stripe.server.requests_for("confirm")}
    assert len(stripe.server.requests_for("confirm")) == SDK_ATTEMPTS + 1
    assert len(keys) == 1  # the retry replays the first confirm rather than charging again
    assert charges(stripe.server, intent_id) == [ServerCharge(intent_id, "capture", order.total)]
    assert stripe.server.ledger == charges(stripe.server, intent_id)
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_another_card_after_a_lost_answer_finds_the_order_already_paid(
    client: httpx.AsyncClient, session: AsyncSession, stripe: Loopback
) -> None:
    order = await place_order(client, session)
    # The first confirm is applied but answered late; the SDK's retries meet server errors.
    stripe.server.script("confirm", Delay(SLOW_RESPONSE))
    stripe.server.script("confirm", Fail(500), times=SDK_ATTEMPTS - 1)
    assert (await pay(client, order)).status_code == 503
    _, intent_id = await stored(session, order)
    assert intent_id is not None

    # The buyer tries another card, which Stripe refuses: the intent is already paid.
    retried = await pay(client, order, "pm_card_mastercard")

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert retried.json()["payment"]["state"] == "captured"
    assert await stored(session, order) == (OrderStatus.paid, intent_id)
    assert stripe.server.ledger == [ServerCharge(intent_id, "capture", order.total)]
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_a_decline_is_402_and_another_card_pays_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session)

    declined = await pay(client, order, "pm_card_chargeDeclined")

    assert declined.status_code == 402, declined.text
    assert problem_type(declined) == "payment-declined"
    assert declined.json()["decline_code"] == "card_declined"
    status, intent_id = await stored(session, order)
    assert status == OrderStatus.pending_payment
    assert intent_id is not None
    assert stripe.server.ledger == []
    assert await outbox_kinds(session) == ["payment_failed"]

    retried = await pay(client, order, "pm_card_visa")

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert await stored(session, order) == (OrderStatus.paid, intent_id)
    assert len(stripe.server.requests_for("create")) == 1
    first, second = stripe.server.requests_for("confirm")
    assert first.idempotency_key != second.idempotency_key
    assert stripe.server.ledger == [ServerCharge(intent_id, "capture", order.total)]
    assert await outbox_kinds(session) == ["payment_failed", "order_confirmation"]


# ---- webhooks ----


async def test_a_signed_stripe_webhook_marks_the_order_paid_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, "pm_card_chargeDeclined")).status_code == 402
    _, intent_id = await stored(session, order)
    assert intent_id is not None
    # The buyer's next attempt completes at Stripe without this API hearing the answer.
    await stripe.provider.confirm(
        intent_id, payment_method="pm_card_visa", idempotency_key="elsewhere"
    )
    payload = stripe_event("payment_intent.succeeded", stripe.server.intents[intent_id])
    signature = sign_payload(payload, WEBHOOK_SECRET)
    tampered = payload.replace(f'"id": "{intent_id}"'.encode(), b'"id": "pi_someone_else"')
    assert tampered != payload

    forged = await post_webhook(client, tampered, signature)

    assert forged.status_code == 400, forged.text
    assert problem_type(forged) == "invalid-webhook"
    assert (await stored(session, order))[0] == OrderStatus.pending_payment

    applied = await post_webhook(client, payload, signature)

    assert applied.status_code == 200, applied.text
    assert applied.json() == {"status": "applied"}
    read = await client.get(f"/v1/orders/{order.id}", headers=order.token)
    assert read.json()["status"] == "paid"
    assert read.json()["payment"]["state"] == "captured"

    duplicate = await post_webhook(client, payload, sign_payload(payload, WEBHOOK_SECRET))
    forged_again = await post_webhook(client, tampered, signature)

    assert duplicate.status_code == 200, duplicate.text
    assert duplicate.json() == {"status": "duplicate"}
    assert forged_again.status_code == 400
    assert problem_type(forged_again) == "invalid-webhook"
    records = (await session.execute(select(PaymentEventRecord.provider))).scalars().all()
    assert records == ["stripe"]
    assert await outbox_kinds(session) == ["payment_failed", "order_confirmation"]
    assert stripe.server.ledger == [ServerCharge(intent_id, "capture", order.total)]


async def test_a_webhook_signed_with_another_secret_is_400(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, "pm_card_chargeDeclined")).status_code == 402
    _, intent_id = await stored(session, order)
    assert intent_id is not None
    payload = stripe_event("payment_intent.succeeded", stripe.server.intents[intent_id])

    response = await post_webhook(client, payload, sign_payload(payload, "whsec_someone_else"))

    assert response.status_code == 400
    assert problem_type(response) == "invalid-webhook"
    assert (await stored(session, order))[0] == OrderStatus.pending_payment
    assert await session.scalar(select(func.count()).select_from(PaymentEventRecord)) == 0


# ---- manual capture ----


async def test_manual_capture_authorizes_at_payment_and_captures_at_stripe_when_shipped(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    stripe: Loopback,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    assert order.body["payment"]["capture_mode"] == "manual"

    paid = await pay(client, order)

    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment"]["state"] == "authorized"
    [create] = stripe.server.requests_for("create")
    assert create.form["capture_method"] == "manual"
    _, intent_id = await stored(session, order)
    assert intent_id is not None
    assert stripe.server.intents[intent_id]["status"] == "requires_capture"
    assert stripe.server.ledger == [ServerCharge(intent_id, "authorization", order.total)]
    assert stripe.server.requests_for("capture") == []

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["payment"]["state"] == "captured"
    [capture] = stripe.server.requests_for("capture")
    assert capture.path == f"/v1/payment_intents/{intent_id}/capture"
    assert capture.idempotency_key == f"order-{order.id}-capture"
    assert stripe.server.intents[intent_id]["status"] == "succeeded"
    assert stripe.server.ledger == [
        ServerCharge(intent_id, "authorization", order.total),
        ServerCharge(intent_id, "capture", order.total),
    ]
    assert await stored(session, order) == (OrderStatus.shipped, intent_id)


# ---- customer action (3-D Secure) ----


async def test_a_payment_needing_3d_secure_returns_the_client_secret_and_the_webhook_completes_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    stripe: Loopback,
) -> None:
    order = await place_order(client, session)

    response = await pay(client, order, "pm_card_authenticationRequired")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "pending_payment"
    _, intent_id = await stored(session, order)
    assert intent_id is not None
    intent = stripe.server.intents[intent_id]
    assert body["customer_action"] == {
        "type": "use_stripe_sdk",
        "client_secret": intent["client_secret"],
        "redirect_url": None,
    }
    assert stripe.server.ledger == []  # nothing charged until the buyer authenticates
    assert await outbox_kinds(session) == []

    authenticated = stripe.server.authenticate(intent_id)
    payload = stripe_event("payment_intent.succeeded", authenticated)
    completed = await post_webhook(client, payload, sign_payload(payload, WEBHOOK_SECRET))

    assert completed.status_code == 200, completed.text
    assert await stored(session, order) == (OrderStatus.paid, intent_id)
    assert await outbox_kinds(session) == ["order_confirmation"]
    assert stripe.server.ledger == [ServerCharge(intent_id, "capture", order.total)]
