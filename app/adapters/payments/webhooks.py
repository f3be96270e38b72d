"""Stripe-style webhook signatures and event translation, shared by the adapters.

The scheme is Stripe's: a `Stripe-Signature` header `t=<unix>,v1=<hex>` where
v1 = HMAC-SHA256(secret, "<t>.<raw body>"). The raw request bytes are signed,
so they must be verified as received, never re-serialised.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from app.adapters.payments.base import InvalidWebhook, PaymentEvent, PaymentEventType

DEFAULT_TOLERANCE_SECONDS = 300

EVENT_TYPES: dict[str, PaymentEventType] = {
    "payment_intent.succeeded": PaymentEventType.succeeded,
    "payment_intent.amount_capturable_updated": PaymentEventType.authorized,
    "payment_intent.payment_failed": PaymentEventType.failed,
    "payment_intent.canceled": PaymentEventType.canceled,
    "charge.refunded": PaymentEventType.refunded,
    "charge.dispute.created": PaymentEventType.dispute_opened,
    "charge.dispute.closed": PaymentEventType.dispute_closed,
}

# Which amount of the event's object matters for each event type.
_AMOUNT_FIELDS: dict[PaymentEventType, str] = {
    PaymentEventType.succeeded: "amount_received",
    PaymentEventType.authorized: "amount_capturable",
    PaymentEventType.failed: "amount",
    PaymentEventType.canceled: "amount",
    # A charge's `amount_refunded` is the running total, so a late event cannot undo a newer one.
    PaymentEventType.refunded: "amount_refunded",
}


def _mac(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload` (for tests and local tooling)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_mac(payload, secret, t)}"


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise InvalidWebhook unless `header` signs `payload` with `secret`, recently."""
    if not header:
        raise InvalidWebhook("missing signature header")
    if not secret:
        raise InvalidWebhook("no webhook secret configured")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidWebhook("malformed signature header") from None
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidWebhook("malformed signature header")
    expected = _mac(payload, secret, timestamp)
    # Check every candidate so timing does not reveal which one matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise InvalidWebhook("signature mismatch")
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise InvalidWebhook("signature timestamp outside the tolerance window")


def parse_json_payload(payload: bytes) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidWebhook("payload is not JSON") from e
    if not isinstance(data, dict):
        raise InvalidWebhook("payload is not an event object")
    return data


def event_from_dict(event: Mapping[str, Any]) -> PaymentEvent:
    """Translate a Stripe-shaped event (`id`, `type`, `data.object`) into a PaymentEvent."""
    event_id = event.get("id")
    raw_type = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(event_id, str) or not isinstance(raw_type, str):
        raise InvalidWebhook("event has no id or type")
    if not isinstance(obj, Mapping):
        raise InvalidWebhook("event has no data.object")

    event_type = EVENT_TYPES.get(raw_type, PaymentEventType.other)
    intent_id: Any
    if obj.get("object") == "payment_intent" or raw_type.startswith("payment_intent."):
        intent_id = obj.get("id")
    else:
        intent_id = obj.get("payment_intent")
    raw_metadata = obj.get("metadata")
    metadata = (
        {str(k): v for k, v in raw_metadata.items() if isinstance(v, str)}
        if isinstance(raw_metadata, Mapping)
        else {}
    )
    amount_field = _AMOUNT_FIELDS.get(event_type, "amount")
    amount = obj.get(amount_field)
    currency = obj.get("currency")
    status = obj.get("status")
    if event_type == PaymentEventType.refunded:
        status = "refunded" if obj.get("refunded") is True else "partially_refunded"
    return PaymentEvent(
        id=event_id,
        type=event_type,
        intent_id=intent_id if isinstance(intent_id, str) else None,
        order_id=metadata.get("order_id"),
        amount_minor=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        currency=currency.upper() if isinstance(currency, str) else None,
        status=status if isinstance(status, str) else None,
        raw_type=raw_type,
        metadata=metadata,
    )
