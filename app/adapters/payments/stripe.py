"""The payment port on Stripe, through the official SDK's async client.

Each instance owns its own `StripeClient`: nothing is read from or written to the
SDK's module globals. Stripe is told the amount, the currency and our order
reference, nothing else (P3): `DISCLOSURE` lists every field and header it receives.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

import stripe

from app.adapters.disclosure import (
    CONFIGURATION,
    FIXED,
    Channel,
    DataKind,
    DisclosedField,
    Processor,
    ProcessorRole,
    Wire,
    argument,
    dto_field,
)
from app.adapters.payments.base import (
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
    Refund,
)
from app.adapters.payments.webhooks import DEFAULT_TOLERANCE_SECONDS, event_from_dict

DEFAULT_API_BASE = "https://api.stripe.com"
# The client's own default is no retry. Every POST carries our idempotency key, so
# the SDK's retries (on connection errors, timeouts, 409 and 5xx) cannot charge twice.
MAX_NETWORK_RETRIES = 2

R = TypeVar("R")

_INTENT_CALLS = (
    PaymentProvider.confirm,
    PaymentProvider.retrieve,
    PaymentProvider.capture,
    PaymentProvider.cancel,
    PaymentProvider.refund,
)
_KEYED_CALLS = (
    PaymentProvider.confirm,
    PaymentProvider.capture,
    PaymentProvider.cancel,
    PaymentProvider.refund,
)


def _form(name: str) -> Wire:
    return Wire(Channel.form, name)


def _header(name: str) -> Wire:
    return Wire(Channel.header, name)


DISCLOSURE = Processor(
    key="stripe",
    name="Stripe",
    role=ProcessorRole.payment_processor,
    description=(
        "Authorizes and captures card payments and refunds them. The buyer types the card "
        "into Stripe's own form, so the card goes straight to Stripe and never through "
        "Facet (P7); Facet only tells Stripe what to charge and which order it is for."
    ),
    third_party=True,
    at_erasure=(
        "Nothing personal is sent to Stripe (amounts, currency, our order reference and the"
        " card token the buyer's browser made), so there is nothing of yours to delete "
        "there."
    ),
    privacy_policy="https://stripe.com/privacy",
    location="United States (Stripe, Inc.), and where its privacy policy says it transfers data",
    port=PaymentProvider,
    receives=(
        DisclosedField(
            "amount",
            DataKind.order,
            "How much to charge, in minor units.",
            (dto_field(PaymentRequest, "amount_minor"),),
            (_form("amount"),),
        ),
        DisclosedField(
            "refund amount",
            DataKind.order,
            "How much of a payment to give back (absent for a full refund).",
            (argument(PaymentProvider.refund, "amount_minor"),),
            (_form("amount"),),
        ),
        DisclosedField(
            "currency",
            DataKind.order,
            "The currency of the amount.",
            (dto_field(PaymentRequest, "currency"),),
            (_form("currency"),),
        ),
        DisclosedField(
            "capture method",
            DataKind.technical,
            "Charge at once, or hold the amount until the order ships.",
            (dto_field(PaymentRequest, "capture"),),
            (_form("capture_method"),),
        ),
        DisclosedField(
            "payment method types",
            DataKind.technical,
            "Accept cards only.",
            (FIXED,),
            (_form("payment_method_types[]"),),
        ),
        DisclosedField(
            "order id",
            DataKind.reference,
            "Facet's id of the order, so Stripe's notifications say which order they concern.",
            (dto_field(PaymentRequest, "order_id"),),
            (_form("metadata[order_id]"),),
        ),
        DisclosedField(
            "order number",
            DataKind.reference,
            "The order number, so staff can find a payment in Stripe's dashboard.",
            (dto_field(PaymentRequest, "order_number"),),
            (_form("metadata[order_number]"),),
        ),
        DisclosedField(
            "payment method",
            DataKind.reference,
            "Stripe's own token for the card the buyer entered in Stripe's form.",
            (argument(PaymentProvider.confirm, "payment_method"),),
            (_form("payment_method"),),
        ),
        DisclosedField(
            "payment id",
            DataKind.reference,
            "Stripe's own id of the payment, to confirm, capture, cancel or refund it.",
            tuple(argument(call, "intent_id") for call in _INTENT_CALLS),
            (Wire(Channel.url, "payment_intents/{id}"), _form("payment_intent")),
        ),
        DisclosedField(
            "idempotency key",
            DataKind.technical,
            "Derived from the order's id: a retried request cannot charge twice.",
            (
                dto_field(PaymentRequest, "idempotency_key"),
                *(argument(call, "idempotency_key") for call in _KEYED_CALLS),
            ),
            (_header("Idempotency-Key"),),
        ),
        DisclosedField(
            "API key",
            DataKind.store,
            "The store's secret key: which Stripe account the payment belongs to.",
            (CONFIGURATION,),
            (_header("Authorization"),),
        ),
        DisclosedField(
            "API version",
            DataKind.technical,
            "The version of Stripe's API the answers must follow.",
            (FIXED,),
            (_header("Stripe-Version"),),
        ),
        DisclosedField(
            "client library",
            DataKind.technical,
            "The Stripe library's name and version and the Python version (no telemetry, "
            "machine id or operating system).",
            (FIXED,),
            (_header("User-Agent"), _header("X-Stripe-Client-User-Agent")),
        ),
    ),
    withheld={
        argument(PaymentProvider.verify_webhook, "payload"): "an inbound event, checked here",
        argument(PaymentProvider.verify_webhook, "signature"): "an inbound event, checked here",
    },
)

# The Stripe library adds, unless told otherwise through a module global, the timings of
# earlier calls (X-Stripe-Client-Telemetry), a machine id, the server's operating system
# and kernel, and tags read from the environment. Stripe needs none of them: they are
# dropped from every request, and the register declares what is left.
_DROPPED_HEADERS = frozenset({"x-stripe-client-telemetry"})
_CLIENT_AGENT_KEYS = ("bindings_version", "lang", "lang_version", "httplib")


def minimal_headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS:
            continue
        if lowered == "user-agent":
            value = " ".join(value.split()[:2])  # Stripe/v1 PythonBindings/<version>
        elif lowered == "x-stripe-client-user-agent":
            value = _client_agent(value)
        kept[name] = value
    return kept


def _client_agent(value: str) -> str:
    try:
        agent = json.loads(value)
    except ValueError:
        agent = {}
    if not isinstance(agent, dict):
        agent = {}
    return json.dumps({key: agent[key] for key in _CLIENT_AGENT_KEYS if key in agent})


class _MinimalHeadersClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending only the headers the register declares."""

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> Any:
        return await super().request_async(method, url, minimal_headers(headers), post_data)

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> Any:
        return await super().request_stream_async(method, url, minimal_headers(headers), post_data)


