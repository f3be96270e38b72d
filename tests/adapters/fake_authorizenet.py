"""A loopback stand-in for the part of the Authorize.Net JSON API the payment adapter uses.

One endpoint, as Authorize.Net has (`POST /xml/v1/request.api`), taking JSON whose root key
names the request. It behaves like Authorize.Net where that matters to us: the
credentials are checked on every request, child elements must come in the schema's order
and be known, amounts are decimal strings, answers start with a UTF-8 byte order mark,
an Accept.js token works once, and the transaction response codes are 1 (approved),
2 (declined), 3 (error) and 4 (held for review). It keeps a ledger of the money it
moved, signs webhook notifications with the signature key (HMAC-SHA512), and can be
scripted to misbehave:

    fake.script("authCaptureTransaction", Delay(1.0))  # applied, then answered late
    fake.script("getTransactionDetailsRequest", Fail(503))

Opaque data values choose the outcome: `approve-...`, `decline-...`, `review-...`
(held by the fraud filters), `error-...`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.adapters.fake_stripe import serve

__all__ = ["Delay", "Fail", "FakeAuthorizeNet", "LedgerEntry", "serve"]

PATH = "/xml/v1/request.api"
BOM = "\ufeff"
CARD_LAST_FOUR = "1111"
ACCEPT_DESCRIPTOR = "COMMON.ACCEPT.INAPP.PAYMENT"

Json = dict[str, Any]

# Each request's child elements, in the order the XML schema behind the JSON API demands.
REQUEST_ELEMENTS: dict[str, list[str]] = {
    "createTransactionRequest": ["merchantAuthentication", "refId", "transactionRequest"],
    "getTransactionDetailsRequest": ["merchantAuthentication", "refId", "transId"],
    "getUnsettledTransactionListRequest": [
        "merchantAuthentication",
        "refId",
        "status",
        "sorting",
        "paging",
    ],
}
TRANSACTION_ELEMENTS = [
    "transactionType",
    "amount",
    "currencyCode",
    "payment",
    "refTransId",
    "order",
]
REQUIRED_BY_TYPE: dict[str, set[str]] = {
    "authCaptureTransaction": {"amount", "payment"},
    "authOnlyTransaction": {"amount", "payment"},
    "priorAuthCaptureTransaction": {"refTransId"},
    "voidTransaction": {"refTransId"},
    "refundTransaction": {"amount", "payment", "refTransId"},
}
VOIDABLE = {
    "authorizedPendingCapture",
    "capturedPendingSettlement",
    "FDSPendingReview",
    "FDSAuthorizedPendingReview",
}


@dataclass(frozen=True)
class RecordedRequest:
    name: str  # the root key, e.g. createTransactionRequest
    action: str  # the transaction type for createTransactionRequest, else the name
    body: Json
    headers: dict[str, str]


@dataclass(frozen=True)
class LedgerEntry:
    trans_id: str
    kind: str  # charge, authorization, capture, void, refund
    amount_minor: int


@dataclass(frozen=True)
class Fail:
    """Answer with this HTTP status before doing anything."""

    status: int = 500


@dataclass(frozen=True)
class Delay:
    """Apply the request as usual, then hold the answer back for `seconds`."""

    seconds: float


Fault = Fail | Delay


@dataclass
class Transaction:
    trans_id: str
    type: str
    status: str
    response_code: str
    auth_amount: Decimal
    settle_amount: Decimal
    invoice: str | None
    submitted: datetime = field(default_factory=lambda: datetime.now(UTC))
    ref_trans_id: str | None = None

    def details(self) -> Json:
        found: Json = {
            "transId": self.trans_id,
            "submitTimeUTC": self.submitted.isoformat(),
            "transactionType": self.type,
            "transactionStatus": self.status,
            "responseCode": int(self.response_code),
            "authAmount": float(self.auth_amount),
            "settleAmount": float(self.settle_amount),
            "payment": {
                "creditCard": {
                    "cardNumber": f"XXXX{CARD_LAST_FOUR}",
                    "expirationDate": "XXXX",
                    "cardType": "Visa",
                }
            },
        }
        if self.ref_trans_id:
            found["refTransId"] = self.ref_trans_id
        if self.invoice:
            found["order"] = {"invoiceNumber": self.invoice}
        return found

    def summary(self) -> Json:
        found: Json = {
            "transId": self.trans_id,
            "submitTimeUTC": self.submitted.isoformat(),
            "transactionStatus": self.status,
            "accountType": "Visa",
            "accountNumber": f"XXXX{CARD_LAST_FOUR}",
            "settleAmount": float(self.settle_amount),
        }
        if self.invoice:
            found["invoiceNumber"] = self.invoice
        return found


class Refused(Exception):
    """A request Authorize.Net answers with resultCode Error and no transaction."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def minor(amount: Decimal) -> int:
    return int(amount * 100)


