"""The money path under attack and bad luck (issue 7): card testing, refunds and disputes
from the processor, amounts that do not match, a carrier failing after a capture, shipping
preconditions, the expiry job and card numbers sent to the API."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.adapters.payments.base import (
    PaymentIntent,
    PaymentRequest,
    PaymentUnavailable,
    Refund,
)
from app.adapters.payments.fake import ChargeKind, FakePaymentProvider
from app.adapters.shipping.base import (
    Parcel,
    Recipient,
    Shipment,
    ShippingRejected,
)
from app.adapters.shipping.free import FreeShipping
from app.core.db import utcnow
from app.core.settings import CaptureSetting
from app.orders.fulfilment import expire_unpaid
from app.orders.models import Order, OrderStatus
from tests.orders.conftest import (
    WEBHOOK_SECRET,
    PlacedOrder,
    intent_of,
    outbox_count,
    paid_order,
    pay,
    place_order,
    problem_type,
    send_webhook,
    settings_changed,
    state_changed,
    stock_of,
    webhook_event,
)


class RecordingProvider(FakePaymentProvider):
    """The fake processor, noting every call that would leave the process."""

    def __init__(self) -> None:
        super().__init__(webhook_secret=WEBHOOK_SECRET)
        self.calls: list[str] = []
        self.unreachable: set[str] = set()  # intents whose calls time out

    def _note(self, call: str, intent_id: str | None = None) -> None:
        self.calls.append(call)
        if intent_id in self.unreachable:
            raise PaymentUnavailable("the payment processor did not answer in time")

    async def create_intent(self, request: PaymentRequest) -> PaymentIntent:
        self._note("create_intent")
        return await super().create_intent(request)

    async def confirm(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> PaymentIntent:
        self._note("confirm", intent_id)
        return await super().confirm(
            intent_id, payment_method=payment_method, idempotency_key=idempotency_key
        )

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        self._note("retrieve", intent_id)
        return await super().retrieve(intent_id)

    async def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        self._note("capture", intent_id)
        return await super().capture(intent_id, idempotency_key=idempotency_key)

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        self._note("cancel", intent_id)
        return await super().cancel(intent_id, idempotency_key=idempotency_key)

    async def refund(
        self, intent_id: str, *, amount_minor: int | None, idempotency_key: str
    ) -> Refund:
        self._note("refund", intent_id)
        return await super().refund(
            intent_id, amount_minor=amount_minor, idempotency_key=idempotency_key
        )


class RecordingCarrier(FreeShipping):
    """Free shipping that notes every call and can be told to refuse shipments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.reject = False

    async def create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment:
        self.calls.append("create_shipment")
        if self.reject:
            raise ShippingRejected("FedEx /ship/v1/shipments answered HTTP 422: no error code")
        return await super().create_shipment(
            recipient, parcel, reference=reference, idempotency_key=idempotency_key
        )


@pytest.fixture
def recording(bound_app: FastAPI) -> Iterator[RecordingProvider]:
    provider = RecordingProvider()
    with state_changed(bound_app, payment_provider=provider):
        yield provider


@pytest.fixture
def carrier(bound_app: FastAPI) -> Iterator[RecordingCarrier]:
    carrier = RecordingCarrier()
    with state_changed(bound_app, shipping_carrier=carrier):
        yield carrier


async def admin_view(
    client: httpx.AsyncClient, order: PlacedOrder, staff: dict[str, str]
) -> dict[str, Any]:
    response = await client.get(f"/v1/admin/orders/{order.id}", headers=staff)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def charge_event(event_type: str, intent_id: str, **fields: object) -> bytes:
    """A Stripe `charge.*` or `charge.dispute.*` event about the charge of `intent_id`."""
    kind = "dispute" if ".dispute." in event_type else "charge"
    obj = {
        "id": f"{'dp' if kind == 'dispute' else 'ch'}_{uuid.uuid4().hex[:24]}",
        "object": kind,
        "payment_intent": intent_id,
        "currency": "usd",
        **fields,
    }
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": event_type, "data": {"object": obj}}
    return json.dumps(event).encode()


