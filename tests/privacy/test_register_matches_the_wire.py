"""The processors register against the wire (P3): payments through the real Stripe and
Authorize.Net adapters,
shipments through the real FedEx adapter and email through the real SMTP adapter, each
against its loopback fake. Every request the fakes receive is recorded and taken apart
into fields (form fields, JSON paths, headers, SMTP commands), then compared with the
adapter's declaration: every field received is declared, and every declared field is
really sent."""

from __future__ import annotations

import email
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from email import policy
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from app.adapters.disclosure import TRANSPORT_HEADERS, Channel, Processor, Wire
from app.adapters.mail.base import OutgoingEmail
from app.adapters.mail.smtp import SmtpMailer
from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import CaptureMode, OpaqueCard, PaymentRequest
from app.adapters.payments.stripe import StripePaymentProvider
from app.adapters.shipping.base import RECIPIENT_FIELDS
from app.adapters.shipping.fedex import FedExCarrier
from tests.adapters import fake_authorizenet, fake_fedex, fake_stripe
from tests.adapters.fake_fedex import PARCEL, RECIPIENT
from tests.processes import free_port

pytestmark = pytest.mark.filterwarnings(
    # The Stripe SDK hands httpx the encoded form as `data=`; the warning is the SDK's.
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STRIPE_KEY = "sk_test_register"
MESSAGE = OutgoingEmail(
    message_id="0b7e6c1e-2f0a-4d67-9a57-2f1c6f0e9d11",
    to="Ada Lovelace <ada@example.com>",
    subject="Your order FCT-1001 has shipped",
    text="Hello Ada,\n\nYour ring is on its way to 12 St James's Square.\n",
    sender="Facet Fine Jewelry <shop@facet.test>",
    headers={"List-Unsubscribe": "<https://facet.test/unsubscribe/abc>"},
)


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes


class Recorder:
    """ASGI middleware in front of a fake: keeps every request exactly as it arrived."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[Captured] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Captured(scope["method"], scope["path"], headers, body))

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def json_paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of a JSON document's leaves; `[]` for every element of a list."""
    if isinstance(value, dict):
        found: set[str] = set()
        for key, item in value.items():
            found |= json_paths(item, f"{prefix}.{key}" if prefix else key)
        return found
    if isinstance(value, list):
        return set().union(*(json_paths(item, f"{prefix}[]") for item in value)) or {prefix}
    return {prefix}


def http_wires(request: Captured) -> set[Wire]:
    """The fields of one HTTP request, named the way declarations name them."""
    wires = {
        Wire(Channel.header, name) for name in request.headers if name not in TRANSPORT_HEADERS
    }
    if request.body:
        if request.headers.get("content-type", "").startswith("application/json"):
            wires |= {Wire(Channel.json, path) for path in json_paths(json.loads(request.body))}
        else:
            for key, _ in parse_qsl(request.body.decode(), keep_blank_values=True):
                wires.add(Wire(Channel.form, re.sub(r"\[\d+\]", "[]", key)))
    if re.search(r"/(pi|re)_[A-Za-z0-9]+", request.path):
        wires.add(Wire(Channel.url, "payment_intents/{id}"))
    return wires


def declared(processor: Processor) -> set[Wire]:
    """Header names compare case-insensitively, as HTTP does."""
    return {
        Wire(w.channel, w.name.lower()) if w.channel == Channel.header else w
        for w in processor.wires
    }


# -- Stripe ---------------------------------------------------------------------------------


@pytest.fixture
async def stripe_wire() -> AsyncIterator[tuple[Recorder, StripePaymentProvider]]:
    """The real Stripe adapter, talking to the fake through a recorder."""
    recorder = Recorder(fake_stripe.FakeStripe(STRIPE_KEY).app)
    with fake_stripe.serve(recorder) as base_url:  # type: ignore[arg-type]
        provider = StripePaymentProvider(
            api_key=STRIPE_KEY, webhook_secret="whsec_register", api_base=base_url
        )
        try:
            yield recorder, provider
        finally:
            await provider.close()


async def test_stripe_receives_exactly_the_declared_fields(
    stripe_wire: tuple[Recorder, StripePaymentProvider],
) -> None:
    recorder, provider = stripe_wire
    # Every call the port has: pay with a hold, look, capture, refund in part and in
    # full; then a second order cancelled before payment.
    held = await provider.create_intent(
        PaymentRequest("ord_1", "FCT-1001", 129_900, "USD", CaptureMode.manual, "order-1-i")
    )
    await provider.confirm(held.id, payment_method="pm_card_visa", idempotency_key="c-1")
    await provider.retrieve(held.id)
    await provider.capture(held.id, idempotency_key="order-1-capture")
    await provider.refund(held.id, amount_minor=10_000, idempotency_key="order-1-r1")
    await provider.refund(held.id, amount_minor=None, idempotency_key="order-1-r2")
    dropped = await provider.create_intent(
        PaymentRequest("ord_2", "FCT-1002", 5_000, "USD", CaptureMode.automatic, "order-2-i")
    )
    await provider.cancel(dropped.id, idempotency_key="order-2-cancel")

    received = set().union(*(http_wires(request) for request in recorder.requests))
    assert len(recorder.requests) == 8
    assert received - declared(provider.disclosure) == set(), "sent but not declared"
    assert declared(provider.disclosure) - received == set(), "declared but never sent"


async def test_stripe_is_told_nothing_personal_and_no_telemetry(
    stripe_wire: tuple[Recorder, StripePaymentProvider],
) -> None:
    recorder, provider = stripe_wire
    intent = await provider.create_intent(
        PaymentRequest("ord_1", "FCT-1001", 129_900, "USD", CaptureMode.automatic, "k-1")
    )
    await provider.confirm(intent.id, payment_method="pm_card_visa", idempotency_key="k-2")

    create, confirm = recorder.requests
    assert dict(parse_qsl(create.body.decode())) == {
        "amount": "129900",
        "currency": "usd",
        "capture_method": "automatic",
        "payment_method_types[0]": "card",
        "metadata[order_id]": "ord_1",
        "metadata[order_number]": "FCT-1001",
    }
    assert dict(parse_qsl(confirm.body.decode())) == {"payment_method": "pm_card_visa"}
    for request in recorder.requests:
        assert "x-stripe-client-telemetry" not in request.headers
        assert re.fullmatch(r"Stripe/v1 PythonBindings/[\d.]+", request.headers["user-agent"])
        agent = json.loads(request.headers["x-stripe-client-user-agent"])
        assert set(agent) == {"bindings_version", "lang", "lang_version", "httplib"}


# -- Authorize.Net ---------------------------------------------------------------------------

ANET_LOGIN, ANET_KEY, ANET_SIGNATURE_KEY = "login-register", "key-register", "ABCDEF0123456789"


@pytest.fixture
def anet_wire() -> Iterator[tuple[Recorder, fake_authorizenet.FakeAuthorizeNet, str]]:
    fake = fake_authorizenet.FakeAuthorizeNet(ANET_LOGIN, ANET_KEY, ANET_SIGNATURE_KEY)
    recorder = Recorder(fake.app)
    with fake_authorizenet.serve(recorder) as base_url:  # type: ignore[arg-type]
        yield recorder, fake, f"{base_url}{fake_authorizenet.PATH}"


async def test_authorizenet_receives_exactly_the_declared_fields(
    anet_wire: tuple[Recorder, fake_authorizenet.FakeAuthorizeNet, str],
) -> None:
    recorder, fake, endpoint = anet_wire
    provider = AuthorizeNetPaymentProvider(
        api_login_id=ANET_LOGIN,
        transaction_key=ANET_KEY,
        signature_key=ANET_SIGNATURE_KEY,
        api_base=endpoint,
    )
    token = OpaqueCard(fake_authorizenet.ACCEPT_DESCRIPTOR, "approve-register-1")
    try:
        # Every call the port has: pay with a hold, look, capture, refund in part once
        # settled; then a second order cancelled while its authorization is held.
        pending = await provider.create_intent(
            PaymentRequest("ord_1", "FCT-1001", 129_900, "USD", CaptureMode.manual, "order-1-i")
        )
        held = await provider.confirm(pending.id, payment_method=token, idempotency_key="c-1")
        await provider.retrieve(held.id)
        await provider.capture(held.id, idempotency_key="order-1-capture")
        fake.settle(held.id)
        await provider.refund(held.id, amount_minor=10_000, idempotency_key="order-1-r1")
        other = await provider.create_intent(
            PaymentRequest("ord_2", "FCT-1002", 5_000, "USD", CaptureMode.manual, "order-2-i")
        )
        second = OpaqueCard(fake_authorizenet.ACCEPT_DESCRIPTOR, "approve-register-2")
        dropped = await provider.confirm(other.id, payment_method=second, idempotency_key="c-2")
        await provider.cancel(dropped.id, idempotency_key="order-2-cancel")
    finally:
        await provider.close()

    received = set().union(*(http_wires(request) for request in recorder.requests))
    assert received - declared(provider.disclosure) == set(), "sent but not declared"
    assert declared(provider.disclosure) - received == set(), "declared but never sent"
    # Facet's own order ids stay home: the order number names the order.
    assert not any(b"ord_" in request.body for request in recorder.requests)


# -- FedEx ----------------------------------------------------------------------------------


@pytest.fixture
async def fedex_wire() -> AsyncIterator[tuple[Recorder, fake_fedex.FakeFedEx, FedExCarrier]]:
    """The real FedEx adapter, talking to the fake through a recorder."""
    fake = fake_fedex.FakeFedEx()
    recorder = Recorder(fake.app)
    with fake_fedex.serve(recorder) as base_url:  # type: ignore[arg-type]
        carrier = fake_fedex.make_carrier(base_url, timeout_seconds=5.0)
        try:
            yield recorder, fake, carrier
        finally:
            await carrier.close()


def values_at(document: Any, path: str) -> list[Any]:
    """The values a dotted path with `[]` reaches in a JSON document."""
    found = [document]
    for part in path.split("."):
        key, lists = part.removesuffix("[]" * part.count("[]")), part.count("[]")
        found = [item[key] for item in found if isinstance(item, dict) and key in item]
        for _ in range(lists):
            found = [element for item in found for element in item]
    return found


async def test_fedex_receives_exactly_the_declared_fields(
    fedex_wire: tuple[Recorder, fake_fedex.FakeFedEx, FedExCarrier],
) -> None:
    recorder, fake, carrier = fedex_wire
    await carrier.quote(RECIPIENT, PARCEL)
    shipment = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="order-1-ship"
    )
    fake.scans[shipment.tracking_number] = []
    await carrier.track(shipment.tracking_number)

    paths = [request.path for request in recorder.requests]
    assert paths == [
        fake_fedex.TOKEN_PATH,
        fake_fedex.RATE_PATH,
        fake_fedex.REFERENCE_PATH,
        fake_fedex.SHIP_PATH,
        fake_fedex.TRACK_PATH,
    ]
    received = set().union(*(http_wires(request) for request in recorder.requests))
    assert received - declared(carrier.disclosure) == set(), "sent but not declared"
    assert declared(carrier.disclosure) - received == set(), "declared but never sent"


