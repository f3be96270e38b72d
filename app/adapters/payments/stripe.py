"""The payment port on Stripe, through the official SDK's async client.

Each instance owns its own `StripeClient`: nothing is read from or written to the
SDK's module globals. Stripe is told the amount, the currency and our order
reference, nothing else (P3).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import stripe

from app.adapters.payments.base import (
    IntentStatus,
    InvalidWebhook,
    PaymentDeclined,
    PaymentError,
    PaymentEvent,
    PaymentIntent,
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


class StripePaymentProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 10.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._http = stripe.HTTPXClient(timeout=timeout)
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
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> PaymentIntent:
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