async def refunded_by_processor(
    client: httpx.AsyncClient, session: AsyncSession, order: PlacedOrder, amount: int
) -> None:
    payload = charge_event(
        "charge.refunded",
        await intent_of(session, order),
        amount=order.total,
        amount_captured=order.total,
        amount_refunded=amount,
        refunded=amount >= order.total,
    )
    response = await send_webhook(client, payload)
    assert response.status_code == 200, response.text


async def disputed(client: httpx.AsyncClient, session: AsyncSession, order: PlacedOrder) -> None:
    payload = charge_event(
        "charge.dispute.created",
        await intent_of(session, order),
        amount=order.total,
        status="needs_response",
        reason="fraudulent",
    )
    response = await send_webhook(client, payload)
    assert response.status_code == 200, response.text


# ---- item 4: card testing ----


async def test_forty_declined_attempts_on_a_guest_order_are_throttled_and_the_hard_cap_cancels_it(
    client: httpx.AsyncClient, session: AsyncSession, recording: RecordingProvider
) -> None:
    order = await place_order(client, session, stock=3, quantity=1)
    assert await stock_of(session, order.variant_id) == 2

    answers = [await pay(client, order, "pm_card_chargeDeclined") for _ in range(40)]

    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [402] * 5
    assert statuses[5:9] == [429] * 4
    assert all(int(a.headers["Retry-After"]) > 0 for a in answers[5:9])
    assert problem_type(answers[9]) == "payment-attempts-exhausted"
    assert all(status in (409, 429) for status in statuses[10:])
    assert recording.calls.count("confirm") == 5  # the processor saw only the first five
    order_row = await session.scalar(select(Order).where(Order.id == uuid.UUID(order.id)))
    assert order_row is not None
    await session.refresh(order_row)
    assert order_row.status == OrderStatus.cancelled
    assert await stock_of(session, order.variant_id) == 3
    assert await outbox_count(session, "payment_failed") == 1


async def test_payment_attempts_from_one_address_are_throttled_across_orders(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    recording: RecordingProvider,
) -> None:
    first = await place_order(client, session)
    second = await place_order(client, session)
    with settings_changed(bound_app, payment_attempts_per_address=3):
        declined = [await pay(client, first, "pm_card_chargeDeclined") for _ in range(3)]
        throttled = await pay(client, second, "pm_card_visa")

    assert [r.status_code for r in declined] == [402] * 3
    assert throttled.status_code == 429, throttled.text
    assert "Retry-After" in throttled.headers
    assert recording.calls.count("confirm") == 3


# ---- item 7: refunds and disputes from the processor ----


async def test_a_full_refund_by_webhook_marks_the_payment_refunded_and_blocks_shipping(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    carrier: RecordingCarrier,
    staff: dict[str, str],
) -> None:
    order = await paid_order(client, session)

    await refunded_by_processor(client, session, order, order.total)

    view = await admin_view(client, order, staff)
    assert view["payment"]["state"] == "refunded"
    assert view["payment"]["amount_refunded_minor"] == order.total
    assert view["payment_review"]
    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    assert shipped.status_code == 409, shipped.text
    assert carrier.calls == []


async def test_partial_refunds_by_webhook_add_up_and_a_late_event_does_not_undo_them(
    client: httpx.AsyncClient, session: AsyncSession, recording: RecordingProvider
) -> None:
    order = await paid_order(client, session)

    await refunded_by_processor(client, session, order, 10_000)
    partial = (await client.get(f"/v1/orders/{order.id}", headers=order.token)).json()
    await refunded_by_processor(client, session, order, order.total)
    await refunded_by_processor(client, session, order, 10_000)  # delivered out of order
    full = (await client.get(f"/v1/orders/{order.id}", headers=order.token)).json()

    assert partial["payment"]["state"] == "partially_refunded"
    assert partial["payment"]["amount_refunded_minor"] == 10_000
    assert full["payment"]["state"] == "refunded"
    assert full["payment"]["amount_refunded_minor"] == order.total


async def test_cancelling_an_order_refunded_at_the_processor_makes_no_processor_call(
    client: httpx.AsyncClient, session: AsyncSession, recording: RecordingProvider
) -> None:
    order = await paid_order(client, session)
    await refunded_by_processor(client, session, order, order.total)
    recording.calls.clear()

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert recording.calls == []
    assert await stock_of(session, order.variant_id) == 3