class StripePaymentProvider:
    name = "stripe"
    disclosure = DISCLOSURE
    accepts = str

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = _MinimalHeadersClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )

    async def create_intent(self, request: PaymentRequest) -> PaymentIntent:
        params: Any = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "capture_method": request.capture.value,
            "payment_method_types": ["card"],
            "metadata": {"order_id": request.order_id, "order_number": request.order_number},
        }
        intent = await _call(
            self._client.v1.payment_intents.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        )
        return _to_intent(intent)

    async def confirm(
        self, intent_id: str, *, payment_method: PaymentMethod, idempotency_key: str
    ) -> PaymentIntent:
        if not isinstance(payment_method, str):
            raise PaymentRejected("Stripe takes a payment-method token, not opaque card data")
        intent = await _call(
            self._client.v1.payment_intents.confirm_async(
                intent_id, {"payment_method": payment_method}, {"idempotency_key": idempotency_key}
            )
        )
        return _to_intent(intent)

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        intent = await _call(self._client.v1.payment_intents.retrieve_async(intent_id))
        return _to_intent(intent)

    async def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        intent = await _call(
            self._client.v1.payment_intents.capture_async(
                intent_id, {}, {"idempotency_key": idempotency_key}
            )
        )
        return _to_intent(intent)

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        intent = await _call(
            self._client.v1.payment_intents.cancel_async(
                intent_id, {}, {"idempotency_key": idempotency_key}
            )
        )
        return _to_intent(intent)

    async def refund(
        self, intent_id: str, *, amount_minor: int | None, idempotency_key: str
    ) -> Refund:
        params: Any = {"payment_intent": intent_id}
        if amount_minor is not None:
            params["amount"] = amount_minor
        refund = await _call(
            self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})
        )
        payment_intent = refund.payment_intent
        return Refund(
            id=refund.id,
            intent_id=payment_intent if isinstance(payment_intent, str) else intent_id,
            amount_minor=refund.amount,
            status=str(refund.status),
        )

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not signature:
            raise InvalidWebhook("missing Stripe-Signature header")
        try:
            event = self._client.construct_event(
                payload, signature, self._webhook_secret, tolerance=DEFAULT_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as e:
            raise InvalidWebhook("invalid Stripe signature") from e
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, not an event
            raise InvalidWebhook("payload is not a Stripe event") from e
        except (AttributeError, TypeError) as e:  # signed JSON that is not an object
            raise InvalidWebhook("payload is not a Stripe event") from e
        return event_from_dict(event.to_dict())

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


async def _call(call: Awaitable[R]) -> R:
    try:
        return await call
    except stripe.StripeError as e:
        raise _port_error(e) from e


def _port_error(e: stripe.StripeError) -> PaymentError:
    match e:
        case stripe.CardError():
            return PaymentDeclined(e.user_message or "The card was declined.", code=e.code)
        case stripe.APIConnectionError() | stripe.APIError() | stripe.RateLimitError():
            # The outcome is unknown: the caller retries with the same idempotency key.
            return PaymentUnavailable(f"Stripe is unavailable ({type(e).__name__})")
        case _:
            return PaymentRejected(
                f"Stripe refused the request ({type(e).__name__}, code={e.code}, "
                f"status={e.http_status})"
            )


def _status(value: str | None) -> IntentStatus:
    try:
        return IntentStatus(value or "")
    except ValueError:
        # A status this code does not know is not final: treat it as still in progress.
        return IntentStatus.processing


def _to_intent(intent: stripe.PaymentIntent) -> PaymentIntent:
    status = _status(intent.status)
    next_action = getattr(intent, "next_action", None)
    action_type = getattr(next_action, "type", None) if next_action else None
    redirect = getattr(next_action, "redirect_to_url", None) if next_action else None
    return PaymentIntent(
        id=intent.id,
        status=status,
        amount_minor=intent.amount,
        currency=intent.currency.upper(),
        amount_received_minor=getattr(intent, "amount_received", None) or 0,
        amount_capturable_minor=getattr(intent, "amount_capturable", None) or 0,
        # Only while the buyer must act: the secret lets their browser finish with Stripe.
        client_secret=getattr(intent, "client_secret", None)
        if status == IntentStatus.requires_action
        else None,
        next_action=action_type if isinstance(action_type, str) else None,
        redirect_url=getattr(redirect, "url", None) if redirect else None,
    )
