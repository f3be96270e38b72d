"""The in-memory payment provider: Stripe's test cards, idempotency and its ledger."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

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
from app.adapters.payments.fake import (
    DEV_WEBHOOK_SECRET,
    Charge,
    ChargeKind,
    FakePaymentProvider,
    read_ledger,
)
from app.adapters.payments.webhooks import sign_payload
from app.core.settings import PaymentProviderName, Settings

SECRET = "whsec_test_fake_provider"


@pytest.fixture
def provider() -> FakePaymentProvider:
    return FakePaymentProvider(webhook_secret=SECRET)


def payment_request(
    *, capture: CaptureMode = CaptureMode.automatic, key: str = "order-ord_1-intent"
) -> PaymentRequest:
    return PaymentRequest(
        order_id="ord_1",
        order_number="F-1001",
        amount_minor=129_900,
        currency="usd",
        capture=capture,
        idempotency_key=key,
    )


async def new_intent(
    provider: FakePaymentProvider, capture: CaptureMode = CaptureMode.automatic
) -> str:
    return (await provider.create_intent(payment_request(capture=capture))).id


def capture_of(intent_id: str) -> Charge:
    return Charge(intent_id, 129_900, "USD", ChargeKind.capture)


async def test_create_intent_requires_a_payment_method(provider: FakePaymentProvider) -> None:
    intent = await provider.create_intent(payment_request())

    assert intent.id.startswith("pi_fake_")
    assert intent.status == IntentStatus.requires_payment_method
    assert (intent.amount_minor, intent.currency, intent.amount_received_minor) == (
        129_900,
        "USD",
        0,
    )
    assert provider.charges == []


async def test_create_with_the_same_key_replays_the_intent(provider: FakePaymentProvider) -> None:
    first = await provider.create_intent(payment_request())
    again = await provider.create_intent(payment_request())

    assert again == first


async def test_key_reused_with_other_parameters_is_rejected(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)

    with pytest.raises(PaymentRejected):
        await provider.capture(intent_id, idempotency_key="order-ord_1-intent")


async def test_non_positive_amount_is_rejected(provider: FakePaymentProvider) -> None:
    request = PaymentRequest("ord_1", "F-1001", 0, "USD", CaptureMode.automatic, "k")

    with pytest.raises(PaymentRejected):
        await provider.create_intent(request)


@pytest.mark.parametrize("token", ["pm_card_visa", "pm_card_mastercard"])
async def test_good_card_succeeds_and_charges_once(
    provider: FakePaymentProvider, token: str
) -> None:
    intent_id = await new_intent(provider)

    result = await provider.confirm(intent_id, payment_method=token, idempotency_key="confirm-1")

    assert result.status == IntentStatus.succeeded
    assert result.amount_received_minor == 129_900
    assert provider.charges == [capture_of(intent_id)]
    assert await provider.retrieve(intent_id) == result


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("pm_card_chargeDeclined", "card_declined"),
        ("pm_card_insufficientFunds", "insufficient_funds"),
        ("pm_card_bogus", "invalid_payment_method"),
        ("4242424242424242", "invalid_payment_method"),
    ],
)
async def test_declining_token_is_payment_declined_with_code(
    provider: FakePaymentProvider, token: str, code: str
) -> None:
    intent_id = await new_intent(provider)

    with pytest.raises(PaymentDeclined) as caught:
        await provider.confirm(intent_id, payment_method=token, idempotency_key="confirm-1")

    assert caught.value.code == code
    assert provider.charges == []
    assert (await provider.retrieve(intent_id)).status == IntentStatus.requires_payment_method


async def test_stored_decline_is_replayed_for_the_same_key(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)
    with pytest.raises(PaymentDeclined):
        await provider.confirm(
            intent_id, payment_method="pm_card_chargeDeclined", idempotency_key="confirm-1"
        )

    with pytest.raises(PaymentDeclined) as caught:
        await provider.confirm(
            intent_id, payment_method="pm_card_chargeDeclined", idempotency_key="confirm-1"
        )

    assert caught.value.code == "card_declined"
    result = await provider.confirm(
        intent_id, payment_method="pm_card_visa", idempotency_key="confirm-2"
    )
    assert result.status == IntentStatus.succeeded
    assert provider.charges == [capture_of(intent_id)]


async def test_confirm_with_the_same_key_replays_and_charges_once(
    provider: FakePaymentProvider,
) -> None:
    intent_id = await new_intent(provider)

    first = await provider.confirm(
        intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )
    again = await provider.confirm(
        intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )

    assert again == first
    assert provider.charges == [capture_of(intent_id)]


async def test_concurrent_confirms_with_the_same_key_charge_once(
    provider: FakePaymentProvider,
) -> None:
    intent_id = await new_intent(provider)

    results = await asyncio.gather(
        *(
            provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="c-1")
            for _ in range(10)
        )
    )

    assert {r.status for r in results} == {IntentStatus.succeeded}
    assert provider.charges == [capture_of(intent_id)]


async def test_confirm_with_a_new_key_after_success_is_rejected(
    provider: FakePaymentProvider,
) -> None:
    intent_id = await new_intent(provider)
    await provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1")

    with pytest.raises(PaymentRejected):
        await provider.confirm(
            intent_id, payment_method="pm_card_visa", idempotency_key="confirm-2"
        )

    assert provider.charges == [capture_of(intent_id)]


async def test_timeout_token_then_retry_with_the_same_key_charges_once(
    provider: FakePaymentProvider,
) -> None:
    intent_id = await new_intent(provider)

    with pytest.raises(PaymentUnavailable):
        await provider.confirm(
            intent_id, payment_method="pm_card_timeout", idempotency_key="confirm-1"
        )
    assert provider.charges == []
    assert (await provider.retrieve(intent_id)).status == IntentStatus.requires_payment_method

    result = await provider.confirm(
        intent_id, payment_method="pm_card_timeout", idempotency_key="confirm-1"
    )
    again = await provider.confirm(
        intent_id, payment_method="pm_card_timeout", idempotency_key="confirm-1"
    )

    assert result.status == IntentStatus.succeeded
    assert again == result
    assert provider.charges == [capture_of(intent_id)]


async def test_timeout_token_times_out_once_per_intent(provider: FakePaymentProvider) -> None:
    first = await new_intent(provider)
    second = (await provider.create_intent(payment_request(key="order-ord_2-intent"))).id

    for intent_id in (first, second):
        with pytest.raises(PaymentUnavailable):
            await provider.confirm(
                intent_id, payment_method="pm_card_timeout", idempotency_key=f"{intent_id}-c"
            )


async def test_manual_capture_authorizes_then_captures(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider, CaptureMode.manual)

    authorized = await provider.confirm(
        intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1"
    )
    assert authorized.status == IntentStatus.requires_capture
    assert authorized.amount_received_minor == 0

    captured = await provider.capture(intent_id, idempotency_key="capture-1")
    again = await provider.capture(intent_id, idempotency_key="capture-1")

    assert captured.status == IntentStatus.succeeded
    assert captured.amount_received_minor == 129_900
    assert again == captured
    assert provider.charges == [
        Charge(intent_id, 129_900, "USD", ChargeKind.authorization),
        capture_of(intent_id),
    ]


async def test_capture_without_authorization_is_rejected(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)

    with pytest.raises(PaymentRejected):
        await provider.capture(intent_id, idempotency_key="capture-1")


async def test_cancel_voids_an_authorization(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider, CaptureMode.manual)
    await provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1")

    canceled = await provider.cancel(intent_id, idempotency_key="cancel-1")
    again = await provider.cancel(intent_id, idempotency_key="cancel-1")

    assert canceled.status == IntentStatus.canceled
    assert again == canceled
    assert provider.charges == [
        Charge(intent_id, 129_900, "USD", ChargeKind.authorization),
        Charge(intent_id, 129_900, "USD", ChargeKind.void),
    ]
    with pytest.raises(PaymentRejected):
        await provider.capture(intent_id, idempotency_key="capture-1")


async def test_cancel_before_confirmation_moves_no_money(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)

    canceled = await provider.cancel(intent_id, idempotency_key="cancel-1")

    assert canceled.status == IntentStatus.canceled
    assert provider.charges == []


async def test_cancel_after_capture_is_rejected(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)
    await provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1")

    with pytest.raises(PaymentRejected):
        await provider.cancel(intent_id, idempotency_key="cancel-1")


async def test_refund_partial_then_rest_once_each(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider)
    await provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1")

    partial = await provider.refund(intent_id, amount_minor=29_900, idempotency_key="refund-1")
    replayed = await provider.refund(intent_id, amount_minor=29_900, idempotency_key="refund-1")
    rest = await provider.refund(intent_id, amount_minor=None, idempotency_key="refund-2")

    assert partial.id.startswith("re_fake_")
    assert (partial.intent_id, partial.amount_minor, partial.status) == (
        intent_id,
        29_900,
        "succeeded",
    )
    assert replayed == partial
    assert rest.amount_minor == 100_000
    assert provider.refunds == [partial, rest]
    assert provider.charges == [
        capture_of(intent_id),
        Charge(intent_id, 29_900, "USD", ChargeKind.refund),
        Charge(intent_id, 100_000, "USD", ChargeKind.refund),
    ]
    with pytest.raises(PaymentRejected):
        await provider.refund(intent_id, amount_minor=1, idempotency_key="refund-3")


async def test_refund_before_capture_is_rejected(provider: FakePaymentProvider) -> None:
    intent_id = await new_intent(provider, CaptureMode.manual)
    await provider.confirm(intent_id, payment_method="pm_card_visa", idempotency_key="confirm-1")

    with pytest.raises(PaymentRejected):
        await provider.refund(intent_id, amount_minor=None, idempotency_key="refund-1")


async def test_unknown_intent_is_rejected(provider: FakePaymentProvider) -> None:
    with pytest.raises(PaymentRejected):
        await provider.retrieve("pi_fake_missing")
    with pytest.raises(PaymentRejected):
        await provider.confirm(
            "pi_fake_missing", payment_method="pm_card_visa", idempotency_key="confirm-1"
        )


# --- webhooks -------------------------------------------------------------------------


def event(event_type: str = "payment_intent.succeeded") -> bytes:
    body = {
        "id": "evt_fake_1",
        "type": event_type,
        "data": {
            "object": {
                "id": "pi_fake_1",
                "object": "payment_intent",
                "amount": 129_900,
                "amount_received": 129_900,
                "metadata": {"order_id": "ord_1", "order_number": "F-1001"},
            }
        },
    }
    return json.dumps(body).encode()


def test_signed_webhook_is_verified_and_mapped(provider: FakePaymentProvider) -> None:
    payload = event()

    result = provider.verify_webhook(payload, sign_payload(payload, SECRET))

    assert (result.id, result.type, result.raw_type) == (
        "evt_fake_1",
        PaymentEventType.succeeded,
        "payment_intent.succeeded",
    )
    assert (result.intent_id, result.order_id, result.amount_minor) == (
        "pi_fake_1",
        "ord_1",
        129_900,
    )


def test_unknown_event_type_is_other(provider: FakePaymentProvider) -> None:
    payload = event("payment_intent.created")

    assert provider.verify_webhook(payload, sign_payload(payload, SECRET)).type == (
        PaymentEventType.other
    )


GOOD = event()


@pytest.mark.parametrize(
    ("payload", "signature"),
    [
        (GOOD.replace(b"ord_1", b"ord_2"), sign_payload(GOOD, SECRET)),
        (GOOD, sign_payload(GOOD, "whsec_someone_else")),
        (GOOD, sign_payload(GOOD, SECRET, int(time.time()) - 301)),
        (GOOD, None),
        (GOOD, ""),
        (GOOD, "v1=abc"),
        (b"not json", sign_payload(b"not json", SECRET)),
        (b'{"id": "evt_1"}', sign_payload(b'{"id": "evt_1"}', SECRET)),
    ],
    ids=[
        "tampered",
        "wrong-secret",
        "stale",
        "missing",
        "empty",
        "no-timestamp",
        "not-json",
        "not-an-event",
    ],
)
def test_bad_webhook_is_invalid(
    provider: FakePaymentProvider, payload: bytes, signature: str | None
) -> None:
    with pytest.raises(InvalidWebhook):
        provider.verify_webhook(payload, signature)


# --- factory --------------------------------------------------------------------------


def test_factory_defaults_to_the_fake_with_the_dev_secret() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        payment_provider=PaymentProviderName.fake,
        stripe_webhook_secret=SecretStr(""),
    )

    provider = create_payment_provider(settings)

    assert isinstance(provider, FakePaymentProvider)
    assert provider.name == "fake"
    payload = event()
    assert provider.verify_webhook(payload, sign_payload(payload, DEV_WEBHOOK_SECRET)).id == (
        "evt_fake_1"
    )


def test_factory_gives_the_fake_the_configured_webhook_secret() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        payment_provider=PaymentProviderName.fake,
        stripe_webhook_secret=SecretStr(SECRET),
    )
    provider = create_payment_provider(settings)
    payload = event()

    assert provider.verify_webhook(payload, sign_payload(payload, SECRET)).id == "evt_fake_1"
    with pytest.raises(InvalidWebhook):
        provider.verify_webhook(payload, sign_payload(payload, DEV_WEBHOOK_SECRET))


async def test_processors_sharing_a_ledger_file_append_every_charge_to_it(tmp_path: Path) -> None:
    ledger = tmp_path / "payments.jsonl"
    first, second = FakePaymentProvider(ledger=ledger), FakePaymentProvider(ledger=ledger)
    paid = []
    for n, provider in enumerate((first, second, first)):
        intent = await provider.create_intent(
            PaymentRequest(
                order_id=f"order-{n}",
                order_number=f"FJ-{n}",
                amount_minor=1_000 + n,
                currency="USD",
                capture=CaptureMode.automatic,
                idempotency_key=f"create-{n}",
            )
        )
        paid.append(
            await provider.confirm(
                intent.id, payment_method="pm_card_visa", idempotency_key=f"confirm-{n}"
            )
        )
    # A replayed confirm is not a second charge.
    await first.confirm(paid[0].id, payment_method="pm_card_visa", idempotency_key="confirm-0")

    assert read_ledger(ledger) == [
        Charge(intent.id, intent.amount_minor, "USD", ChargeKind.capture) for intent in paid
    ]