async def test_fedex_gets_each_recipient_field_where_the_register_says(
    fedex_wire: tuple[Recorder, fake_fedex.FakeFedEx, FedExCarrier],
) -> None:
    recorder, _, carrier = fedex_wire
    await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="order-1-ship"
    )

    [ship] = [r for r in recorder.requests if r.path == fake_fedex.SHIP_PATH]
    body = json.loads(ship.body)
    personal = [f for f in carrier.disclosure.receives if f.sources[0].startswith("Recipient.")]
    assert {f.sources[0] for f in personal} == {f"Recipient.{name}" for name in RECIPIENT_FIELDS}
    for item in personal:
        value = getattr(RECIPIENT, item.sources[0].removeprefix("Recipient."))
        label_paths = [w.name for w in item.sent_as if ".recipients[]." in w.name]
        assert any(value in values_at(body, path) for path in label_paths), item.name
    # Nothing else of the recipient's travels: every leaf under the recipient is one of them.
    [party] = body["requestedShipment"]["recipients"]
    assert sorted(json_paths(party)) == [
        "address.city",
        "address.countryCode",
        "address.postalCode",
        "address.stateOrProvinceCode",
        "address.streetLines[]",
        "contact.personName",
        "contact.phoneNumber",
    ]


# -- SMTP -----------------------------------------------------------------------------------

