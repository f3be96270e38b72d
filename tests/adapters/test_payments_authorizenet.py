"""The Authorize.Net adapter, through httpx, against a loopback fake of the Authorize.Net API."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from app.adapters.payments import create_payment_provider
from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import (
    CaptureMode,
    IntentStatus,
    InvalidWebhook,
    OpaqueCard,
    PaymentDeclined,
    PaymentEventType,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
    is_provisional,
)
from app.core.settings import AUTHORIZENET_SANDBOX_API, PaymentProviderName, Settings
from tests.adapters.fake_authorizenet import ACCEPT_DESCRIPTOR, Delay, Fail, FakeAuthorizeNet, serve

LOGIN_ID = "5KP3u95bQpv"
TRANSACTION_KEY = "346HZ32z3fP4hTG2"
SIGNATURE_KEY = (
    "56E529FC8AD4E6A9F0B6D7C8E1F2A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4"
    "C5D6E7F8091A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F708192A3B4"
)
CLIENT_TIMEOUT = 0.5
SLOW_RESPONSE = 1.0  # longer than the client timeout


@pytest.fixture(scope="module")
def anet_server() -> Iterator[tuple[FakeAuthorizeNet, str]]:
    fake = FakeAuthorizeNet(LOGIN_ID, TRANSACTION_KEY, SIGNATURE_KEY)
    with serve(fake.app) as base_url:
        yield fake, f"{base_url}/xml/v1/request.api"


@pytest.fixture
def fake_anet(anet_server: tuple[FakeAuthorizeNet, str]) -> FakeAuthorizeNet:
    fake, _ = anet_server
    fake.reset()
    return fake


def adapter(endpoint: str, **overrides: str) -> AuthorizeNetPaymentProvider:
    values = {
        "api_login_id": LOGIN_ID,
        "transaction_key": TRANSACTION_KEY,
        "signature_key": SIGNATURE_KEY,
        **overrides,
    }
    return AuthorizeNetPaymentProvider(**values, api_base=endpoint, timeout=CLIENT_TIMEOUT)


@pytest.fixture
async def provider(
    anet_server: tuple[FakeAuthorizeNet, str], fake_anet: FakeAuthorizeNet
) -> AsyncIterator[AuthorizeNetPaymentProvider]:
    _, endpoint = anet_server
    provider = adapter(endpoint)
    yield provider
    await provider.close()


def card(outcome: str = "approve") -> OpaqueCard:
    """A fresh Accept.js token (each works once) whose value tells the fake what to do."""
    return OpaqueCard(ACCEPT_DESCRIPTOR, f"{outcome}-{uuid.uuid4().hex}")


def payment_request(
    *, capture: CaptureMode = CaptureMode.automatic, number: str = "F-1001"
) -> PaymentRequest:
    return PaymentRequest(
        order_id=str(uuid.uuid4()),
        order_number=number,
        amount_minor=129_950,
        currency="USD",
        capture=capture,
        idempotency_key="order-1-intent",
    )


async def paid(
    provider: AuthorizeNetPaymentProvider, capture: CaptureMode = CaptureMode.automatic
) -> str:
    pending = await provider.create_intent(payment_request(capture=capture))
    intent = await provider.confirm(pending.id, payment_method=card(), idempotency_key="c-1")
    return intent.id


# --- paying ---------------------------------------------------------------------------


async def test_create_intent_calls_nobody_and_answers_a_provisional_id(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    intent = await provider.create_intent(payment_request())

    assert is_provisional(intent.id)
    assert intent.status == IntentStatus.requires_payment_method
    assert (intent.amount_minor, intent.currency) == (129_950, "USD")
    assert fake_anet.requests == []


async def test_approved_charge_sends_only_amount_currency_invoice_and_opaque_data(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())
    token = card()

    intent = await provider.confirm(pending.id, payment_method=token, idempotency_key="c-1")

    assert intent.status == IntentStatus.succeeded
    assert (intent.amount_received_minor, intent.currency) == (129_950, "USD")
    assert fake_anet.entries(intent.id) == [("charge", 129_950)]
    [charge] = fake_anet.requests_for("authCaptureTransaction")
    assert charge.headers["content-type"] == "application/json"
    assert charge.body == {
        "merchantAuthentication": {"name": LOGIN_ID, "transactionKey": TRANSACTION_KEY},
        "refId": "F-1001",
        "transactionRequest": {
            "transactionType": "authCaptureTransaction",
            "amount": "1299.50",
            "currencyCode": "USD",
            "payment": {
                "opaqueData": {"dataDescriptor": ACCEPT_DESCRIPTOR, "dataValue": token.value}
            },
            "order": {"invoiceNumber": "F-1001"},
        },
    }


async def test_declined_card_is_a_decline_and_charges_nothing(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())

    with pytest.raises(PaymentDeclined) as declined:
        await provider.confirm(pending.id, payment_method=card("decline"), idempotency_key="c")

    assert declined.value.code == "2"
    assert fake_anet.ledger == []
    # The buyer tries another card: the declined transaction is not taken for a payment.
    intent = await provider.confirm(pending.id, payment_method=card(), idempotency_key="c-2")
    assert intent.status == IntentStatus.succeeded
    assert [e.kind for e in fake_anet.ledger] == ["charge"]


async def test_processing_error_is_a_rejection(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())

    with pytest.raises(PaymentRejected):
        await provider.confirm(pending.id, payment_method=card("error"), idempotency_key="c")
    assert fake_anet.ledger == []


async def test_timeout_then_retry_charges_once(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())
    token = card()
    fake_anet.script("authCaptureTransaction", Delay(SLOW_RESPONSE))

    with pytest.raises(PaymentUnavailable):
        await provider.confirm(pending.id, payment_method=token, idempotency_key="c-1")
    # The charge went through though its answer was lost; the retry finds it.
    intent = await provider.confirm(pending.id, payment_method=token, idempotency_key="c-1")

    assert intent.status == IntentStatus.succeeded
    assert intent.amount_received_minor == 129_950
    assert fake_anet.ledger == [fake_anet.ledger[0]]
    assert fake_anet.entries(intent.id) == [("charge", 129_950)]
    assert len(fake_anet.requests_for("authCaptureTransaction")) == 1


async def test_a_lost_answer_is_found_by_retrieve_too(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())
    fake_anet.script("authCaptureTransaction", Delay(SLOW_RESPONSE))
    with pytest.raises(PaymentUnavailable):
        await provider.confirm(pending.id, payment_method=card(), idempotency_key="c-1")

    intent = await provider.retrieve(pending.id)

    assert not is_provisional(intent.id)
    assert intent.status == IntentStatus.succeeded


async def test_server_error_is_unavailable_and_charges_nothing(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())
    fake_anet.script("authCaptureTransaction", Fail(503))

    with pytest.raises(PaymentUnavailable):
        await provider.confirm(pending.id, payment_method=card(), idempotency_key="c-1")
    assert fake_anet.ledger == []


async def test_authorize_then_capture(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request(capture=CaptureMode.manual))
    held = await provider.confirm(pending.id, payment_method=card(), idempotency_key="c-1")
    assert held.status == IntentStatus.requires_capture
    assert held.amount_capturable_minor == 129_950

    captured = await provider.capture(held.id, idempotency_key="k")
    again = await provider.capture(held.id, idempotency_key="k")  # a retry

    assert captured.status == again.status == IntentStatus.succeeded
    assert captured.amount_received_minor == 129_950
    assert fake_anet.entries(held.id) == [("authorization", 129_950), ("capture", 129_950)]
    [capture] = fake_anet.requests_for("priorAuthCaptureTransaction")
    assert capture.body["transactionRequest"] == {
        "transactionType": "priorAuthCaptureTransaction",
        "refTransId": held.id,
    }
    assert fake_anet.requests_for("authOnlyTransaction")


async def test_void_releases_an_authorization(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    trans_id = await paid(provider, CaptureMode.manual)

    cancelled = await provider.cancel(trans_id, idempotency_key="v")
    again = await provider.cancel(trans_id, idempotency_key="v")

    assert cancelled.status == again.status == IntentStatus.canceled
    assert fake_anet.entries(trans_id) == [("authorization", 129_950), ("void", 129_950)]
    assert len(fake_anet.requests_for("voidTransaction")) == 1


async def test_cancel_before_any_transaction_calls_for_nothing_to_void(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())

    cancelled = await provider.cancel(pending.id, idempotency_key="v")

    assert cancelled.status == IntentStatus.canceled
    assert fake_anet.requests_for("voidTransaction") == []


async def test_refund_of_a_settled_charge_names_the_last_four_digits(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    trans_id = await paid(provider)
    fake_anet.settle(trans_id)

    refund = await provider.refund(trans_id, amount_minor=None, idempotency_key="r-1")
    retried = await provider.refund(trans_id, amount_minor=None, idempotency_key="r-1")

    assert (refund.intent_id, refund.amount_minor) == (trans_id, 129_950)
    assert retried.id == refund.id
    assert fake_anet.entries(trans_id) == [("charge", 129_950), ("refund", 129_950)]
    [sent] = fake_anet.requests_for("refundTransaction")
    assert sent.body["transactionRequest"] == {
        "transactionType": "refundTransaction",
        "amount": "1299.50",
        "payment": {"creditCard": {"cardNumber": "1111", "expirationDate": "XXXX"}},
        "refTransId": trans_id,
        "order": {"invoiceNumber": "F-1001"},
    }


async def test_refund_before_settlement_is_a_void(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    trans_id = await paid(provider)

    refund = await provider.refund(trans_id, amount_minor=None, idempotency_key="r-1")

    assert refund.amount_minor == 129_950
    assert fake_anet.entries(trans_id) == [("charge", 129_950), ("void", 129_950)]
    assert fake_anet.requests_for("refundTransaction") == []


async def test_held_for_review_is_neither_paid_nor_failed(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())

    intent = await provider.confirm(pending.id, payment_method=card("review"), idempotency_key="c")

    assert intent.status == IntentStatus.processing
    assert intent.held_for_review
    assert fake_anet.ledger == []
    looked = await provider.retrieve(intent.id)
    assert (looked.status, looked.held_for_review) == (IntentStatus.processing, True)
    fake_anet.approve_review(intent.id)
    assert (await provider.retrieve(intent.id)).status == IntentStatus.succeeded


async def test_wrong_credentials_are_a_rejection(
    anet_server: tuple[FakeAuthorizeNet, str], fake_anet: FakeAuthorizeNet
) -> None:
    _, endpoint = anet_server
    wrong = adapter(endpoint, transaction_key="not-the-key")
    try:
        pending = await wrong.create_intent(payment_request())
        with pytest.raises(PaymentRejected):
            await wrong.confirm(pending.id, payment_method=card(), idempotency_key="c")
    finally:
        await wrong.close()
    assert fake_anet.ledger == []


async def test_a_stripe_token_is_refused_before_any_call(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())

    with pytest.raises(PaymentRejected):
        await provider.confirm(pending.id, payment_method="pm_card_visa", idempotency_key="c")
    assert fake_anet.requests == []


async def test_another_currency_than_the_accounts_is_refused(
    provider: AuthorizeNetPaymentProvider,
) -> None:
    request = payment_request()
    with pytest.raises(PaymentRejected):
        await provider.create_intent(
            PaymentRequest(request.order_id, request.order_number, 100, "EUR", request.capture, "k")
        )


# --- webhooks ---------------------------------------------------------------------------


async def test_signed_notification_is_translated(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    trans_id = await paid(provider)
    body, signature = fake_anet.notification("net.authorize.payment.authcapture.created", trans_id)

    event = provider.verify_webhook(body, signature)

    assert event.type == PaymentEventType.succeeded
    assert (event.intent_id, event.amount_minor, event.currency) == (trans_id, 129_950, "USD")
    assert event.id == json.loads(body)["notificationId"]
    assert event.metadata == {"order_number": "F-1001"}


async def test_signature_is_checked_over_the_raw_body(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    trans_id = await paid(provider)
    body, signature = fake_anet.notification("net.authorize.payment.authcapture.created", trans_id)
    lower_case = "sha512=" + signature.removeprefix("sha512=").lower()
    assert provider.verify_webhook(body, lower_case).intent_id == trans_id

    for tampered, header in [
        (body.replace(b"129", b"1"), signature),
        (body, None),
        (body, signature.replace("sha512=", "sha256=")),
        (body, "sha512=" + "0" * 128),
    ]:
        with pytest.raises(InvalidWebhook):
            provider.verify_webhook(tampered, header)


async def test_held_and_review_events(
    provider: AuthorizeNetPaymentProvider, fake_anet: FakeAuthorizeNet
) -> None:
    pending = await provider.create_intent(payment_request())
    held = await provider.confirm(pending.id, payment_method=card("review"), idempotency_key="c")

    created = provider.verify_webhook(
        *fake_anet.notification("net.authorize.payment.authcapture.created", held.id)
    )
    approved = provider.verify_webhook(
        *fake_anet.notification("net.authorize.payment.fraud.approved", held.id)
    )
    declined = provider.verify_webhook(
        *fake_anet.notification("net.authorize.payment.fraud.declined", held.id)
    )

    assert created.type == PaymentEventType.held_for_review
    assert approved.type == PaymentEventType.review_approved
    assert (declined.type, declined.status) == (PaymentEventType.failed, "review_declined")


# --- settings ---------------------------------------------------------------------------


def test_settings_select_the_adapter_with_the_sandbox_by_default() -> None:
    settings = Settings(
        env="test",
        payment_provider=PaymentProviderName.authorizenet,
        authorizenet_api_login_id=SecretStr(LOGIN_ID),
        authorizenet_transaction_key=SecretStr(TRANSACTION_KEY),
        authorizenet_signature_key=SecretStr(SIGNATURE_KEY),
    )
    assert settings.authorizenet_endpoint == AUTHORIZENET_SANDBOX_API
    provider = create_payment_provider(settings)
    assert isinstance(provider, AuthorizeNetPaymentProvider)


def test_settings_without_the_keys_refuse_to_build_the_adapter() -> None:
    settings = Settings(env="test", payment_provider=PaymentProviderName.authorizenet)
    with pytest.raises(ValueError, match="FACET_AUTHORIZENET_API_LOGIN_ID"):
        create_payment_provider(settings)