async def test_a_dispute_by_webhook_flags_the_order_and_blocks_shipping(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    carrier: RecordingCarrier,
    staff: dict[str, str],
) -> None:
    order = await paid_order(client, session)

    await disputed(client, session, order)

    view = await admin_view(client, order, staff)
    assert view["payment"]["state"] == "disputed"
    assert "dispute" in view["payment_review"]
    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)
    assert shipped.status_code == 409
    assert carrier.calls == []

    won = charge_event(
        "charge.dispute.closed", await intent_of(session, order), amount=order.total, status="won"
    )
    assert (await send_webhook(client, won)).status_code == 200
    assert (await admin_view(client, order, staff))["payment"]["state"] == "captured"


# ---- item 8: amounts are checked ----


async def pending_with_intent(
    client: httpx.AsyncClient, session: AsyncSession
) -> tuple[PlacedOrder, str]:
    """An order whose intent exists at the processor (a first attempt timed out)."""
    order = await place_order(client, session)
    timed_out = await pay(client, order, "pm_card_timeout")
    assert timed_out.status_code == 503, timed_out.text
    return order, await intent_of(session, order)


@pytest.mark.parametrize(
    ("amount", "currency"), [(1, "usd"), (None, "eur")], ids=["one-cent", "other-currency"]
)
async def test_a_succeeded_webhook_that_does_not_match_the_order_is_flagged_not_paid(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    staff: dict[str, str],
    amount: int | None,
    currency: str,
) -> None:
    order, intent_id = await pending_with_intent(client, session)
    event = json.loads(webhook_event("payment_intent.succeeded", intent_id, amount=order.total))
    event["data"]["object"]["currency"] = currency
    if amount is not None:
        event["data"]["object"]["amount_received"] = amount

    response = await send_webhook(client, json.dumps(event).encode())

    assert response.status_code == 200, response.text
    view = await admin_view(client, order, staff)
    assert view["status"] == "pending_payment"
    assert "amount mismatch" in view["payment_review"]
    assert await outbox_count(session, "order_confirmation") == 0


async def test_a_confirm_that_took_another_amount_is_flagged_not_paid(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    staff: dict[str, str],
) -> None:
    order, _ = await pending_with_intent(client, session)
    # The order's total no longer matches the intent the processor holds.
    await session.execute(
        update(Order).where(Order.id == uuid.UUID(order.id)).values(total_minor=order.total + 1)
    )
    await session.commit()

    response = await pay(client, order, "pm_card_timeout")  # the retry goes through

    assert response.status_code == 409, response.text
    assert problem_type(response) == "payment-under-review"
    view = await admin_view(client, order, staff)
    assert view["status"] == "pending_payment"
    assert "amount mismatch" in view["payment_review"]


# ---- item 9: manual capture, then the carrier fails ----


async def test_a_carrier_failure_after_a_manual_capture_keeps_the_capture_and_cancel_refunds(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    recording: RecordingProvider,
    carrier: RecordingCarrier,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    assert (await pay(client, order)).status_code == 200
    carrier.reject = True

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 422, shipped.text
    assert problem_type(shipped) == "carrier-rejected"
    view = await admin_view(client, order, staff)
    assert (view["status"], view["payment"]["state"]) == ("paid", "captured")

    cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["payment"]["state"] == "refunded"
    assert [(c.kind, c.amount_minor) for c in recording.charges] == [
        (ChargeKind.authorization, order.total),
        (ChargeKind.capture, order.total),
        (ChargeKind.refund, order.total),
    ]


async def test_cancel_refunds_a_capture_the_database_never_recorded(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    recording: RecordingProvider,
    staff: dict[str, str],
) -> None:
    with settings_changed(bound_app, payment_capture=CaptureSetting.manual):
        order = await place_order(client, session)
    assert (await pay(client, order)).status_code == 200
    # Captured at the processor by a request whose record was lost.
    await recording.capture(await intent_of(session, order), idempotency_key="lost-capture")

    refunded = await client.post(f"/v1/admin/orders/{order.id}/refund", headers=staff)

    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "cancelled"
    assert refunded.json()["payment"]["state"] == "refunded"
    assert recording.charges[-1].kind == ChargeKind.refund


# ---- item 15: shipping checks every precondition before any call ----


@pytest.mark.parametrize("case", ["unpaid", "cancelled", "refunded", "disputed"])
async def test_shipping_an_order_that_must_not_ship_calls_neither_processor_nor_carrier(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    carrier: RecordingCarrier,
    staff: dict[str, str],
    case: str,
) -> None:
    if case == "unpaid":
        order = await place_order(client, session)
    else:
        order = await paid_order(client, session)
    if case == "cancelled":
        cancelled = await client.post(f"/v1/orders/{order.id}/cancel", headers=order.token)
        assert cancelled.status_code == 200, cancelled.text
    elif case == "refunded":
        await refunded_by_processor(client, session, order, order.total)
    elif case == "disputed":
        await disputed(client, session, order)
    recording.calls.clear()

    shipped = await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff)

    assert shipped.status_code == 409, shipped.text
    assert carrier.calls == []
    assert recording.calls == []


