"""The payment port on Authorize.Net, through its JSON API with httpx.

Authorize.Net has no payment intent: a transaction exists only once a card is charged or
authorized. `create_intent` therefore calls nobody and answers a provisional id carrying
what the charge needs (order number, amount, currency, capture mode); `confirm` turns it
into a transaction, whose id (`transId`) the order keeps from then on.

Retries never charge twice: the order number is the transaction's invoice number (and
the request's `refId`), and before creating a transaction the adapter looks for a live
one with that invoice number among the unsettled transactions, which is where a charge
whose answer was lost sits. The card itself never reaches Facet (P7): the buyer's
browser tokenizes it with Accept.js and Facet forwards the opaque data, once.

Authorize.Net answers JSON preceded by a UTF-8 byte order mark; it is stripped here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

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
    PROVISIONAL_PREFIX,
    CaptureMode,
    IntentStatus,
    InvalidWebhook,
    OpaqueCard,
    PaymentDeclined,
    PaymentEvent,
    PaymentEventType,
    PaymentIntent,
    PaymentMethod,
    PaymentProvider,
    PaymentRejected,
    PaymentRequest,
    PaymentUnavailable,
    Refund,
)

SANDBOX_API = "https://apitest.authorize.net/xml/v1/request.api"
SIGNATURE_HEADER_PREFIX = "sha512="
# How far back a retry looks for the transaction its lost first attempt may have made.
LOOKUP_PAGE_SIZE = 100

# transactionResponse.responseCode
APPROVED, DECLINED, ERROR, HELD_FOR_REVIEW = "1", "2", "3", "4"

# transactionStatus of getTransactionDetails / getUnsettledTransactionList
_AUTHORIZED = {"authorizedPendingCapture"}
_CAPTURED = {"capturedPendingSettlement", "settledSuccessfully"}
_UNDER_REVIEW = {"FDSPendingReview", "FDSAuthorizedPendingReview", "underReview"}
_ENDED = {"voided", "expired", "couldNotVoid", "failedReview"}
_LIVE = _AUTHORIZED | _CAPTURED | _UNDER_REVIEW

_AUTH_TYPES = {
    CaptureMode.automatic: "authCaptureTransaction",
    CaptureMode.manual: "authOnlyTransaction",
}

EVENT_TYPES: dict[str, PaymentEventType] = {
    "net.authorize.payment.authcapture.created": PaymentEventType.succeeded,
    "net.authorize.payment.authorization.created": PaymentEventType.authorized,
    "net.authorize.payment.capture.created": PaymentEventType.succeeded,
    "net.authorize.payment.priorAuthCapture.created": PaymentEventType.succeeded,
    "net.authorize.payment.refund.created": PaymentEventType.refunded,
    "net.authorize.payment.void.created": PaymentEventType.canceled,
    "net.authorize.payment.fraud.held": PaymentEventType.held_for_review,
    "net.authorize.payment.fraud.approved": PaymentEventType.review_approved,
    "net.authorize.payment.fraud.declined": PaymentEventType.failed,
}
_CREATED_BY_PAYMENT = {
    "net.authorize.payment.authcapture.created",
    "net.authorize.payment.authorization.created",
}


def _json(name: str) -> Wire:
    return Wire(Channel.json, name)


_TX = "createTransactionRequest.transactionRequest"
_CREDENTIALS = tuple(
    f"{request}.merchantAuthentication.{part}"
    for request in (
        "createTransactionRequest",
        "getTransactionDetailsRequest",
        "getUnsettledTransactionListRequest",
    )
    for part in ("name", "transactionKey")
)
_INTENT_CALLS = (
    PaymentProvider.confirm,
    PaymentProvider.retrieve,
    PaymentProvider.capture,
    PaymentProvider.cancel,
    PaymentProvider.refund,
)

DISCLOSURE = Processor(
    key="authorizenet",
    name="Authorize.Net",
    role=ProcessorRole.payment_processor,
    description=(
        "Checks and authorizes card payments, captures, voids and refunds them. The buyer "
        "types the card into Authorize.Net's Accept.js form, so the card goes straight to "
        "Authorize.Net and never through Facet (P7); Facet only says what to charge, for "
        "which order, with the one-time token Accept.js gave the buyer's browser."
    ),
    third_party=True,
    at_erasure=(
        "Nothing personal is sent to Authorize.Net by Facet (amounts, our invoice number "
        "and the one-time Accept.js token); the card details you typed into its form stay "
        "in its transaction records under the card networks' rules, which Facet cannot "
        "delete."
    ),
    privacy_policy="https://usa.visa.com/legal/privacy-policy.html",
    location="United States (Authorize.Net, a Visa Inc. company)",
    port=PaymentProvider,
    receives=(
        DisclosedField(
            "amount",
            DataKind.order,
            "How much to charge or refund (a refund without an amount gives back all).",
            (
                dto_field(PaymentRequest, "amount_minor"),
                argument(PaymentProvider.refund, "amount_minor"),
            ),
            (_json(f"{_TX}.amount"),),
        ),
        DisclosedField(
            "currency",
            DataKind.order,
            "The currency of the amount.",
            (dto_field(PaymentRequest, "currency"),),
            (_json(f"{_TX}.currencyCode"),),
        ),
        DisclosedField(
            "transaction type",
            DataKind.technical,
            "Charge at once or hold the amount until the order ships; capture, void, refund.",
            (dto_field(PaymentRequest, "capture"), FIXED),
            (_json(f"{_TX}.transactionType"),),
        ),
        DisclosedField(
            "order number",
            DataKind.reference,
            "The order number, as the invoice number and request reference, so a retried "
            "payment finds the first attempt's transaction instead of charging again.",
            (dto_field(PaymentRequest, "order_number"),),
            (_json("createTransactionRequest.refId"), _json(f"{_TX}.order.invoiceNumber")),
        ),
        DisclosedField(
            "payment method",
            DataKind.reference,
            "The one-time opaque token Accept.js made of the card the buyer entered.",
            (argument(PaymentProvider.confirm, "payment_method"),),
            (
                _json(f"{_TX}.payment.opaqueData.dataDescriptor"),
                _json(f"{_TX}.payment.opaqueData.dataValue"),
            ),
        ),
        DisclosedField(
            "card's last four digits",
            DataKind.reference,
            "Which card a refund goes back to, as Authorize.Net requires; read back from "
            "Authorize.Net's own record of the payment, never stored by Facet.",
            (argument(PaymentProvider.refund, "intent_id"),),
            (
                _json(f"{_TX}.payment.creditCard.cardNumber"),
                _json(f"{_TX}.payment.creditCard.expirationDate"),
            ),
        ),
        DisclosedField(
            "transaction id",
            DataKind.reference,
            "Authorize.Net's own id of the payment, to look at, capture, void or refund it.",
            tuple(argument(call, "intent_id") for call in _INTENT_CALLS),
            (_json(f"{_TX}.refTransId"), _json("getTransactionDetailsRequest.transId")),
        ),
        DisclosedField(
            "transaction search",
            DataKind.technical,
            "Newest unsettled transactions first, one page: where a lost answer's charge is.",
            (FIXED,),
            (
                _json("getUnsettledTransactionListRequest.sorting.orderBy"),
                _json("getUnsettledTransactionListRequest.sorting.orderDescending"),
                _json("getUnsettledTransactionListRequest.paging.limit"),
                _json("getUnsettledTransactionListRequest.paging.offset"),
            ),
        ),
        DisclosedField(
            "API credentials",
            DataKind.store,
            "The store's API login id and transaction key: which account the payment is for.",
            (CONFIGURATION,),
            tuple(_json(path) for path in _CREDENTIALS),
        ),
        DisclosedField(
            "client library",
            DataKind.technical,
            "The HTTP library's name and version.",
            (FIXED,),
            (Wire(Channel.header, "User-Agent"),),
        ),
    ),
    withheld={
        dto_field(PaymentRequest, "order_id"): "the order number identifies the order",
        dto_field(PaymentRequest, "idempotency_key"): (
            "Authorize.Net has no idempotency keys: retries look the invoice number up"
        ),
        argument(PaymentProvider.confirm, "idempotency_key"): "as above",
        argument(PaymentProvider.capture, "idempotency_key"): "as above",
        argument(PaymentProvider.cancel, "idempotency_key"): "as above",
        argument(PaymentProvider.refund, "idempotency_key"): "as above",
        argument(PaymentProvider.verify_webhook, "payload"): "an inbound event, checked here",
        argument(PaymentProvider.verify_webhook, "signature"): "an inbound event, checked here",
    },
)


@dataclass(frozen=True)
class _Pending:
    """What a provisional id carries: the charge to make once the card is given."""

    order_number: str
    amount_minor: int
    currency: str
    capture: CaptureMode

    @property
    def id(self) -> str:
        return (
            f"{PROVISIONAL_PREFIX}{self.order_number}:{self.amount_minor}:"
            f"{self.currency}:{self.capture.value}"
        )

    @classmethod
    def parse(cls, intent_id: str) -> _Pending | None:
        if not intent_id.startswith(PROVISIONAL_PREFIX):
            return None
        try:
            number, amount, currency, capture = intent_id[len(PROVISIONAL_PREFIX) :].split(":")
            return cls(number, int(amount), currency, CaptureMode(capture))
        except ValueError:
            raise PaymentRejected(f"not an Authorize.Net payment reference: {intent_id}") from None

    def intent(self) -> PaymentIntent:
        return PaymentIntent(
            id=self.id,
            status=IntentStatus.requires_payment_method,
            amount_minor=self.amount_minor,
            currency=self.currency,
        )


def to_decimal(amount_minor: int) -> str:
    return f"{Decimal(amount_minor) / 100:.2f}"


def to_minor(amount: object) -> int | None:
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        return None
    try:
        return int((Decimal(str(amount)) * 100).to_integral_value())
    except ArithmeticError:
        return None


def decode(content: bytes) -> dict[str, Any]:
    """Authorize.Net's JSON starts with a UTF-8 byte order mark."""
    data = json.loads(content.decode("utf-8-sig"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def sign_webhook(payload: bytes, signature_key: str) -> str:
    """The `X-ANET-Signature` value for `payload` (for tests and local tooling). The key is
    used as the text the merchant interface shows (128 hex characters), not hex-decoded,
    as Authorize.Net's own samples do; the digest is upper-case hex."""
    mac = hmac.new(signature_key.encode(), payload, hashlib.sha512).hexdigest().upper()
    return f"{SIGNATURE_HEADER_PREFIX}{mac}"


class AuthorizeNetPaymentProvider:
    name = "authorizenet"
    disclosure = DISCLOSURE
    accepts = OpaqueCard

    def __init__(
        self,
        *,
        api_login_id: str,
        transaction_key: str,
        signature_key: str,
        api_base: str = SANDBOX_API,
        currency: str = "USD",
        timeout: float = 10.0,
    ) -> None:
        self._auth = {"name": api_login_id, "transactionKey": transaction_key}
        self._signature_key = signature_key
        self._api = api_base
        self._currency = currency.upper()
        self._http = httpx.AsyncClient(timeout=timeout)

    # --- the port ---------------------------------------------------------------------

    async def create_intent(self, request: PaymentRequest) -> PaymentIntent:
        if request.amount_minor <= 0:
            raise PaymentRejected("the amount must be positive")
        if request.currency.upper() != self._currency:
            raise PaymentRejected(
                f"the Authorize.Net account takes {self._currency}, not {request.currency}"
            )
        pending = _Pending(
            request.order_number, request.amount_minor, request.currency.upper(), request.capture
        )
        return pending.intent()

    async def confirm(
        self, intent_id: str, *, payment_method: PaymentMethod, idempotency_key: str
    ) -> PaymentIntent:
        if not isinstance(payment_method, OpaqueCard):
            raise PaymentRejected("Authorize.Net takes Accept.js opaque data, not a token")
        pending = _Pending.parse(intent_id)
        if pending is None:
            raise PaymentRejected("this payment already has an Authorize.Net transaction")
        earlier = await self._live_transaction(pending.order_number)
        if earlier is not None:
            return await self.retrieve(earlier)
        answer = await self._transaction(
            {
                "transactionType": _AUTH_TYPES[pending.capture],
                "amount": to_decimal(pending.amount_minor),
                "currencyCode": pending.currency,
                "payment": {
                    "opaqueData": {
                        "dataDescriptor": payment_method.descriptor,
                        "dataValue": payment_method.value,
                    }
                },
                "order": {"invoiceNumber": pending.order_number},
            },
            ref_id=pending.order_number,
        )
        trans_id = str(answer.get("transId") or "")
        code = str(answer.get("responseCode") or "")
        if code == HELD_FOR_REVIEW:
            return PaymentIntent(
                id=trans_id,
                status=IntentStatus.processing,
                amount_minor=pending.amount_minor,
                currency=pending.currency,
                held_for_review=True,
            )
        automatic = pending.capture == CaptureMode.automatic
        return PaymentIntent(
            id=trans_id,
            status=IntentStatus.succeeded if automatic else IntentStatus.requires_capture,
            amount_minor=pending.amount_minor,
            currency=pending.currency,
            amount_received_minor=pending.amount_minor if automatic else 0,
            amount_capturable_minor=0 if automatic else pending.amount_minor,
        )

    async def retrieve(self, intent_id: str) -> PaymentIntent:
        pending = _Pending.parse(intent_id)
        if pending is not None:
            # A payment whose answer was lost may have made a transaction all the same.
            found = await self._live_transaction(pending.order_number)
            return pending.intent() if found is None else await self.retrieve(found)
        return self._to_intent(await self._details(intent_id))

    async def capture(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        current = await self.retrieve(intent_id)
        if current.status == IntentStatus.succeeded:
            return current  # a retry whose first attempt captured
        if current.status != IntentStatus.requires_capture:
            raise PaymentRejected(f"the payment is {current.status}, it cannot be captured")
        await self._transaction(
            {"transactionType": "priorAuthCaptureTransaction", "refTransId": current.id}
        )
        return PaymentIntent(
            id=current.id,
            status=IntentStatus.succeeded,
            amount_minor=current.amount_minor,
            currency=current.currency,
            amount_received_minor=current.amount_capturable_minor,
        )

    async def cancel(self, intent_id: str, *, idempotency_key: str) -> PaymentIntent:
        current = await self.retrieve(intent_id)
        if current.status in (IntentStatus.canceled, IntentStatus.requires_payment_method):
            return PaymentIntent(
                id=current.id,
                status=IntentStatus.canceled,
                amount_minor=current.amount_minor,
                currency=current.currency,
            )
        if current.status == IntentStatus.succeeded:
            raise PaymentRejected("the payment is captured: refund it instead")
        await self._void(current.id)
        return PaymentIntent(
            id=current.id,
            status=IntentStatus.canceled,
            amount_minor=current.amount_minor,
            currency=current.currency,
        )

    async def refund(
        self, intent_id: str, *, amount_minor: int | None, idempotency_key: str
    ) -> Refund:
        details = await self._details(intent_id)
        status = str(details.get("transactionStatus") or "")
        received = to_minor(details.get("settleAmount")) or to_minor(details.get("authAmount"))
        amount = (received or 0) if amount_minor is None else amount_minor
        if status == "capturedPendingSettlement" and amount == received:
            # Not settled yet: nothing has moved, so the whole charge is voided instead.
            await self._void(intent_id)
            return Refund(id=f"void-{intent_id}", intent_id=intent_id, amount_minor=amount,
                          status="succeeded")  # fmt: skip
        if status not in _CAPTURED:
            raise PaymentRejected(f"a payment that is {status} cannot be refunded")
        invoice = _invoice(details)
        earlier = await self._refund_already_made(invoice, amount)
        if earlier is not None:
            return Refund(id=earlier, intent_id=intent_id, amount_minor=amount, status="succeeded")
        card = details.get("payment", {}).get("creditCard", {})
        last_four = str(card.get("cardNumber") or "")[-4:]
        request: dict[str, Any] = {
            "transactionType": "refundTransaction",
            "amount": to_decimal(amount),
            "payment": {"creditCard": {"cardNumber": last_four, "expirationDate": "XXXX"}},
            "refTransId": intent_id,
        }
        if invoice:
            request["order"] = {"invoiceNumber": invoice}
        answer = await self._transaction(request, ref_id=invoice or None)
        return Refund(
            id=str(answer.get("transId") or ""),
            intent_id=intent_id,
            amount_minor=amount,
            status="succeeded",
        )

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self._signature_key:
            raise InvalidWebhook("no signature key configured")
        if not signature or not signature.lower().startswith(SIGNATURE_HEADER_PREFIX):
            raise InvalidWebhook("missing X-ANET-Signature header")
        expected = sign_webhook(payload, self._signature_key)[len(SIGNATURE_HEADER_PREFIX) :]
        given = signature[len(SIGNATURE_HEADER_PREFIX) :].strip().upper()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise InvalidWebhook("signature mismatch")
        try:
            notification = decode(payload)
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, not an object
            raise InvalidWebhook("payload is not JSON") from e
        return self._event(notification)

    async def close(self) -> None:
        await self._http.aclose()

    # --- the wire ---------------------------------------------------------------------

    async def _call(self, request_name: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = {request_name: {"merchantAuthentication": self._auth, **body}}
        try:
            response = await self._http.post(self._api, json=payload)
        except httpx.TransportError as e:  # timeouts, refused or dropped connections
            raise PaymentUnavailable(f"Authorize.Net is unavailable ({type(e).__name__})") from e
        if response.status_code >= 500 or response.status_code == 429:
            raise PaymentUnavailable(f"Authorize.Net answered {response.status_code}")
        if response.status_code != 200:
            raise PaymentRejected(f"Authorize.Net answered {response.status_code}")
        try:
            return decode(response.content)
        except ValueError as e:
            raise PaymentUnavailable("Authorize.Net's answer is not JSON") from e

    async def _transaction(
        self, transaction: dict[str, Any], *, ref_id: str | None = None
    ) -> dict[str, Any]:
        """createTransactionRequest, its response codes mapped onto the port's errors."""
        body: dict[str, Any] = {"refId": ref_id} if ref_id else {}
        body["transactionRequest"] = transaction
        answer = await self._call("createTransactionRequest", body)
        result = answer.get("transactionResponse")
        if not isinstance(result, dict):
            raise PaymentRejected(f"Authorize.Net refused the request ({_message(answer)})")
        code = str(result.get("responseCode") or "")
        error = _first_error(result)
        match code:
            case "1" | "4":
                return result
            case "2":
                raise PaymentDeclined("The card was declined.", code=error or "declined")
            case _:
                raise PaymentRejected(f"Authorize.Net refused the transaction (error {error})")

    async def _details(self, trans_id: str) -> dict[str, Any]:
        answer = await self._call("getTransactionDetailsRequest", {"transId": trans_id})
        transaction = answer.get("transaction")
        if not isinstance(transaction, dict):
            raise PaymentRejected(f"no Authorize.Net transaction {trans_id} ({_message(answer)})")
        return transaction

    async def _unsettled(self) -> list[dict[str, Any]]:
        answer = await self._call(
            "getUnsettledTransactionListRequest",
            {
                "sorting": {"orderBy": "submitTimeUTC", "orderDescending": True},
                "paging": {"limit": LOOKUP_PAGE_SIZE, "offset": 1},
            },
        )
        if _result(answer) != "Ok":
            raise PaymentRejected(f"Authorize.Net listed no transactions ({_message(answer)})")
        found = answer.get("transactions") or []
        return [item for item in found if isinstance(item, dict)]

    async def _live_transaction(self, invoice: str) -> str | None:
        """The transaction an earlier attempt made for this invoice and that still holds or
        took the money, if any (declined and voided ones do not count)."""
        for item in await self._unsettled():
            if item.get("invoiceNumber") == invoice and item.get("transactionStatus") in _LIVE:
                return str(item.get("transId"))
        return None

    async def _refund_already_made(self, invoice: str, amount_minor: int) -> str | None:
        if not invoice:
            return None
        for item in await self._unsettled():
            if (
                item.get("invoiceNumber") == invoice
                and item.get("transactionStatus") == "refundPendingSettlement"
                and to_minor(item.get("settleAmount")) == amount_minor
            ):
                return str(item.get("transId"))
        return None

    async def _void(self, trans_id: str) -> None:
        await self._transaction({"transactionType": "voidTransaction", "refTransId": trans_id})

    # --- translation ------------------------------------------------------------------

    def _to_intent(self, details: dict[str, Any]) -> PaymentIntent:
        status = str(details.get("transactionStatus") or "")
        authorized = to_minor(details.get("authAmount")) or 0
        settled = to_minor(details.get("settleAmount")) or authorized
        common: dict[str, Any] = {
            "id": str(details.get("transId") or ""),
            "amount_minor": authorized,
            "currency": self._currency,
        }
        if status in _AUTHORIZED:
            return PaymentIntent(
                status=IntentStatus.requires_capture, amount_capturable_minor=authorized, **common
            )
        if status in _CAPTURED:
            return PaymentIntent(
                status=IntentStatus.succeeded, amount_received_minor=settled, **common
            )
        if status in _UNDER_REVIEW:
            return PaymentIntent(status=IntentStatus.processing, held_for_review=True, **common)
        if status in _ENDED:
            return PaymentIntent(status=IntentStatus.canceled, **common)
        if status == "declined":
            return PaymentIntent(status=IntentStatus.requires_payment_method, **common)
        return PaymentIntent(status=IntentStatus.processing, **common)

    def _event(self, notification: dict[str, Any]) -> PaymentEvent:
        event_id = notification.get("notificationId")
        raw_type = notification.get("eventType")
        payload = notification.get("payload")
        if not isinstance(event_id, str) or not isinstance(raw_type, str):
            raise InvalidWebhook("notification has no id or event type")
        if not isinstance(payload, dict):
            raise InvalidWebhook("notification has no payload")
        event_type = EVENT_TYPES.get(raw_type, PaymentEventType.other)
        code = str(payload.get("responseCode", ""))
        status: str | None = None
        if raw_type in _CREATED_BY_PAYMENT and code == HELD_FOR_REVIEW:
            event_type = PaymentEventType.held_for_review
        elif raw_type in _CREATED_BY_PAYMENT and code != APPROVED:
            event_type = PaymentEventType.failed
        elif raw_type == "net.authorize.payment.fraud.declined":
            status = "review_declined"
        elif event_type == PaymentEventType.refunded:
            status = "partially_refunded"  # the event gives this refund's amount, not a total
        trans_id = payload.get("id")
        invoice = payload.get("invoiceNumber")
        return PaymentEvent(
            id=event_id,
            type=event_type,
            intent_id=str(trans_id) if isinstance(trans_id, (str, int)) else None,
            order_id=None,
            amount_minor=to_minor(payload.get("authAmount")),
            currency=self._currency,
            status=status,
            raw_type=raw_type,
            metadata={"order_number": invoice} if isinstance(invoice, str) else {},
        )


def _invoice(details: dict[str, Any]) -> str:
    order = details.get("order")
    invoice = order.get("invoiceNumber") if isinstance(order, dict) else None
    return invoice if isinstance(invoice, str) else ""


def _result(answer: dict[str, Any]) -> str:
    messages = answer.get("messages")
    return str(messages.get("resultCode")) if isinstance(messages, dict) else ""


def _message(answer: dict[str, Any]) -> str:
    messages = answer.get("messages")
    items = messages.get("message") if isinstance(messages, dict) else None
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return f"{items[0].get('code')}: {items[0].get('text')}"
    return "no message"


def _first_error(result: dict[str, Any]) -> str | None:
    errors = result.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("errorCode")
        return str(code) if code is not None else None
    return None