class FakeAuthorizeNet:
    def __init__(self, login_id: str, transaction_key: str, signature_key: str) -> None:
        self.login_id = login_id
        self.transaction_key = transaction_key
        self.signature_key = signature_key
        self.app = Starlette(routes=[Route(PATH, self._endpoint, methods=["POST"])])
        self.reset()

    def reset(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.ledger: list[LedgerEntry] = []
        self.transactions: dict[str, Transaction] = {}
        self._used_tokens: set[str] = set()
        self._ids = itertools.count(60_000_000_001)
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)

    def script(self, action: str, fault: Fault, *, times: int = 1) -> None:
        self._faults[action].extend([fault] * times)

    def requests_for(self, action: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.action == action]

    def entries(self, trans_id: str) -> list[tuple[str, int]]:
        return [(e.kind, e.amount_minor) for e in self.ledger if e.trans_id == trans_id]

    # --- what happens at Authorize.Net outside the API ---------------------------------

    def settle(self, trans_id: str) -> None:
        """The nightly batch: captured transactions settle."""
        transaction = self.transactions[trans_id]
        assert transaction.status == "capturedPendingSettlement", transaction.status
        transaction.status = "settledSuccessfully"

    def approve_review(self, trans_id: str) -> None:
        """The merchant approves a payment the fraud filters held."""
        transaction = self.transactions[trans_id]
        if transaction.status == "FDSPendingReview":
            transaction.status = "capturedPendingSettlement"
            transaction.settle_amount = transaction.auth_amount
            self.ledger.append(LedgerEntry(trans_id, "charge", minor(transaction.auth_amount)))
        elif transaction.status == "FDSAuthorizedPendingReview":
            transaction.status = "authorizedPendingCapture"
            self.ledger.append(
                LedgerEntry(trans_id, "authorization", minor(transaction.auth_amount))
            )
        else:
            raise AssertionError(f"{trans_id} is not held: {transaction.status}")

    def decline_review(self, trans_id: str) -> None:
        """The merchant declines a payment the fraud filters held: it is voided."""
        transaction = self.transactions[trans_id]
        assert transaction.status in ("FDSPendingReview", "FDSAuthorizedPendingReview")
        transaction.status = "voided"

    def notification(
        self, event_type: str, trans_id: str, *, amount_minor: int | None = None
    ) -> tuple[bytes, str]:
        """A webhook notification about a transaction, and its `X-ANET-Signature`."""
        transaction = self.transactions[trans_id]
        amount = (
            transaction.auth_amount
            if amount_minor is None
            else Decimal(amount_minor) / Decimal(100)
        )
        payload: Json = {
            "responseCode": int(transaction.response_code),
            "authCode": "LZ6I19",
            "avsResponse": "Y",
            "authAmount": float(amount),
            "entityName": "transaction",
            "id": trans_id,
        }
        if transaction.invoice:
            payload["invoiceNumber"] = transaction.invoice
        body = json.dumps(
            {
                "notificationId": str(uuid.uuid4()),
                "eventType": event_type,
                "eventDate": datetime.now(UTC).isoformat(),
                "webhookId": str(uuid.uuid4()),
                "payload": payload,
            }
        ).encode()
        return body, self.sign(body)

    def sign(self, body: bytes) -> str:
        digest = hmac.new(self.signature_key.encode(), body, hashlib.sha512).hexdigest()
        return f"sha512={digest.upper()}"

    # --- plumbing ---------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            document = json.loads(await request.body())
        except ValueError:
            return self._answer({"messages": _error("E00001", "An error occurred.")})
        if not isinstance(document, dict) or len(document) != 1:
            return self._answer({"messages": _error("E00003", "Invalid root element.")})
        ((name, body),) = document.items()
        action = name
        if name == "createTransactionRequest" and isinstance(body, dict):
            action = str(body.get("transactionRequest", {}).get("transactionType"))
        self.requests.append(RecordedRequest(name, action, body, headers))
        queue = self._faults[action]
        fault = queue.popleft() if queue else None
        if isinstance(fault, Fail):
            return Response("Service Unavailable", fault.status)
        try:
            if not headers.get("content-type", "").startswith("application/json"):
                raise Refused("E00002", "The content-type specified is not supported.")
            self._check_shape(name, body)
            self._authenticate(body["merchantAuthentication"])
            answer = self._handle(name, body)
            answer.setdefault("messages", {"resultCode": "Ok", "message": _ok()})
        except Refused as refused:
            answer = {"messages": _error(refused.code, refused.text)}
        if isinstance(body, dict) and "refId" in body:
            answer = {"refId": body["refId"], **answer}
        if isinstance(fault, Delay):
            await asyncio.sleep(fault.seconds)
        return self._answer(answer)

    @staticmethod
    def _answer(answer: Json) -> Response:
        # As Authorize.Net does: a byte order mark before the JSON.
        return Response(
            (BOM + json.dumps(answer)).encode("utf-8"),
            200,
            media_type="application/json; charset=utf-8",
        )

    @staticmethod
    def _check_order(elements: list[str], allowed: list[str], where: str) -> None:
        unknown = [e for e in elements if e not in allowed]
        if unknown:
            raise Refused(
                "E00003", f"The element '{where}' has invalid child element '{unknown[0]}'."
            )
        positions = [allowed.index(e) for e in elements]
        if positions != sorted(positions):
            raise Refused("E00003", f"The element '{where}' has its children out of order.")

    def _check_shape(self, name: str, body: object) -> None:
        if name not in REQUEST_ELEMENTS or not isinstance(body, dict):
            raise Refused("E00003", f"The element '{name}' is not supported.")
        self._check_order(list(body), REQUEST_ELEMENTS[name], name)
        if list(body)[:1] != ["merchantAuthentication"]:
            raise Refused(
                "E00007", "User authentication failed due to invalid authentication values."
            )
        if "refId" in body and (not isinstance(body["refId"], str) or len(body["refId"]) > 20):
            raise Refused("E00003", "refId is longer than 20 characters.")
        if name == "createTransactionRequest":
            transaction = body.get("transactionRequest")
            if not isinstance(transaction, dict):
                raise Refused("E00003", "transactionRequest is required.")
            self._check_order(list(transaction), TRANSACTION_ELEMENTS, "transactionRequest")
            kind = transaction.get("transactionType")
            if kind not in REQUIRED_BY_TYPE:
                raise Refused("E00003", f"Invalid transactionType {kind}.")
            missing = REQUIRED_BY_TYPE[kind] - set(transaction)
            if missing:
                raise Refused("E00003", f"{kind} needs {sorted(missing)}.")
            if "amount" in transaction:
                amount = transaction["amount"]
                if not isinstance(amount, str) or Decimal(amount).as_tuple().exponent != -2:
                    raise Refused("E00003", f"The amount {amount!r} is not a decimal string.")
            invoice = transaction.get("order", {}).get("invoiceNumber")
            if invoice is not None and len(invoice) > 20:
                raise Refused("E00003", "invoiceNumber is longer than 20 characters.")

    def _authenticate(self, credentials: object) -> None:
        if not isinstance(credentials, dict) or credentials != {
            "name": self.login_id,
            "transactionKey": self.transaction_key,
        }:
            raise Refused(
                "E00007", "User authentication failed due to invalid authentication values."
            )

    def _handle(self, name: str, body: Json) -> Json:
        match name:
            case "getTransactionDetailsRequest":
                transaction = self.transactions.get(str(body.get("transId")))
                if transaction is None:
                    raise Refused("E00040", "The record cannot be found.")
                return {"transaction": transaction.details()}
            case "getUnsettledTransactionListRequest":
                found = sorted(
                    (t for t in self.transactions.values() if t.status != "settledSuccessfully"),
                    key=lambda t: t.submitted,
                    reverse=bool(body.get("sorting", {}).get("orderDescending")),
                )
                paging = body.get("paging", {"limit": 1000, "offset": 1})
                start = (int(paging["offset"]) - 1) * int(paging["limit"])
                page = found[start : start + int(paging["limit"])]
                if not page:
                    return {"messages": {"resultCode": "Ok", "message": [
                        {"code": "I00004", "text": "No records found."}]}}  # fmt: skip
                return {
                    "transactions": [t.summary() for t in page],
                    "totalNumInResultSet": len(page),
                }
            case _:
                return self._transaction(body["transactionRequest"])

    def _new_id(self) -> str:
        return str(next(self._ids))

    def _response(
        self, code: str, trans_id: str, *, ref: str = "", error: tuple[str, str] | None = None
    ) -> Json:
        result: Json = {
            "responseCode": code,
            "authCode": "LZ6I19" if code in ("1", "4") else "",
            "avsResultCode": "Y",
            "cvvResultCode": "P",
            "transId": trans_id,
            "refTransID": ref,
            "accountNumber": f"XXXX{CARD_LAST_FOUR}",
            "accountType": "Visa",
        }
        if error is None:
            result["messages"] = [
                {"code": "1", "description": "This transaction has been approved."}
            ]
            return {"transactionResponse": result}
        result["errors"] = [{"errorCode": error[0], "errorText": error[1]}]
        return {
            "transactionResponse": result,
            "messages": _error("E00027", "The transaction was unsuccessful."),
        }

    def _transaction(self, request: Json) -> Json:
        kind = request["transactionType"]
        if kind in ("authCaptureTransaction", "authOnlyTransaction"):
            return self._authorize(kind, request)
        original = self.transactions.get(str(request.get("refTransId")))
        if original is None:
            return self._response(
                "3", "0", error=("33", "A valid referenced transaction ID is required.")
            )
        if kind == "priorAuthCaptureTransaction":
            if original.status != "authorizedPendingCapture":
                return self._response(
                    "3",
                    "0",
                    ref=original.trans_id,
                    error=("311", "This transaction has already been captured."),
                )
            original.status = "capturedPendingSettlement"
            original.settle_amount = original.auth_amount
            self.ledger.append(
                LedgerEntry(original.trans_id, "capture", minor(original.auth_amount))
            )
            return self._response("1", original.trans_id, ref=original.trans_id)
        if kind == "voidTransaction":
            if original.status not in VOIDABLE:
                return self._response(
                    "3",
                    "0",
                    ref=original.trans_id,
                    error=("16", "The transaction cannot be found or voided."),
                )
            held = original.status in ("authorizedPendingCapture", "capturedPendingSettlement")
            original.status = "voided"
            if held:
                self.ledger.append(
                    LedgerEntry(original.trans_id, "void", minor(original.auth_amount))
                )
            return self._response("1", original.trans_id, ref=original.trans_id)
        # refundTransaction: against a settled charge, naming its card's last four digits.
        card = request["payment"].get("creditCard", {})
        if card != {"cardNumber": CARD_LAST_FOUR, "expirationDate": "XXXX"}:
            return self._response(
                "3",
                "0",
                error=(
                    "54",
                    "The referenced transaction does not meet the criteria for issuing a credit.",
                ),
            )
        if original.status != "settledSuccessfully":
            return self._response(
                "3",
                "0",
                error=(
                    "54",
                    "The referenced transaction does not meet the criteria for issuing a credit.",
                ),
            )
        amount = Decimal(request["amount"])
        refunded = sum(
            (
                t.settle_amount
                for t in self.transactions.values()
                if t.ref_trans_id == original.trans_id and t.type == "refundTransaction"
            ),
            Decimal(0),
        )
        if amount <= 0 or amount + refunded > original.settle_amount:
            return self._response(
                "3",
                "0",
                error=(
                    "55",
                    "The sum of credits against the referenced transaction would exceed "
                    "the original debit amount.",
                ),
            )
        trans_id = self._new_id()
        self.transactions[trans_id] = Transaction(
            trans_id, kind, "refundPendingSettlement", "1", amount, amount,
            request.get("order", {}).get("invoiceNumber"), ref_trans_id=original.trans_id,
        )  # fmt: skip
        self.ledger.append(LedgerEntry(original.trans_id, "refund", minor(amount)))
        return self._response("1", trans_id, ref=original.trans_id)

    def _authorize(self, kind: str, request: Json) -> Json:
        opaque = request["payment"].get("opaqueData")
        if not isinstance(opaque, dict) or opaque.get("dataDescriptor") != ACCEPT_DESCRIPTOR:
            return self._response("3", "0", error=("E00114", "Invalid OTS Token."))
        token = str(opaque.get("dataValue"))
        if token in self._used_tokens:
            return self._response("3", "0", error=("E00114", "Invalid OTS Token."))
        self._used_tokens.add(token)
        amount = Decimal(request["amount"])
        invoice = request.get("order", {}).get("invoiceNumber")
        capture = kind == "authCaptureTransaction"
        trans_id = self._new_id()
        outcome = token.split("-", 1)[0]
        status, code = {
            "approve": (
                "capturedPendingSettlement" if capture else "authorizedPendingCapture",
                "1",
            ),
            "decline": ("declined", "2"),
            "review": ("FDSPendingReview" if capture else "FDSAuthorizedPendingReview", "4"),
        }.get(outcome, ("generalError", "3"))
        self.transactions[trans_id] = Transaction(
            trans_id,
            kind,
            status,
            code,
            amount,
            amount if status == "capturedPendingSettlement" else Decimal(0),
            invoice,
        )
        if code == "1":
            self.ledger.append(
                LedgerEntry(trans_id, "charge" if capture else "authorization", minor(amount))
            )
            return self._response("1", trans_id)
        if code == "4":
            result = self._response("4", trans_id)
            result["transactionResponse"]["messages"] = [
                {
                    "code": "252",
                    "description": "Your order has been received. Thank you for your business!",
                }
            ]
            return result
        if code == "2":
            return self._response("2", trans_id, error=("2", "This transaction has been declined."))
        return self._response("3", trans_id, error=("6", "The credit card number is invalid."))


def _ok() -> list[Json]:
    return [{"code": "I00001", "text": "Successful."}]


def _error(code: str, text: str) -> Json:
    return {"resultCode": "Error", "message": [{"code": code, "text": text}]}
