"""A loopback stand-in for the part of the Stripe HTTP API the payment adapter uses.

The real `stripe` SDK talks to it over TCP, so the tests cover the SDK's wire
format, error parsing, retries and timeouts. It behaves like Stripe where that
matters to us: form-encoded requests, Stripe-shaped JSON and errors, and
`Idempotency-Key` replay (same key and parameters -> the stored response; same
key, other parameters -> 400 idempotency_error). It records every request, keeps
a ledger of the money it moved, and can be scripted to misbehave:

    fake.script("confirm", Fail(500))      # the next confirm fails before doing anything
    fake.script("confirm", Delay(1.0))     # the next confirm is applied, then answered late
"""

from __future__ import annotations

import asyncio
import copy
import secrets
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Json = dict[str, Any]
Outcome = tuple[int, Json]
Handler = Callable[[dict[str, str], dict[str, str]], Outcome]

SUCCEEDING_CARDS = {"pm_card_visa", "pm_card_mastercard"}
# Stripe's test method for a card whose issuer demands 3-D Secure on every payment.
AUTHENTICATION_CARDS = {"pm_card_authenticationRequired"}
DECLINING_CARDS = {
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
    "pm_card_insufficientFunds": ("insufficient_funds", "Your card has insufficient funds."),
}
CONFIRMABLE = {"requires_payment_method", "requires_confirmation"}
CANCELABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
}


@dataclass(frozen=True)
class RecordedRequest:
    action: str
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    form: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass(frozen=True)
class ServerCharge:
    intent_id: str
    kind: str  # authorization, capture, void, refund
    amount: int


@dataclass(frozen=True)
class Fail:
    """Answer with a Stripe error before doing anything (nothing is stored or applied)."""

    status: int = 500
    type: str = "api_error"


@dataclass(frozen=True)
class Delay:
    """Apply the request as usual, then hold the response back for `seconds`."""

    seconds: float


Fault = Fail | Delay


def error_body(type_: str, message: str, **extra: Any) -> Json:
    return {"error": {"type": type_, "message": message, **extra}}


