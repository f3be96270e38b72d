"""After checkout: paying, capture modes, cancelling, staff fulfilment, webhooks, expiry
and tracking, with the fake processor's ledger as the record of money moved."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.payments.base import CaptureMode, PaymentRequest
from app.adapters.payments.fake import ChargeKind, FakePaymentProvider
from app.catalog.models import InventoryMovement, MovementReason
from app.core.db import utcnow
from app.core.settings import CaptureSetting
from app.orders.fulfilment import expire_unpaid
from app.orders.models import Order, OrderEvent, PaymentEventRecord, Shipment
from app.outbox.models import OutboxMessage
from tests.factories import signed_in
from tests.orders.conftest import (
    PlacedOrder,
    intent_of,
    outbox_count,
    outbox_kinds,
    paid_order,
    pay,
    place_order,
    problem_type,
    send_webhook,
    settings_changed,
    stock_of,
    webhook_event,
)

TRACKING_NUMBER = re.compile(r"^FCT\d{12}$")


def ledger(provider: FakePaymentProvider) -> list[tuple[ChargeKind, int]]:
    return [(charge.kind, charge.amount_minor) for charge in provider.charges]


async def read(client: httpx.AsyncClient, order: PlacedOrder) -> dict[str, object]:
    response = await client.get(f"/v1/orders/{order.id}", headers=order.token)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def shipped_order(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> PlacedOrder:
    order = await paid_order(client, session)
    response = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    assert response.status_code == 200, response.text
    return order


# ---- paying ----


async def test_paying_with_a_good_card_captures_and_queues_the_confirmation(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session, quantity=2)

    response = await pay(client, order)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "paid"
    assert body["paid_at"] is not None
    assert body["payment"]["state"] == "captured"
    assert body["payment"]["provider"] == "fake"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]
    assert order.total == 500_000
    assert await outbox_kinds(session) == ["order_confirmation"]
    recipient = await session.scalar(select(OutboxMessage.recipient))
    assert recipient == "ada@example.com"


async def test_paying_needs_the_order_token(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    other = await place_order(client, session)

    for headers in ({}, other.token):
        response = await pay(client, order, headers=headers)
        assert response.status_code == 404
        assert problem_type(response) == "order-not-found"
    assert provider.charges == []
    assert (await read(client, order))["status"] == "pending_payment"


async def test_a_decline_keeps_the_order_pending_stores_the_failure_email_and_a_retry_succeeds(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)

    declined = await pay(client, order, "pm_card_chargeDeclined")

    assert declined.status_code == 402
    assert problem_type(declined) == "payment-declined"
    assert declined.json()["decline_code"] == "card_declined"
    assert (await read(client, order))["status"] == "pending_payment"
    assert await outbox_kinds(session) == ["payment_failed"]
    assert provider.charges == []

    retried = await pay(client, order, "pm_card_visa")

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]
    assert await outbox_kinds(session) == ["payment_failed", "order_confirmation"]


@pytest.mark.parametrize("retry_with", ["pm_card_timeout", "pm_card_visa"])
async def test_a_processor_timeout_charges_nothing_and_a_retry_charges_once(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    retry_with: str,
) -> None:
    order = await place_order(client, session)

    timed_out = await pay(client, order, "pm_card_timeout")

    assert timed_out.status_code == 503
    assert problem_type(timed_out) == "payment-provider-unavailable"
    assert int(timed_out.headers["Retry-After"]) > 0
    after_timeout = await read(client, order)
    assert after_timeout["status"] == "pending_payment"
    assert after_timeout["payment"] == {**order.body["payment"], "state": "none"}
    assert provider.charges == []
    assert await outbox_kinds(session) == []

    retried = await pay(client, order, retry_with)

    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "paid"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]
    assert await outbox_kinds(session) == ["order_confirmation"]


async def test_a_timeout_keeps_the_intent_so_a_retry_reuses_it(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)

    assert (await pay(client, order, "pm_card_timeout")).status_code == 503
    intent_id = await intent_of(session, order)
    assert (await pay(client, order, "pm_card_visa")).status_code == 200

    assert await intent_of(session, order) == intent_id
    assert [charge.intent_id for charge in provider.charges] == [intent_id]


async def test_paying_a_paid_order_is_an_illegal_transition(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await paid_order(client, session)

    again = await pay(client, order)

    assert again.status_code == 409
    assert problem_type(again) == "illegal-transition"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]
    assert await outbox_kinds(session) == ["order_confirmation"]


# ---- manual capture ----


async def test_manual_capture_authorizes_at_payment_and_captures_when_shipped(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    assert order.body["payment"]["capture_mode"] == "manual"

    paid = await pay(client, order)

    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert paid.json()["payment"]["state"] == "authorized"
    assert ledger(provider) == [(ChargeKind.authorization, order.total)]

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["payment"]["state"] == "captured"
    assert ledger(provider) == [
        (ChargeKind.authorization, order.total),
        (ChargeKind.capture, order.total),
    ]


async def test_cancelling_an_authorized_order_voids_the_hold(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    provider: FakePaymentProvider,
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await paid_order(client, session, stock=3)

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["payment"]["state"] == "voided"
    assert cancelled.json()["payment"]["amount_refunded_minor"] == 0
    assert ledger(provider) == [
        (ChargeKind.authorization, order.total),
        (ChargeKind.void, order.total),
    ]
    assert provider.refunds == []
    assert await stock_of(session, order.variant_id) == 3


# ---- cancelling ----


async def test_cancelling_an_unpaid_order_releases_its_stock(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session, stock=3, quantity=2)
    assert await stock_of(session, order.variant_id) == 1

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] is not None
    assert cancelled.json()["payment"]["state"] == "none"
    assert await stock_of(session, order.variant_id) == 3
    reasons = await session.execute(
        select(InventoryMovement.reason, InventoryMovement.delta)
        .where(InventoryMovement.variant_id == order.variant_id)
        .order_by(InventoryMovement.created_at)
    )
    assert [tuple(row) for row in reasons] == [
        (MovementReason.sale, -2),
        (MovementReason.release, 2),
    ]
    assert provider.charges == []
    assert await outbox_kinds(session) == ["order_cancelled"]


async def test_cancelling_a_paid_order_refunds_it(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await paid_order(client, session, stock=3)

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["payment"]["state"] == "refunded"
    assert cancelled.json()["payment"]["amount_refunded_minor"] == order.total
    assert ledger(provider) == [(ChargeKind.capture, order.total), (ChargeKind.refund, order.total)]
    assert await stock_of(session, order.variant_id) == 3
    assert await outbox_kinds(session) == ["order_confirmation", "order_cancelled"]


async def test_a_shipped_order_cannot_be_cancelled(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    order = await shipped_order(client, session, staff)

    for headers in (order.token, staff):
        response = await client.post(f"/v1/orders/{order.id}/cancel", headers=headers)
        assert response.status_code == 409
        assert problem_type(response) == "illegal-transition"
    assert (await read(client, order))["status"] == "shipped"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]


async def test_cancelling_twice_is_an_illegal_transition(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session, stock=3)
    first = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)
    assert first.status_code == 200, first.text

    second = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert second.status_code == 409
    assert problem_type(second) == "illegal-transition"
    assert await stock_of(session, order.variant_id) == 3
    assert await outbox_kinds(session) == ["order_cancelled"]


async def test_a_cancelled_order_cannot_be_paid(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    response = await pay(client, order)

    assert response.status_code == 409
    assert problem_type(response) == "illegal-transition"
    assert provider.charges == []


# ---- staff fulfilment ----


async def test_staff_ship_books_free_shipping_and_emails_the_tracking_number(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    order = await paid_order(client, session)

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 200, shipped.text
    body = shipped.json()
    assert body["status"] == "shipped"
    assert body["shipped_at"] is not None
    (shipment,) = body["shipments"]
    assert shipment["carrier"] == "free"
    assert shipment["service"] == "free_insured"
    assert TRACKING_NUMBER.match(shipment["tracking_number"])
    stored = (
        await session.scalars(select(Shipment).where(Shipment.order_id == uuid.UUID(order.id)))
    ).one()
    assert stored.tracking_number == shipment["tracking_number"]
    assert await outbox_kinds(session) == ["order_confirmation", "order_shipped"]
    email_body = await session.scalar(
        select(OutboxMessage.body).where(OutboxMessage.kind == "order_shipped")
    )
    assert shipment["tracking_number"] in (email_body or "")
    assert (await read(client, order))["shipments"] == body["shipments"]


async def test_staff_deliver_then_refund_returns_the_money(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    order = await shipped_order(client, session, staff)

    delivered = await client.post(f"/v1/admin/orders/{order.id}/deliver", headers=staff)
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["status"] == "delivered"
    assert delivered.json()["delivered_at"] is not None

    refunded = await client.post(
        f"/v1/admin/orders/{order.id}/refund", json={"reason": "returned"}, headers=staff
    )

    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"
    assert refunded.json()["payment"]["state"] == "refunded"
    assert refunded.json()["payment"]["amount_refunded_minor"] == order.total
    assert ledger(provider) == [(ChargeKind.capture, order.total), (ChargeKind.refund, order.total)]
    assert (await outbox_kinds(session))[-1] == "order_refunded"
    again = await client.post(f"/v1/admin/orders/{order.id}/refund", headers=staff)
    assert again.status_code == 409
    assert problem_type(again) == "illegal-transition"
    assert len(provider.refunds) == 1


async def test_shipping_an_unpaid_order_is_an_illegal_transition(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    order = await place_order(client, session)

    response = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert response.status_code == 409
    assert problem_type(response) == "illegal-transition"
    assert (await read(client, order))["shipments"] == []
    assert await session.scalar(select(func.count()).select_from(Shipment)) == 0


async def test_customers_get_403_on_admin_order_routes(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    _, customer = await signed_in(client, session)
    order = await paid_order(client, session)
    routes = [
        ("GET", "/v1/admin/orders"),
        ("GET", f"/v1/admin/orders/{order.id}"),
        ("POST", f"/v1/admin/orders/{order.id}/ship"),
        ("POST", f"/v1/admin/orders/{order.id}/deliver"),
        ("POST", f"/v1/admin/orders/{order.id}/refund"),
    ]

    for method, path in routes:
        response = await client.request(method, path, headers=customer)
        assert response.status_code == 403, (method, path)
        assert problem_type(response) == "staff-only"
        anonymous = await client.request(method, path, headers=order.token)
        assert anonymous.status_code == 401, (method, path)
    assert (await read(client, order))["status"] == "paid"
    assert ledger(provider) == [(ChargeKind.capture, order.total)]


async def test_admin_order_list_filters_by_status(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    pending = await place_order(client, session)
    paid = await paid_order(client, session)
    cancelled = await place_order(client, session)
    await client.post(f"/v1/orders/{cancelled.id}/cancel", headers=cancelled.token)

    everything = await client.get("/v1/admin/orders", headers=staff)
    only_paid = await client.get("/v1/admin/orders", params={"status": "paid"}, headers=staff)
    only_pending = await client.get(
        "/v1/admin/orders", params={"status": "pending_payment"}, headers=staff
    )

    assert everything.status_code == 200, everything.text
    assert [o["id"] for o in everything.json()["items"]] == [cancelled.id, paid.id, pending.id]
    assert [o["id"] for o in only_paid.json()["items"]] == [paid.id]
    assert [o["id"] for o in only_pending.json()["items"]] == [pending.id]
    bad = await client.get("/v1/admin/orders", params={"status": "lost"}, headers=staff)
    assert bad.status_code == 422


async def test_admin_order_lists_every_transition_with_its_actor(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    _, customer = await signed_in(client, session)
    order = await place_order(client, session, headers=customer)
    assert (await pay(client, order, headers=customer)).status_code == 200
    for action in ("ship", "deliver", "refund"):
        response = await client.post(f"/v1/admin/orders/{order.id}/{action}", headers=staff)
        assert response.status_code == 200, (action, response.text)
    guest_order = await place_order(client, session)
    assert (await pay(client, guest_order)).status_code == 200
    cancel = await client.post(f"/v1/orders/{guest_order.id}/cancel", headers=guest_order.token)
    assert cancel.status_code == 200

    detail = await client.get(f"/v1/admin/orders/{order.id}", headers=staff)
    guest_detail = await client.get(f"/v1/admin/orders/{guest_order.id}", headers=staff)

    assert detail.status_code == 200, detail.text
    transitions = [(e["from_status"], e["to_status"], e["actor"]) for e in detail.json()["events"]]
    assert transitions == [
        (None, "pending_payment", "customer"),
        ("pending_payment", "paid", "customer"),
        ("paid", "shipped", "staff"),
        ("shipped", "delivered", "staff"),
        ("delivered", "refunded", "staff"),
    ]
    assert all(e["created_at"] for e in detail.json()["events"])
    guest_transitions = [
        (e["from_status"], e["to_status"], e["actor"]) for e in guest_detail.json()["events"]
    ]
    assert guest_transitions == [
        (None, "pending_payment", "guest"),
        ("pending_payment", "paid", "guest"),
        ("paid", "cancelled", "guest"),
    ]


# ---- webhooks ----


async def test_a_succeeded_webhook_marks_a_pending_order_paid(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, "pm_card_timeout")).status_code == 503
    intent_id = await intent_of(session, order)

    response = await send_webhook(
        client, webhook_event("payment_intent.succeeded", intent_id, amount=order.total)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "applied"}
    body = await read(client, order)
    assert body["status"] == "paid"
    assert body["payment"] == {**order.body["payment"], "state": "captured"}
    assert await outbox_kinds(session) == ["order_confirmation"]
    actor = await session.scalar(
        select(OrderEvent.actor).where(
            OrderEvent.order_id == uuid.UUID(order.id), OrderEvent.to_status == "paid"
        )
    )
    assert actor == "provider"


async def test_a_replayed_webhook_event_is_a_duplicate_and_sends_nothing(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, "pm_card_timeout")).status_code == 503
    intent_id = await intent_of(session, order)
    payload = webhook_event("payment_intent.succeeded", intent_id, amount=order.total)

    first = await send_webhook(client, payload)
    second = await send_webhook(client, payload)

    assert first.json() == {"status": "applied"}
    assert second.status_code == 200
    assert second.json() == {"status": "duplicate"}
    assert await outbox_count(session, "order_confirmation") == 1
    assert await session.scalar(select(func.count()).select_from(PaymentEventRecord)) == 1


async def test_a_badly_signed_webhook_is_400(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    assert (await pay(client, order, "pm_card_timeout")).status_code == 503
    intent_id = await intent_of(session, order)
    payload = webhook_event("payment_intent.succeeded", intent_id, amount=order.total)

    forged = await send_webhook(client, payload, secret="whsec_wrong")
    unsigned = await client.post(
        "/v1/webhooks/stripe", content=payload, headers={"Content-Type": "application/json"}
    )

    for response in (forged, unsigned):
        assert response.status_code == 400
        assert problem_type(response) == "invalid-webhook"
    assert (await read(client, order))["status"] == "pending_payment"
    assert await session.scalar(select(func.count()).select_from(PaymentEventRecord)) == 0


async def test_an_older_event_does_not_move_a_shipped_order_back(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    provider: FakePaymentProvider,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    assert (await pay(client, order)).status_code == 200
    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    assert shipped.status_code == 200, shipped.text
    intent_id = await intent_of(session, order)

    late = await send_webhook(
        client,
        webhook_event("payment_intent.amount_capturable_updated", intent_id, amount=order.total),
    )

    assert late.status_code == 200, late.text
    body = await read(client, order)
    assert body["status"] == "shipped"
    assert body["payment"]["state"] == "captured"
    assert await outbox_count(session, "order_confirmation") == 1


async def test_money_arriving_for_a_cancelled_order_is_refunded(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    assert (await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)).is_success
    # The buyer's payment completed at the processor after the order was cancelled.
    intent = await provider.create_intent(
        PaymentRequest(
            order_id=order.id,
            order_number=str(order.body["number"]),
            amount_minor=order.total,
            currency="USD",
            capture=CaptureMode.automatic,
            idempotency_key="late-intent",
        )
    )
    await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="late-pay")
    await session.execute(
        update(Order).where(Order.id == uuid.UUID(order.id)).values(payment_intent_id=intent.id)
    )
    await session.commit()

    response = await send_webhook(
        client, webhook_event("payment_intent.succeeded", intent.id, amount=order.total)
    )

    assert response.status_code == 200, response.text
    assert ledger(provider) == [(ChargeKind.capture, order.total), (ChargeKind.refund, order.total)]
    body = await read(client, order)
    assert body["status"] == "cancelled"
    assert body["payment"]["state"] == "refunded"
    assert body["payment"]["amount_refunded_minor"] == order.total
    assert await outbox_count(session, "order_confirmation") == 0


async def test_an_event_for_an_unknown_intent_is_ignored(
    client: httpx.AsyncClient, provider: FakePaymentProvider
) -> None:
    response = await send_webhook(
        client, webhook_event("payment_intent.succeeded", "pi_unknown", amount=100)
    )

    assert response.status_code == 200
    assert response.json() == {"status": "ignored"}


# ---- expiry ----


async def test_expire_unpaid_cancels_overdue_orders_and_releases_stock(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: FakePaymentProvider,
) -> None:
    overdue = await place_order(client, session, stock=3, quantity=2)
    current = await place_order(client, session, stock=3, quantity=1)
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(overdue.id))
        .values(reserved_until=utcnow() - timedelta(minutes=1))
    )
    await session.commit()

    await session.commit()

    expired = await expire_unpaid(sessionmaker, provider)

    assert expired == 1
    assert (await read(client, overdue))["status"] == "cancelled"
    assert (await read(client, current))["status"] == "pending_payment"
    assert await stock_of(session, overdue.variant_id) == 3
    assert await stock_of(session, current.variant_id) == 2
    event = (
        await session.execute(
            select(OrderEvent.actor, OrderEvent.from_status).where(
                OrderEvent.order_id == uuid.UUID(overdue.id), OrderEvent.to_status == "cancelled"
            )
        )
    ).one()
    assert tuple(event) == ("system", "pending_payment")
    assert await expire_unpaid(sessionmaker, provider) == 0


# ---- tracking ----


async def test_tracking_with_a_wrong_number_or_email_is_the_same_404(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    order = await place_order(client, session)
    number = str(order.body["number"])

    wrong_number = await client.post(
        "/v1/orders/track", json={"number": "FJ-00000000", "email": "ada@example.com"}
    )
    wrong_email = await client.post(
        "/v1/orders/track", json={"number": number, "email": "eve@example.com"}
    )
    right = await client.post(
        "/v1/orders/track", json={"number": number.lower(), "email": "Ada@Example.com"}
    )

    assert wrong_number.status_code == wrong_email.status_code == 404
    assert problem_type(wrong_number) == "order-not-found"

    def without_request_id(response: httpx.Response) -> dict[str, object]:
        body: dict[str, object] = response.json()
        body.pop("request_id", None)
        return body

    assert without_request_id(wrong_number) == without_request_id(wrong_email)
    assert wrong_number.headers["content-type"] == wrong_email.headers["content-type"]
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "pending_payment"
    assert "email" not in right.json()


async def test_tracking_no_longer_takes_the_email_in_the_url(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/v1/orders/track", params={"number": "FJ-00000000", "email": "ada@example.com"}
    )

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


async def test_tracking_is_limited_to_thirty_requests_a_minute(
    client: httpx.AsyncClient,
) -> None:
    body = {"number": "FJ-00000000", "email": "ada@example.com"}

    answers = [(await client.post("/v1/orders/track", json=body)) for _ in range(31)]

    assert [r.status_code for r in answers[:30]] == [404] * 30
    limited = answers[30]
    assert limited.status_code == 429
    assert problem_type(limited) == "too-many-requests"
    assert 0 < int(limited.headers["Retry-After"]) <= 60


async def test_an_accounts_order_emails_name_the_account_as_their_subject(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    # Erasure finds an account's messages by subject as well as by address.
    account, headers = await signed_in(client, session)
    mine = await place_order(client, session, headers=headers, email=account.email)
    guest = await place_order(client, session)
    assert (await pay(client, mine, headers=headers)).status_code == 200
    assert (await pay(client, guest)).status_code == 200

    subjects = dict(
        (
            await session.execute(
                select(OutboxMessage.recipient, OutboxMessage.data_subject).where(
                    OutboxMessage.kind == "order_confirmation"
                )
            )
        ).all()
    )

    assert subjects[account.email] == f"account:{account.id}"
    assert subjects["ada@example.com"] is None
