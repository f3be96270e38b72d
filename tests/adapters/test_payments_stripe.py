"""The Stripe adapter, through the real SDK, against a loopback fake of the Stripe API."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.adapters.payments import create_payment_provider
from app.adapters.payments.base import (
    CaptureMode,
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentEventType,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
)
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.payments.webhooks import sign_payload
from app.core.settings import PaymentProviderName, Settings
from tests.adapters.fake_stripe import Delay, Fail, FakeStripe, ServerCharge, serve
from tests.processes import free_port

API_KEY = "sk_test_facet_loopback"
WEBHOOK_SECRET = "whsec_test_facet_loopback"
CLIENT_TIMEOUT = 0.5
SLOW_RESPONSE = 1.0  # longer than the client timeout

# stripe 16.1's HTTPXClient hands the encoded form to httpx as `data=`, which httpx 0.28
# deprecates; the warning is the SDK's, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)

ALLOWED_CREATE_FIELDS = {
    "amount",
    "currency",
    "capture_method",
    "metadata[order_id]",
    "metadata[order_number]",
    "payment_method_types[0]",
}


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe(API_KEY)
    with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def fake_stripe(stripe_server: tuple[FakeStripe, str]) -> FakeStripe:
    fake, _ = stripe_server
    fake.reset()
    return fake


@pytest.fixture
async def provider(
    stripe_server: tuple[FakeStripe, str], fake_stripe: FakeStripe
) -> AsyncIterator[StripePaymentProvider]:
    _, base_url = stripe_server
    adapter = StripePaymentProvider(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=base_url, timeout=CLIENT_TIMEOUT
    )
    yield adapter
    await adapter.close()


def payment_request(
    *, capture: CaptureMode = CaptureMode.automatic, key: str = "order-ord_1-intent"
) -> PaymentRequest:
    return PaymentRequest(
        order_id="ord_1",
        order_number="F-1001",
        amount_minor=129_900,
        currency="USD",
        capture=capture,
        idempotency_key=key,
    )


async def confirmed(provider: StripePaymentProvider, capture: CaptureMode) -> str:
    intent = await provider.create_intent(payment_request(capture=capture))
    await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="confirm-1")
    return intent.id


# --- outbound calls -------------------------------------------------------------------


async def test_create_sends_only_amount_currency_and_order_reference(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())

    assert intent.id.startswith("pi_")
    assert intent.status == IntentStatus.requires_payment_method
    assert (intent.amount_minor, intent.currency, intent.amount_received_minor) == (
        129_900,
        "USD",
        0,
    )
    [sent] = fake_stripe.requests
    assert (sent.method, sent.path) == ("POST", "/v1/payment_intents")
    assert sent.form == {
        "amount": "129900",
        "currency": "usd",
        "capture_method": "automatic",
        "metadata[order_id]": "ord_1",
        "metadata[order_number]": "F-1001",
        "payment_method_types[0]": "card",
    }
    assert set(sent.form) == ALLOWED_CREATE_FIELDS
    personal = ("email", "name", "address", "phone", "shipping", "customer", "description")
    assert not [f for f in sent.form if any(word in f for word in personal)]
    assert sent.idempotency_key == "order-ord_1-intent"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert "stripe-version" in sent.headers


async def test_create_manual_capture_is_sent_as_capture_method_manual(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    await provider.create_intent(payment_request(capture=CaptureMode.manual))

    assert fake_stripe.requests[0].form["capture_method"] == "manual"


async def test_confirm_with_visa_succeeds_and_charges_once(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())

    result = await provider.confirm(
        intent.id, payment_method="pm_card_visa", idempotency_key="order-ord_1-confirm-1"
    )

    assert result.status == IntentStatus.succeeded
    assert result.amount_received_minor == 129_900
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]
    [sent] = fake_stripe.requests_for("confirm")
    assert sent.path == f"/v1/payment_intents/{intent.id}/confirm"
    assert sent.form == {"payment_method": "pm_card_visa"}
    assert sent.idempotency_key == "order-ord_1-confirm-1"


async def test_retrieve_maps_the_intent(provider: StripePaymentProvider) -> None:
    intent_id = await confirmed(provider, CaptureMode.automatic)

    result = await provider.retrieve(intent_id)

    assert result.id == intent_id
    assert result.status == IntentStatus.succeeded
    assert (result.amount_minor, result.currency, result.amount_received_minor) == (
        129_900,
        "USD",
        129_900,
    )


@pytest.mark.parametrize(
    "token", ["pm_card_chargeDeclined", "pm_card_insufficientFunds"], ids=["generic", "funds"]
)
async def test_declined_card_is_payment_declined_with_code(
    provider: StripePaymentProvider, fake_stripe: FakeStripe, token: str
) -> None:
    intent = await provider.create_intent(payment_request())

    with pytest.raises(PaymentDeclined) as caught:
        await provider.confirm(intent.id, payment_method=token, idempotency_key="confirm-1")

    # Stripe reports every decline as code "card_declined"; the reason is in decline_code.
    assert caught.value.code == "card_declined"
    assert fake_stripe.ledger == []
    assert len(fake_stripe.requests_for("confirm")) == 1  # a decline is not retried
    assert (await provider.retrieve(intent.id)).status == IntentStatus.requires_payment_method


async def test_declined_then_another_card_succeeds(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())
    with pytest.raises(PaymentDeclined):
        await provider.confirm(
            intent.id, payment_method="pm_card_chargeDeclined", idempotency_key="confirm-1"
        )
    # The stored decline is replayed for the same key.
    with pytest.raises(PaymentDeclined):
        await provider.confirm(
            intent.id, payment_method="pm_card_chargeDeclined", idempotency_key="confirm-1"
        )

    result = await provider.confirm(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-2"
    )

    assert result.status == IntentStatus.succeeded
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]


async def test_unknown_payment_method_is_rejected(provider: StripePaymentProvider) -> None:
    intent = await provider.create_intent(payment_request())

    with pytest.raises(PaymentRejected):
        await provider.confirm(intent.id, payment_method="pm_bogus", idempotency_key="confirm-1")


async def test_server_error_is_retried_with_the_same_key_then_succeeds(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())
    fake_stripe.script("confirm", Fail(500))

    result = await provider.confirm(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )

    assert result.status == IntentStatus.succeeded
    sent = fake_stripe.requests_for("confirm")
    assert [r.idempotency_key for r in sent] == ["confirm-1", "confirm-1"]
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]


async def test_persistent_server_error_is_unavailable_and_a_later_retry_charges_once(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())
    fake_stripe.script("confirm", Fail(500), times=3)

    with pytest.raises(PaymentUnavailable):
        await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="c-1")

    assert [r.idempotency_key for r in fake_stripe.requests_for("confirm")] == ["c-1"] * 3
    assert fake_stripe.ledger == []
    result = await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="c-1")
    assert result.status == IntentStatus.succeeded
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]


async def test_timeout_after_the_charge_is_recovered_by_the_sdk_retry_without_double_charge(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())
    fake_stripe.script("confirm", Delay(SLOW_RESPONSE))

    result = await provider.confirm(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )

    assert result.status == IntentStatus.succeeded
    assert [r.idempotency_key for r in fake_stripe.requests_for("confirm")] == ["confirm-1"] * 2
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]


async def test_timeout_after_the_charge_then_our_retry_does_not_charge_twice(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request())
    # The original call and both SDK retries time out; the server applied the first one.
    fake_stripe.script("confirm", Delay(SLOW_RESPONSE), times=3)

    with pytest.raises(PaymentUnavailable):
        await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="c-1")
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]

    result = await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="c-1")

    assert result.status == IntentStatus.succeeded
    assert result.amount_received_minor == 129_900
    assert [r.idempotency_key for r in fake_stripe.requests_for("confirm")] == ["c-1"] * 4
    assert fake_stripe.ledger == [ServerCharge(intent.id, "capture", 129_900)]


async def test_rate_limit_is_unavailable(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    fake_stripe.script("create", Fail(429, "invalid_request_error"))

    with pytest.raises(PaymentUnavailable):
        await provider.create_intent(payment_request())


async def test_key_reused_with_other_parameters_is_rejected(
    provider: StripePaymentProvider,
) -> None:
    await provider.create_intent(payment_request(key="same-key"))
    other = PaymentRequest(
        order_id="ord_2",
        order_number="F-1002",
        amount_minor=500,
        currency="USD",
        capture=CaptureMode.automatic,
        idempotency_key="same-key",
    )

    with pytest.raises(PaymentRejected):
        await provider.create_intent(other)


async def test_same_key_replays_the_created_intent(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    first = await provider.create_intent(payment_request())
    again = await provider.create_intent(payment_request())

    assert again == first
    assert len(fake_stripe.intents) == 1


async def test_manual_capture_authorizes_then_captures(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent = await provider.create_intent(payment_request(capture=CaptureMode.manual))

    authorized = await provider.confirm(
        intent.id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )
    assert authorized.status == IntentStatus.requires_capture
    assert authorized.amount_received_minor == 0

    captured = await provider.capture(intent.id, idempotency_key="capture-1")

    assert captured.status == IntentStatus.succeeded
    assert captured.amount_received_minor == 129_900
    [sent] = fake_stripe.requests_for("capture")
    assert (sent.path, sent.idempotency_key) == (
        f"/v1/payment_intents/{intent.id}/capture",
        "capture-1",
    )
    assert fake_stripe.ledger == [
        ServerCharge(intent.id, "authorization", 129_900),
        ServerCharge(intent.id, "capture", 129_900),
    ]


async def test_cancel_voids_an_authorization(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent_id = await confirmed(provider, CaptureMode.manual)

    canceled = await provider.cancel(intent_id, idempotency_key="cancel-1")

    assert canceled.status == IntentStatus.canceled
    assert fake_stripe.requests_for("cancel")[0].idempotency_key == "cancel-1"
    assert fake_stripe.ledger == [
        ServerCharge(intent_id, "authorization", 129_900),
        ServerCharge(intent_id, "void", 129_900),
    ]
    with pytest.raises(PaymentRejected):
        await provider.capture(intent_id, idempotency_key="capture-1")


async def test_cancel_after_capture_is_rejected(provider: StripePaymentProvider) -> None:
    intent_id = await confirmed(provider, CaptureMode.automatic)

    with pytest.raises(PaymentRejected):
        await provider.cancel(intent_id, idempotency_key="cancel-1")


async def test_refund_partial_then_rest(
    provider: StripePaymentProvider, fake_stripe: FakeStripe
) -> None:
    intent_id = await confirmed(provider, CaptureMode.automatic)

    partial = await provider.refund(intent_id, amount_minor=29_900, idempotency_key="refund-1")
    rest = await provider.refund(intent_id, amount_minor=None, idempotency_key="refund-2")

    assert partial.id.startswith("re_")
    assert (partial.intent_id, partial.amount_minor, partial.status) == (
        intent_id,
        29_900,
        "succeeded",
    )
    assert rest.amount_minor == 100_000
    first, second = fake_stripe.requests_for("refund")
    assert first.form == {"payment_intent": intent_id, "amount": "29900"}
    assert second.form == {"payment_intent": intent_id}
    assert (first.idempotency_key, second.idempotency_key) == ("refund-1", "refund-2")
    assert fake_stripe.ledger[1:] == [
        ServerCharge(intent_id, "refund", 29_900),
        ServerCharge(intent_id, "refund", 100_000),
    ]
    with pytest.raises(PaymentRejected):
        await provider.refund(intent_id, amount_minor=1, idempotency_key="refund-3")


async def test_unknown_intent_is_rejected(provider: StripePaymentProvider) -> None:
    with pytest.raises(PaymentRejected):
        await provider.retrieve("pi_does_not_exist")


async def test_wrong_api_key_is_rejected(stripe_server: tuple[FakeStripe, str]) -> None:
    _, base_url = stripe_server
    adapter = StripePaymentProvider(
        api_key="sk_test_wrong", webhook_secret=WEBHOOK_SECRET, api_base=base_url, timeout=1
    )
    try:
        with pytest.raises(PaymentRejected):
            await adapter.create_intent(payment_request())
    finally:
        await adapter.close()


async def test_connection_refused_is_unavailable() -> None:
    adapter = StripePaymentProvider(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=f"http://127.0.0.1:{free_port()}",
        timeout=CLIENT_TIMEOUT,
    )
    try:
        with pytest.raises(PaymentUnavailable):
            await adapter.create_intent(payment_request())
    finally:
        await adapter.close()


# --- webhooks -------------------------------------------------------------------------


def intent_event(event_type: str, **fields: Any) -> bytes:
    obj = {
        "id": "pi_123",
        "object": "payment_intent",
        "amount": 129_900,
        "amount_capturable": 0,
        "amount_received": 0,
        "currency": "usd",
        "status": "requires_payment_method",
        "metadata": {"order_id": "ord_1", "order_number": "F-1001"},
        **fields,
    }
    return event_payload(event_type, obj)


@pytest.fixture
async def webhook_adapter() -> AsyncIterator[StripePaymentProvider]:
    # Verifying a webhook makes no request: nothing needs to listen at the API base.
    adapter = StripePaymentProvider(
        api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=f"http://127.0.0.1:{free_port()}"
    )
    yield adapter
    await adapter.close()


def event_payload(event_type: str, obj: dict[str, Any]) -> bytes:
    event = {
        "id": "evt_123",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("payload", "expected_type", "amount"),
    [
        (
            intent_event("payment_intent.succeeded", status="succeeded", amount_received=129_900),
            PaymentEventType.succeeded,
            129_900,
        ),
        (
            intent_event(
                "payment_intent.amount_capturable_updated",
                status="requires_capture",
                amount_capturable=129_900,
            ),
            PaymentEventType.authorized,
            129_900,
        ),
        (intent_event("payment_intent.payment_failed"), PaymentEventType.failed, 129_900),
        (
            intent_event("payment_intent.canceled", status="canceled"),
            PaymentEventType.canceled,
            129_900,
        ),
        (
            event_payload(
                "charge.refunded",
                {
                    "id": "ch_1",
                    "object": "charge",
                    "amount": 129_900,
                    "amount_refunded": 29_900,
                    "payment_intent": "pi_123",
                    "metadata": {"order_id": "ord_1", "order_number": "F-1001"},
                },
            ),
            PaymentEventType.refunded,
            29_900,
        ),
        (intent_event("payment_intent.created"), PaymentEventType.other, 129_900),
    ],
    ids=["succeeded", "authorized", "failed", "canceled", "refunded", "other"],
)
async def test_signed_webhook_is_verified_and_mapped(
    webhook_adapter: StripePaymentProvider,
    payload: bytes,
    expected_type: PaymentEventType,
    amount: int,
) -> None:
    event = webhook_adapter.verify_webhook(payload, sign_payload(payload, WEBHOOK_SECRET))

    assert event.id == "evt_123"
    assert event.type == expected_type
    assert event.intent_id == "pi_123"
    assert event.order_id == "ord_1"
    assert event.amount_minor == amount
    assert event.raw_type == json.loads(payload)["type"]
    assert event.metadata == {"order_id": "ord_1", "order_number": "F-1001"}


SUCCEEDED = intent_event("payment_intent.succeeded", status="succeeded")


@pytest.mark.parametrize(
    ("payload", "signature"),
    [
        (SUCCEEDED.replace(b"129900", b"1"), sign_payload(SUCCEEDED, WEBHOOK_SECRET)),
        (SUCCEEDED, sign_payload(SUCCEEDED, "whsec_someone_else")),
        (SUCCEEDED, sign_payload(SUCCEEDED, WEBHOOK_SECRET, int(time.time()) - 301)),
        (SUCCEEDED, None),
        (SUCCEEDED, ""),
        (SUCCEEDED, "t=not-a-time,v1=abc"),
        (b"not json at all", sign_payload(b"not json at all", WEBHOOK_SECRET)),
        (b"[1, 2]", sign_payload(b"[1, 2]", WEBHOOK_SECRET)),
        (b"\xff\xfe", sign_payload(b"\xff\xfe", WEBHOOK_SECRET)),
    ],
    ids=[
        "tampered",
        "wrong-secret",
        "stale",
        "missing",
        "empty",
        "malformed",
        "not-json",
        "not-object",
        "not-utf8",
    ],
)
async def test_bad_webhook_is_invalid(
    webhook_adapter: StripePaymentProvider, payload: bytes, signature: str | None
) -> None:
    with pytest.raises(InvalidWebhook):
        webhook_adapter.verify_webhook(payload, signature)


async def test_webhook_with_one_matching_signature_among_several_verifies(
    webhook_adapter: StripePaymentProvider,
) -> None:
    good = sign_payload(SUCCEEDED, WEBHOOK_SECRET)
    old = sign_payload(SUCCEEDED, "whsec_rolled_secret").split(",")[1]

    event = webhook_adapter.verify_webhook(SUCCEEDED, f"{good},{old}")

    assert event.type == PaymentEventType.succeeded


# --- factory --------------------------------------------------------------------------


async def test_factory_builds_the_stripe_provider_from_settings() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        payment_provider=PaymentProviderName.stripe,
        stripe_api_key=SecretStr(API_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        stripe_api_base=f"http://127.0.0.1:{free_port()}",
    )

    provider = create_payment_provider(settings)
    try:
        assert isinstance(provider, StripePaymentProvider)
        assert provider.name == "stripe"
    finally:
        await provider.close()


def test_factory_refuses_stripe_without_a_key() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        payment_provider=PaymentProviderName.stripe,
        stripe_api_key=SecretStr(""),
        stripe_webhook_secret=SecretStr(""),
    )

    with pytest.raises(ValueError, match="FACET_STRIPE_API_KEY"):
        create_payment_provider(settings)
