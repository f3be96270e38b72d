"""An in-memory payment processor: the default for development and tests.

It understands Stripe's test payment-method ids, so a client written against
Stripe's test mode works unchanged. Nothing leaves the process.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TypeVar, cast

from app.adapters.disclosure import Processor, ProcessorRole
from app.adapters.payments.base import (
    CaptureMode,
    IntentStatus,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
    Refund,
)
from app.adapters.payments.webhooks import event_from_dict, parse_json_payload, verify_signature

DEV_WEBHOOK_SECRET = "whsec_facet_dev_fake_provider"  # noqa: S105 - only signs local test events

_CONFIRMABLE = {IntentStatus.requires_payment_method, IntentStatus.requires_confirmation}
_CANCELABLE = {
    IntentStatus.requires_payment_method,
    IntentStatus.requires_confirmation,
    IntentStatus.requires_action,
    IntentStatus.requires_capture,
}

T = TypeVar("T", PaymentIntent, Refund)


class ChargeKind(StrEnum):
    authorization = "authorization"
    capture = "capture"
    void = "void"
    refund = "refund"


@dataclass(frozen=True)
class Charge:
    """One movement of money (or of an authorization hold) the fake processor applied."""

    intent_id: str
    amount_minor: int
    currency: str
    kind: ChargeKind


@dataclass(frozen=True)
class _Replay:
    fingerprint: Hashable
    result: PaymentIntent | Refund | None = None
    decline: PaymentDeclined | None = None


DISCLOSURE = Processor(
    key="fake",
    name="Facet test payments",
    role=ProcessorRole.payment_processor,
    description=(
        "Built into Facet for development and tests: it takes Stripe's test card tokens "
        "and keeps every payment in memory. Nothing leaves Facet; production refuses it."
    ),
    third_party=False,
    location="Inside Facet",
)


class FakePaymentProvider:
    name = "fake"
    disclosure = DISCLOSURE
    accepts = str

    def __init__(
        self, *, webhook_secret: str = DEV_WEBHOOK_SECRET, ledger: Path | None = None
    ) -> None:
        self._webhook_secret = webhook_secret
        self._ledger = ledger
        self._intents: dict[str, PaymentIntent] = {}
        self._capture_modes: dict[str, CaptureMode] = {}
        self._refunded: dict[str, int] = {}
        self._timed_out: set[str] = set()
        self._replays: dict[str, _Replay] = {}
        self._lock = asyncio.Lock()
        self.charges: list[Charge] = []
        self.refunds: list[Refund] = []

    async def create_intent(self, request: PaymentRequest) -> PaymentIntent:
        def create() -> PaymentIntent:
            if request.amount_minor <= 0:
                raise PaymentRejected("amount must be positive")
            if len(request.currency) != 3 or not request.currency.isalpha():
                raise PaymentRejected("currency must be a three-letter code")
            intent = PaymentIntent(
                id=f"pi_fake_{uuid.uuid4().hex}",
                status=IntentStatus.requires_payment_method,
                amount_minor=request.amount_minor,
                currency=request.currency.upper(),
            )
            self._intents[intent.id] = intent
            self._capture_modes[intent.id] = request.capture
            return intent

        fingerprint = (
            "create",
            request.order_id,
            request.order_number,
            request.amount_minor,
            request.currency.upper(),
            request.capture,
        )
        return await self._once(request.idempotency_key, fingerprint, create)

    async def confirm(
        self, intent_id: str, *, payment_method: PaymentMethod, idempotency_key: str
    ) -> PaymentIntent:
        def confirm() -> PaymentIntent:
            intent = self._intent(intent_id)
            if intent.status not in _CONFIRMABLE:
                raise PaymentRejected(f"payment intent is {intent.status}, it cannot be confirmed")
            match payment_method:
                case "pm_card_visa" | "pm_card_mastercard":
                    pass
                case "pm_card_authenticationRequired":
                    # 3-D Secure: the buyer must authenticate; nothing is charged yet.
                    updated = replace(
                        intent,
                        status=IntentStatus.requires_action,
                        client_secret=f"{intent_id}_secret_fake",
                        next_action="use_stripe_sdk",
                    )
                    self._intents[intent_id] = updated
                    return updated
                case "pm_card_chargeDeclined":
                    raise PaymentDeclined("Your card was declined.", code="card_declined")
                case "pm_card_insufficientFunds":
                    raise PaymentDeclined(
                        "Your card has insufficient funds.", code="insufficient_funds"
                    )
                case "pm_card_timeout":
                    if intent_id not in self._timed_out:
                        # The request never reached the processor: nothing was charged.
                        self._timed_out.add(intent_id)
                        raise PaymentUnavailable("the payment processor did not answer in time")
                case _:
                    raise PaymentDeclined(
                        "The payment method is not valid.", code="invalid_payment_method"
                    )
            if self._capture_modes[intent_id] == CaptureMode.automatic:
                updated = replace(
                    intent, status=IntentStatus.succeeded, amount_received_minor=intent.amount_minor
                )
                self._record(updated, ChargeKind.capture, intent.amount_minor)
            else:
                updated = replace(
                    intent,
                    status=IntentStatus.requires_capture,
                    amount_capturable_minor=intent.amount_minor,
                )
                self._record(updated, ChargeKind.authorization, intent.amount_minor)
            self._intents[intent_id] = updated
            return updated

        fingerprint = ("confirm", intent_id, payment_method)
        return await self._once(idempotency_key, fingerprint, confirm)

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        async with self._lock:
            return self._intent(intent_id)

    async def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        def capture() -> PaymentIntent:
            intent = self._intent(intent_id)
            if intent.status != IntentStatus.requires_capture:
                raise PaymentRejected(f"payment intent is {intent.status}, it cannot be captured")
            updated = replace(
                intent,
                status=IntentStatus.succeeded,
                amount_received_minor=intent.amount_minor,
                amount_capturable_minor=0,
            )
            self._intents[intent_id] = updated
            self._record(updated, ChargeKind.capture, intent.amount_minor)
            return updated

        return await self._once(idempotency_key, ("capture", intent_id), capture)

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        def cancel() -> PaymentIntent:
            intent = self._intent(intent_id)
            if intent.status not in _CANCELABLE:
                raise PaymentRejected(f"payment intent is {intent.status}, it cannot be canceled")
            updated = replace(intent, status=IntentStatus.canceled)
            self._intents[intent_id] = updated
            if intent.status == IntentStatus.requires_capture:
                self._record(updated, ChargeKind.void, intent.amount_minor)
            return updated

        return await self._once(idempotency_key, ("cancel", intent_id), cancel)

    async def refund(
        self, intent_id: str, *, amount_minor: int | None, idempotency_key: str
    ) -> Refund:
        def refund() -> Refund:
            intent = self._intent(intent_id)
            if intent.status != IntentStatus.succeeded:
                raise PaymentRejected(f"payment intent is {intent.status}, it cannot be refunded")
            remaining = intent.amount_received_minor - self._refunded.get(intent_id, 0)
            amount = remaining if amount_minor is None else amount_minor
            if amount <= 0 or amount > remaining:
                raise PaymentRejected(f"refund amount must be between 1 and {remaining}")
            self._refunded[intent_id] = self._refunded.get(intent_id, 0) + amount
            result = Refund(
                id=f"re_fake_{uuid.uuid4().hex}",
                intent_id=intent_id,
                amount_minor=amount,
                status="succeeded",
            )
            self.refunds.append(result)
            self._record(intent, ChargeKind.refund, amount)
            return result

        return await self._once(idempotency_key, ("refund", intent_id, amount_minor), refund)

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        verify_signature(payload, signature, self._webhook_secret)
        return event_from_dict(parse_json_payload(payload))

    async def close(self) -> None:
        return None

    def _intent(self, intent_id: str) -> PaymentIntent:
        try:
            return self._intents[intent_id]
        except KeyError:
            raise PaymentRejected(f"no such payment intent: {intent_id}") from None

    def _record(self, intent: PaymentIntent, kind: ChargeKind, amount_minor: int) -> None:
        charge = Charge(intent.id, amount_minor, intent.currency, kind)
        self.charges.append(charge)
        if self._ledger is not None:
            append_to_ledger(self._ledger, charge)

    async def _once(self, key: str, fingerprint: Hashable, operation: Callable[[], T]) -> T:
        """Run `operation` once per idempotency key; later calls replay its outcome."""
        async with self._lock:
            replay = self._replays.get(key)
            if replay is not None:
                if replay.fingerprint != fingerprint:
                    raise PaymentRejected("idempotency key reused with different parameters")
                if replay.decline is not None:
                    raise PaymentDeclined(str(replay.decline), code=replay.decline.code)
                return cast(T, replay.result)
            try:
                result = operation()
            except PaymentDeclined as e:
                # A decline is an outcome, like Stripe's stored 402; unavailability and
                # invalid requests are not stored, so a retry with the same key runs again.
                stored = PaymentDeclined(str(e), code=e.code)  # without the traceback
                self._replays[key] = _Replay(fingerprint, decline=stored)
                raise
            self._replays[key] = _Replay(fingerprint, result=result)
            return result


def append_to_ledger(path: Path, charge: Charge) -> None:
    """One JSON line per charge. A single O_APPEND write of a short line lands whole, so
    several processes can share the file; it holds ids and amounts, nothing personal."""
    line = json.dumps(
        {
            "intent_id": charge.intent_id,
            "amount_minor": charge.amount_minor,
            "currency": charge.currency,
            "kind": charge.kind.value,
        }
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def read_ledger(path: Path) -> list[Charge]:
    """The charges appended to `path` by every process, in order."""
    if not path.exists():
        return []
    charges = []
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            charges.append(
                Charge(
                    row["intent_id"], row["amount_minor"], row["currency"], ChargeKind(row["kind"])
                )
            )
    return charges