SMTP_USER = "facet-mailer"
SMTP_PASSWORD = "relay-password"


@dataclass
class Delivery:
    ehlo: str | None
    authenticated: bool
    mail_from: str | None
    rcpt_tos: list[str]
    content: bytes


class RecordingRelay:
    """An aiosmtpd handler keeping each delivery with the session's EHLO name and login."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.deliveries.append(
            Delivery(
                ehlo=session.host_name,
                authenticated=bool(session.authenticated),
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
            )
        )
        return "250 Message accepted for delivery"


def accept_login(
    server: Any, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp_relay() -> Iterator[tuple[RecordingRelay, int]]:
    relay = RecordingRelay()
    port = free_port()  # the controller's readiness check needs the port up front
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=port,
        authenticator=accept_login,
        auth_require_tls=False,  # loopback only; production relays use STARTTLS
    )
    controller.start()
    try:
        yield relay, port
    finally:
        controller.stop()


def smtp_wires(delivery: Delivery, message: OutgoingEmail) -> set[Wire]:
    wires: set[Wire] = set()
    if delivery.ehlo:
        wires.add(Wire(Channel.smtp, "EHLO"))
    if delivery.authenticated:
        wires.add(Wire(Channel.smtp, "AUTH"))
    if delivery.mail_from:
        wires.add(Wire(Channel.smtp, "MAIL FROM"))
    if delivery.rcpt_tos:
        wires.add(Wire(Channel.smtp, "RCPT TO"))
    parsed = email.message_from_bytes(delivery.content, policy=policy.default)
    extra = {name.lower() for name in message.headers}
    for name in parsed:
        wires.add(Wire(Channel.header, "*" if name.lower() in extra else name.lower()))
    if parsed.get_payload():
        wires.add(Wire(Channel.smtp, "DATA"))
    return wires


async def test_smtp_relay_receives_exactly_the_declared_fields(
    smtp_relay: tuple[RecordingRelay, int],
) -> None:
    relay, port = smtp_relay
    mailer = SmtpMailer(
        host="127.0.0.1",
        port=port,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        timeout_seconds=5,
        sender=MESSAGE.sender,
    )

    await mailer.send(MESSAGE)

    [delivery] = relay.deliveries
    assert delivery.authenticated
    received = smtp_wires(delivery, MESSAGE)
    assert received - declared(mailer.disclosure) == set(), "sent but not declared"
    assert declared(mailer.disclosure) - received == set(), "declared but never sent"
    # What the personal fields carry: the recipient, and the message as written.
    assert delivery.rcpt_tos == ["ada@example.com"]
    parsed = email.message_from_bytes(delivery.content, policy=policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    assert (parsed["To"], parsed["Subject"]) == (MESSAGE.to, MESSAGE.subject)
    assert parsed.get_content().replace("\r\n", "\n") == MESSAGE.text