# ---- the expiry job ----


async def overdue(session: AsyncSession, order: PlacedOrder, minutes: int) -> None:
    await session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order.id))
        .values(reserved_until=utcnow() - timedelta(minutes=minutes))
    )
    await session.commit()


async def status_of(session: AsyncSession, order: PlacedOrder) -> OrderStatus:
    status = await session.scalar(select(Order.status).where(Order.id == uuid.UUID(order.id)))
    assert status is not None
    return status


async def test_an_order_the_expiry_job_cannot_void_does_not_block_the_others(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recording: RecordingProvider,
) -> None:
    stuck, stuck_intent = await pending_with_intent(client, session)
    other = await place_order(client, session)
    await overdue(session, stuck, 20)  # the oldest: heads the batch
    await overdue(session, other, 10)
    recording.unreachable.add(stuck_intent)

    first = await expire_unpaid(sessionmaker, recording, limit=1)
    second = await expire_unpaid(sessionmaker, recording, limit=1)

    assert (first, second) == (0, 1)
    assert await status_of(session, stuck) == OrderStatus.pending_payment
    assert await status_of(session, other) == OrderStatus.cancelled


async def test_the_expiry_job_records_a_payment_the_processor_took(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    recording: RecordingProvider,
) -> None:
    order, intent_id = await pending_with_intent(client, session)
    # The buyer's retry went through at the processor; its answer and webhook were lost.
    await recording.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="lost")
    await overdue(session, order, 5)

    assert await expire_unpaid(sessionmaker, recording) == 0
    assert await status_of(session, order) == OrderStatus.paid
    assert recording.charges[-1].kind == ChargeKind.capture  # kept, not refunded


# ---- P7: card numbers never reach the API ----

CARD = "4242424242424242"


@pytest.mark.parametrize(
    "body",
    [
        {"payment_method": CARD},
        {"payment_method": "4242 4242 4242 4242"},
        {"payment_method": 4242424242424242},
        {"payment_method": 4242424242424242.0},
        {"payment_method": "pm_card_visa", "card": "4242-4242-4242-4242"},
        {"payment_method": "pm_card_visa", "extra": {"4242424242424242": "x"}},
        {"payment_method": "pm_card_visa", "cards": ["378282246310005"]},
    ],
    ids=["token", "spaced", "number", "float", "dashed-field", "key", "amex-in-list"],
)
async def test_a_card_number_anywhere_in_a_payment_body_is_refused_before_the_processor(
    client: httpx.AsyncClient,
    session: AsyncSession,
    recording: RecordingProvider,
    caplog: pytest.LogCaptureFixture,
    body: dict[str, object],
) -> None:
    order = await place_order(client, session)
    caplog.set_level(logging.DEBUG)

    response = await client.post(f"/v1/orders/{order.id}/payments", json=body, headers=order.token)

    assert response.status_code == 422, response.text
    assert problem_type(response) == "validation-error"
    assert [e["type"] for e in response.json()["errors"]] == ["card_number_refused"]
    digits = "".join(ch for ch in json.dumps(body) if ch.isdigit())
    assert digits[:12] not in "".join(ch for ch in response.text if ch.isdigit())
    assert recording.calls == []
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for shape in (CARD, "4242 4242 4242 4242", "4242-4242-4242-4242", "378282246310005"):
        assert shape not in logged
        assert shape not in response.text


async def test_a_payment_method_that_is_not_a_processor_token_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, recording: RecordingProvider
) -> None:
    order = await place_order(client, session)

    response = await pay(client, order, "card_visa")

    assert response.status_code == 422
    assert recording.calls == []
