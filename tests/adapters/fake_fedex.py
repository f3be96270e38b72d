"""A loopback stand-in for FedEx's REST API: OAuth, Rate, Ship and Track.

It records every request, dedupes shipments by `x-customer-transaction-id` (unless
`dedupe_by_transaction_id` is off, as on the real FedEx), finds shipments by customer
reference, and lets a test revoke tokens, inject failures and delay replies (before
handling, or after: `late_replies` applies the request, then answers late).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.adapters.shipping.base import Parcel, Recipient
from app.adapters.shipping.fedex import FedExCarrier

TOKEN_PATH = "/oauth/token"
RATE_PATH = "/rate/v1/rates/quotes"
SHIP_PATH = "/ship/v1/shipments"
TRACK_PATH = "/track/v1/trackingnumbers"
REFERENCE_PATH = "/track/v1/referencenumbers"

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"

# A US recipient and parcel the fake ships to, every recipient field filled in.
RECIPIENT = Recipient(
    full_name="Ada Lovelace",
    line1="12 St James's Square",
    line2="Flat 3",
    city="Springfield",
    region="IL",
    postal_code="62701",
    country="US",
    phone="+1 217 555 0100",
)
PARCEL = Parcel(weight_grams=400, declared_value_minor=125_000, currency="USD")


def make_carrier(base_url: str, **overrides: Any) -> FedExCarrier:
    """The real FedEx adapter, signed in to the fake served at `base_url`."""
    options: dict[str, Any] = {
        "api_base": base_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "account_number": "740561073",
        "ship_from_postal_code": "10036",
        "ship_from_country": "US",
        "timeout_seconds": 2.0,
    }
    options.update(overrides)
    return FedExCarrier(**options)


def fedex_error(code: str, message: str) -> dict[str, Any]:
    return {"transactionId": "fake-txn", "errors": [{"code": code, "message": message}]}


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class FakeFedEx:
    expires_in: int = 3600
    token_requests: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    reject_all_tokens: bool = False
    requests: list[Recorded] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    by_transaction_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    scans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    failures: dict[str, deque[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    dedupe_by_transaction_id: bool = True
    by_reference: dict[str, list[str]] = field(default_factory=dict)
    late_replies: dict[str, deque[float]] = field(default_factory=dict)

    def reset(self) -> None:
        self.__dict__.update(FakeFedEx().__dict__)

    def fail(self, path: str, status: int, body: dict[str, Any], *, times: int = 1) -> None:
        self.failures.setdefault(path, deque()).extend([(status, body)] * times)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(TOKEN_PATH, self._token, methods=["POST"]),
                Route(RATE_PATH, self._api(self._rate), methods=["POST"]),
                Route(SHIP_PATH, self._api(self._ship), methods=["POST"]),
                Route(TRACK_PATH, self._api(self._track), methods=["POST"]),
                Route(REFERENCE_PATH, self._api(self._by_reference), methods=["POST"]),
            ]
        )

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        self.token_requests += 1
        if delay := self.delays.get(TOKEN_PATH):
            await asyncio.sleep(delay)
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            body = fedex_error("NOT.AUTHORIZED.ERROR", "The given client credentials were invalid")
            return JSONResponse(body, status_code=401)
        token = f"token-{self.token_requests}"
        self.valid_tokens.add(token)
        return JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
                "scope": "CXS",
            }
        )

    def _api(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            path = request.url.path
            record = Recorded(path, dict(request.headers), await request.json())
            self.requests.append(record)
            response = await self._answer(request, record, handler)
            record.status = response.status_code
            return response

        return endpoint

    async def _answer(self, request: Request, record: Recorded, handler: Any) -> Response:
        if delay := self.delays.get(record.path):
            await asyncio.sleep(delay)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.reject_all_tokens or token not in self.valid_tokens:
            body = fedex_error("NOT.AUTHORIZED.ERROR", "Access token expired or invalid")
            return JSONResponse(body, status_code=401)
        if queued := self.failures.get(record.path):
            status, body = queued.popleft()
            return JSONResponse(body, status_code=status)
        reply: dict[str, Any] = await handler(record)
        if late := self.late_replies.get(record.path):
            await asyncio.sleep(late.popleft())
        return JSONResponse(reply)

    async def _rate(self, record: Recorded) -> dict[str, Any]:
        shipment = record.body["requestedShipment"]
        package = shipment["requestedPackageLineItems"][0]
        kilograms = Decimal(str(package["weight"]["value"]))
        currency = shipment.get("preferredCurrency", "USD")
        account = Decimal("25.00") + kilograms * Decimal("4.50")
        rates = [("LIST", account + 10), ("ACCOUNT", account)]
        rated = [
            {"rateType": kind, "totalNetCharge": float(amount), "currency": currency}
            for kind, amount in rates
        ]
        return {
            "transactionId": "fake-rate",
            "output": {
                "rateReplyDetails": [
                    {"serviceType": shipment["serviceType"], "ratedShipmentDetails": rated}
                ]
            },
        }

    async def _ship(self, record: Recorded) -> dict[str, Any]:
        transaction_id = record.headers.get("x-customer-transaction-id")
        if (
            self.dedupe_by_transaction_id
            and transaction_id
            and transaction_id in self.by_transaction_id
        ):
            return self.by_transaction_id[transaction_id]
        self.created.append(record.body)
        tracking_number = f"7949{len(self.created):08d}"
        package = record.body["requestedShipment"]["requestedPackageLineItems"][0]
        for ref in package.get("customerReferences", []):
            self.by_reference.setdefault(ref["value"], []).append(tracking_number)
        reply = {
            "transactionId": f"fake-ship-{len(self.created)}",
            "customerTransactionId": transaction_id,
            "output": {
                "transactionShipments": [
                    {
                        "serviceType": record.body["requestedShipment"]["serviceType"],
                        "masterTrackingNumber": tracking_number,
                        "pieceResponses": [{"trackingNumber": tracking_number}],
                    }
                ]
            },
        }
        if transaction_id:
            self.by_transaction_id[transaction_id] = reply
        return reply

    async def _by_reference(self, record: Recorded) -> dict[str, Any]:
        reference = record.body["referencesInformation"]["value"]
        numbers = self.by_reference.get(reference, [])
        results: list[dict[str, Any]] = [
            {
                "trackingNumberInfo": {"trackingNumber": number},
                "serviceDetail": {"type": "PRIORITY_OVERNIGHT"},
            }
            for number in numbers
        ] or [
            {
                "error": {
                    "code": "TRACKING.REFERENCENUMBER.NOTFOUND",
                    "message": "Reference number cannot be found.",
                }
            }
        ]
        return {
            "transactionId": "fake-reference",
            "output": {"completeTrackResults": [{"trackResults": results}]},
        }

    async def _track(self, record: Recorded) -> dict[str, Any]:
        number = record.body["trackingInfo"][0]["trackingNumberInfo"]["trackingNumber"]
        result: dict[str, Any] = {"trackingNumberInfo": {"trackingNumber": number}}
        if number in self.scans:
            result["scanEvents"] = self.scans[number]
        else:
            result["error"] = {
                "code": "TRACKING.TRACKINGNUMBER.NOTFOUND",
                "message": "Tracking number cannot be found.",
            }
        return {
            "transactionId": "fake-track",
            "output": {
                "completeTrackResults": [{"trackingNumber": number, "trackResults": [result]}]
            },
        }


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Run `app` with uvicorn on a loopback port it binds itself; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake FedEx server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