class FakeStripe:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.app = Starlette(
            routes=[
                self._route("/v1/payment_intents", "POST", "create", self._create),
                self._route("/v1/payment_intents/{id}", "GET", "retrieve", self._retrieve),
                self._route("/v1/payment_intents/{id}/confirm", "POST", "confirm", self._confirm),
                self._route("/v1/payment_intents/{id}/capture", "POST", "capture", self._capture),
                self._route("/v1/payment_intents/{id}/cancel", "POST", "cancel", self._cancel),
                self._route("/v1/refunds", "POST", "refund", self._refund),
            ]
        )
        self.reset()

    def reset(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.ledger: list[ServerCharge] = []
        self.intents: dict[str, Json] = {}
        self._stored: dict[str, tuple[object, Outcome]] = {}
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)

    def script(self, action: str, fault: Fault, *, times: int = 1) -> None:
        """Make the next `times` requests of `action` misbehave."""
        self._faults[action].extend([fault] * times)

    def requests_for(self, action: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.action == action]

    # --- plumbing -------------------------------------------------------------------

    def _route(self, path: str, method: str, action: str, handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, action, handler)

        return Route(path, endpoint, methods=[method])

    async def _serve(self, request: Request, action: str, handler: Handler) -> Response:
        body = (await request.body()).decode()
        form = dict(parse_qsl(body, keep_blank_values=True))
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(
            RecordedRequest(action, request.method, request.url.path, headers, form)
        )
        response_headers = {"Request-Id": f"req_{secrets.token_hex(8)}"}

        if headers.get("authorization") != f"Bearer {self.api_key}":
            return JSONResponse(
                error_body("invalid_request_error", "Invalid API Key provided."),
                401,
                headers=response_headers,
            )
        queue = self._faults[action]
        fault = queue.popleft() if queue else None
        if isinstance(fault, Fail):
            return JSONResponse(
                error_body(fault.type, "Scripted failure."), fault.status, headers=response_headers
            )

        key = headers.get("idempotency-key") if request.method == "POST" else None
        fingerprint = (request.url.path, tuple(sorted(form.items())))
        if key is not None and key in self._stored:
            stored_fingerprint, outcome = self._stored[key]
            if stored_fingerprint == fingerprint:
                response_headers["Idempotent-Replayed"] = "true"
            else:
                outcome = (
                    400,
                    error_body(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    ),
                )
        else:
            status, payload = handler(dict(request.path_params), form)
            outcome = (status, copy.deepcopy(payload))
            if key is not None:
                self._stored[key] = (fingerprint, outcome)

        if isinstance(fault, Delay):
            await asyncio.sleep(fault.seconds)
        status, payload = outcome
        return JSONResponse(payload, status, headers=response_headers)

    def _intent(self, intent_id: str) -> Json | None:
        return self.intents.get(intent_id)

    @staticmethod
    def _missing(kind: str, ident: str, param: str = "intent") -> Outcome:
        return 404, error_body(
            "invalid_request_error",
            f"No such {kind}: '{ident}'",
            code="resource_missing",
            param=param,
        )

    @staticmethod
    def _unexpected_state(intent: Json, verb: str) -> Outcome:
        return 400, error_body(
            "invalid_request_error",
            f"This PaymentIntent's status is {intent['status']}, so it cannot be {verb}.",
            code="payment_intent_unexpected_state",
            payment_intent=copy.deepcopy(intent),
        )

    # --- endpoints ------------------------------------------------------------------

    def _create(self, _: dict[str, str], form: dict[str, str]) -> Outcome:
        amount = form.get("amount", "")
        if not amount.isdigit() or int(amount) <= 0:
            return 400, error_body(
                "invalid_request_error",
                "Invalid positive integer",
                code="parameter_invalid_integer",
                param="amount",
            )
        currency = form.get("currency", "")
        if len(currency) != 3:
            return 400, error_body(
                "invalid_request_error",
                "Invalid currency",
                code="parameter_invalid_empty",
                param="currency",
            )
        metadata = {
            name[len("metadata[") : -1]: value
            for name, value in form.items()
            if name.startswith("metadata[") and name.endswith("]")
        }
        method_types = [v for k, v in sorted(form.items()) if k.startswith("payment_method_types[")]
        intent_id = f"pi_{secrets.token_hex(12)}"
        intent: Json = {
            "id": intent_id,
            "object": "payment_intent",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "next_action": None,
            "amount": int(amount),
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": currency.lower(),
            "capture_method": form.get("capture_method", "automatic_async"),
            "status": "requires_payment_method",
            "metadata": metadata,
            "payment_method": None,
            "payment_method_types": method_types or ["card"],
            "latest_charge": None,
            "last_payment_error": None,
            "livemode": False,
            "created": int(time.time()),
        }
        self.intents[intent["id"]] = intent
        return 200, intent

    def _retrieve(self, params: dict[str, str], _: dict[str, str]) -> Outcome:
        intent = self._intent(params["id"])
        if intent is None:
            return self._missing("payment_intent", params["id"])
        return 200, intent

    def _confirm(self, params: dict[str, str], form: dict[str, str]) -> Outcome:
        intent = self._intent(params["id"])
        if intent is None:
            return self._missing("payment_intent", params["id"])
        if intent["status"] not in CONFIRMABLE:
            return self._unexpected_state(intent, "confirmed")
        method = form.get("payment_method", "")
        if method in DECLINING_CARDS:
            decline_code, message = DECLINING_CARDS[method]
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline_code,
                "message": message,
            }
            intent["last_payment_error"] = error
            intent["status"] = "requires_payment_method"
            return 402, {"error": {**error, "payment_intent": copy.deepcopy(intent)}}
        if method in AUTHENTICATION_CARDS:
            intent["payment_method"] = method
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": "https://hooks.stripe.com/3d_secure_2/hosted",
                },
            }
            return 200, intent
        if method not in SUCCEEDING_CARDS:
            return self._missing("PaymentMethod", method, param="payment_method")
        intent["payment_method"] = method
        intent["last_payment_error"] = None
        intent["latest_charge"] = f"ch_{secrets.token_hex(12)}"
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
            self.ledger.append(ServerCharge(intent["id"], "authorization", intent["amount"]))
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self.ledger.append(ServerCharge(intent["id"], "capture", intent["amount"]))
        return 200, intent

    def authenticate(self, intent_id: str) -> Json:
        """The buyer passes 3-D Secure in their browser: the intent completes as a confirm
        would have (the app learns it from the webhook)."""
        intent = self.intents[intent_id]
        assert intent["status"] == "requires_action", intent["status"]
        intent["next_action"] = None
        intent["latest_charge"] = f"ch_{secrets.token_hex(12)}"
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
            self.ledger.append(ServerCharge(intent_id, "authorization", intent["amount"]))
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]
            self.ledger.append(ServerCharge(intent_id, "capture", intent["amount"]))
        return copy.deepcopy(intent)

    def _capture(self, params: dict[str, str], _: dict[str, str]) -> Outcome:
        intent = self._intent(params["id"])
        if intent is None:
            return self._missing("payment_intent", params["id"])
        if intent["status"] != "requires_capture":
            return self._unexpected_state(intent, "captured")
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["amount_capturable"] = 0
        self.ledger.append(ServerCharge(intent["id"], "capture", intent["amount"]))
        return 200, intent

    def _cancel(self, params: dict[str, str], _: dict[str, str]) -> Outcome:
        intent = self._intent(params["id"])
        if intent is None:
            return self._missing("payment_intent", params["id"])
        if intent["status"] not in CANCELABLE:
            return self._unexpected_state(intent, "canceled")
        if intent["status"] == "requires_capture":
            self.ledger.append(ServerCharge(intent["id"], "void", intent["amount_capturable"]))
        intent["status"] = "canceled"
        intent["amount_capturable"] = 0
        return 200, intent

    def _refund(self, _: dict[str, str], form: dict[str, str]) -> Outcome:
        intent_id = form.get("payment_intent", "")
        intent = self._intent(intent_id)
        if intent is None:
            return self._missing("payment_intent", intent_id, param="payment_intent")
        if intent["status"] != "succeeded":
            return self._unexpected_state(intent, "refunded")
        refunded = sum(
            c.amount for c in self.ledger if c.intent_id == intent_id and c.kind == "refund"
        )
        remaining = intent["amount_received"] - refunded
        amount = int(form["amount"]) if "amount" in form else remaining
        if amount <= 0 or amount > remaining:
            return 400, error_body(
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount ({remaining}).",
                code="amount_too_large",
                param="amount",
            )
        self.ledger.append(ServerCharge(intent_id, "refund", amount))
        return 200, {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "charge": intent["latest_charge"],
            "payment_intent": intent_id,
            "status": "succeeded",
            "metadata": {},
            "created": int(time.time()),
        }


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="off", log_config=None, access_log=False, timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake Stripe server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the fake Stripe server did not stop")
