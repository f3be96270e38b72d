"""The payment port: what the order domain needs from a payment processor.

Only the minimum leaves the store (P3): an amount, a currency and our own order
reference. No card data ever reaches the API (P7): the client confirms with what the
processor's own form gave it, a payment-method token (Stripe) or opaque card data
(Authorize.Net's Accept.js).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from app.adapters.disclosure import Processor


class CaptureMode(StrEnum):
    automatic = "automatic"  # charge at once
    manual = "manual"  # authorize now, capture later (when staff ship)


class IntentStatus(StrEnum):
    requires_payment_method = "requires_payment_method"
    requires_confirmation = "requires_confirmation"
    requires_action = "requires_action"
    processing = "processing"
    requires_capture = "requires_capture"  # authorized, not yet captured
    succeeded = "succeeded"
    canceled = "canceled"


@dataclass(frozen=True)
class OpaqueCard:
    """A card tokenized in the buyer's browser by the processor's script (Authorize.Net
    Accept.js / Accept Mobile): usable once, for a few minutes, by the store's account."""

    descriptor: str  # e.g. COMMON.ACCEPT.INAPP.PAYMENT
    value: str

    def __repr__(self) -> str:
        return f"OpaqueCard(descriptor={self.descriptor!r}, value=...)"


# What the buyer's browser obtained from the processor: Stripe's `pm_...` token, or
# Authorize.Net's opaque data. Each adapter refuses the other's shape.
PaymentMethod = str | OpaqueCard


# An intent id that names nothing at the processor yet: a processor without payment
# intents (Authorize.Net makes a transaction only when the card is given) answers
# `create_intent` with one, and `confirm` replaces it with the transaction's id.
PROVISIONAL_PREFIX = "provisional:"


def is_provisional(intent_id: str | None) -> bool:
    return intent_id is not None and intent_id.startswith(PROVISIONAL_PREFIX)


def payment_method_fingerprint(method: PaymentMethod) -> str:
    """A short stable digest of a payment method, for idempotency keys (never the value)."""
    raw = method if isinstance(method, str) else f"{method.descriptor}:{method.value}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class PaymentRequest:
    """What a processor is told about an order: nothing personal."""

    order_id: str
    order_number: str
    amount_minor: int
    currency: str
    capture: CaptureMode
    idempotency_key: str


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    status: IntentStatus
    amount_minor: int
    currency: str
    amount_received_minor: int = 0
    amount_capturable_minor: int = 0
    # With `requires_action` (3-D Secure/SCA): what the buyer's browser or app needs to
    # finish the payment with the processor. Handed to the client, never stored.
    client_secret: str | None = None
    next_action: str | None = None  # e.g. use_stripe_sdk, redirect_to_url
    redirect_url: str | None = None
    # The processor's fraud filters hold the payment for the merchant's review (status
    # `processing`): nothing is final until the review is decided.
    held_for_review: bool = False


@dataclass(frozen=True)
class Refund:
    id: str
    intent_id: str
    amount_minor: int
    status: str


class PaymentEventType(StrEnum):
    succeeded = "payment.succeeded"
    authorized = "payment.authorized"
    failed = "payment.failed"
    canceled = "payment.canceled"
    refunded = "payment.refunded"
    dispute_opened = "payment.dispute_opened"
    dispute_closed = "payment.dispute_closed"
    held_for_review = "payment.held_for_review"
    # The merchant approved a held payment: the processor's transaction says what it is now.
    review_approved = "payment.review_approved"
    other = "other"


@dataclass(frozen=True)
class PaymentEvent:
    """A verified webhook event, translated out of the vendor's vocabulary."""

    id: str
    type: PaymentEventType
    intent_id: str | None
    order_id: str | None
    amount_minor: int | None = None
    currency: str | None = None  # upper-case ISO 4217, when the event carries one
    # The object's own status where it matters: a dispute's (won, lost, ...), or
    # `refunded` / `partially_refunded` for a charge's refund.
    status: str | None = None
    raw_type: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class PaymentError(Exception):
    """Base of every payment port error."""


class PaymentDeclined(PaymentError):
    """The processor refused the payment method (logical: the buyer may retry)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class PaymentUnavailable(PaymentError):
    """Timeout, connection failure or 5xx: the outcome is unknown, retry with the same key."""


class PaymentRejected(PaymentError):
    """The processor refused the request itself (4xx other than a decline)."""


class InvalidWebhook(PaymentError):
    """Bad signature, stale timestamp or unparsable payload."""


class PaymentProvider(Protocol):
    name: str
    disclosure: Processor  # who receives what (P3): the processors register
    accepts: type[str] | type[OpaqueCard]  # the payment-method shape its processor takes

    async def create_intent(self, request: PaymentRequest) -> PaymentIntent: ...

    async def confirm(
        self, intent_id: str, *, payment_method: PaymentMethod, idempotency_key: str
    ) -> PaymentIntent: ...

    async def retrieve(self, intent_id: str) -> PaymentIntent: ...

    async def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent: ...

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent: ...

    async def refund(
        self, intent_id: str, *, amount_minor: int | None, idempotency_key: str
    ) -> Refund: ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent: ...

    async def close(self) -> None: ...
