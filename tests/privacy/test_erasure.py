"""Access and erasure (P8) through the personal-data registry, on both databases.

A customer whose name, email, phone and street are unique markers uses the store;
the export must hold every personal value stored about them, and after erasure no
text or JSON column of any table, and no file the mail sink wrote, holds a marker."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import app.models  # noqa: F401  (every table on Base.metadata)
from app.accounts.models import Account, Role
from app.accounts.verification import VERIFICATION_EMAIL_KIND
from app.adapters.mail.base import OutgoingEmail
from app.adapters.mail.sink import MailSink
from app.adapters.mail.smtp import SmtpMailer
from app.adapters.payments.fake import FakePaymentProvider
from app.catalog.models import InventoryMovement, MovementReason
from app.core.db import Base
from app.core.idempotency import IdempotencyRecord
from app.orders.models import Order, OrderStatus
from app.outbox.service import run_once
from app.privacy.consent_models import (
    MARKETING_PURPOSES,
    CampaignRecipient,
    ConsentEvent,
    ConsentSource,
    ContactAddress,
)
from app.privacy.newsletter import CONFIRMATION_KIND
from app.privacy.service import RECEIPT_SUBJECT
from app.privacy.subjects import account_subject, email_subject
from tests.factories import DEFAULT_PASSWORD, bearer, login, signed_in
from tests.orders.conftest import (
    PlacedOrder,
    pay,
    place_order,
    provider,  # noqa: F401  (fixture)
    stock_of,
)
from tests.privacy.consent_helpers import latest_token
from tests.processes import free_port

PROBLEM = "https://facet.example/problems/"


@dataclass(frozen=True)
class Markers:
    name: str
    email: str
    phone: str
    street: str

    def all(self) -> list[str]:
        return [self.name, self.email, self.phone, self.street]


def new_markers() -> Markers:
    tag = secrets.token_hex(4)
    digits = str(secrets.randbelow(9_000_000) + 1_000_000)
    return Markers(
        name=f"Zanzibar{tag} Quillfeather",
        email=f"marker.{tag}@example.com",
        phone=f"+1 555 {digits}",
        street=f"{tag} Marigoldmarker Lane",
    )


class RecordingSink(MailSink):
    """The real sink, remembering the order in which messages went to whom."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sent: list[OutgoingEmail] = []

    async def send(self, message: OutgoingEmail) -> None:
        await super().send(message)
        self.sent.append(message)


@pytest.fixture
def sink(bound_app: FastAPI, tmp_path: Path) -> Any:
    saved = bound_app.state.mail_sender
    bound_app.state.mail_sender = RecordingSink(tmp_path / "mail")
    yield bound_app.state.mail_sender
    bound_app.state.mail_sender = saved


@dataclass
class Customer:
    markers: Markers
    headers: dict[str, str]
    shipped: PlacedOrder
    unpaid: PlacedOrder
    guest: PlacedOrder  # placed before registering, joined once the email was verified


async def register(client: httpx.AsyncClient, markers: Markers) -> dict[str, str]:
    created = await client.post(
        "/v1/accounts",
        json={"email": markers.email, "password": DEFAULT_PASSWORD, "full_name": markers.name,
              "phone": markers.phone, "date_of_birth": "1980-01-02"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    return bearer((await login(client, markers.email))["access_token"])


async def deliver(sessionmaker: async_sessionmaker[AsyncSession], sink: MailSink) -> None:
    await run_once(sessionmaker, sink)


async def verify_email(client: httpx.AsyncClient, session: AsyncSession, email: str) -> None:
    token = await latest_token(session, kind=VERIFICATION_EMAIL_KIND, to=email)
    verified = await client.post("/v1/accounts/email-verification", json={"token": token})
    assert verified.status_code == 200, verified.text


async def subscribe_newsletter(
    client: httpx.AsyncClient, session: AsyncSession, email: str, *, confirm: bool
) -> None:
    asked = await client.post(
        "/v1/newsletter/subscriptions", json={"email": email, "is_adult": True}
    )
    assert asked.status_code == 204, asked.text
    if confirm:
        token = await latest_token(session, kind=CONFIRMATION_KIND, to=email)
        confirmed = await client.post("/v1/newsletter/confirm", json={"token": token})
        assert confirmed.status_code == 204, confirmed.text


async def make_customer(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: MailSink,
    staff: dict[str, str],
) -> Customer:
    """As a guest: orders with marketing asked for and confirms a newsletter subscription.
    Then registers, chooses consents, asks for the newsletter again (left unconfirmed),
    verifies the email (the guest choices and order join the account), saves an address,
    checks out twice (one order paid and shipped, one left unpaid), receives a campaign,
    gets the emails delivered, and is named in staff notes."""
    markers = new_markers()
    guest = await place_order(client, session, email=markers.email, marketing_opt_in=True)
    await subscribe_newsletter(client, session, markers.email, confirm=True)
    headers = await register(client, markers)
    chosen = await client.put(
        "/v1/me/consents",
        json={"marketing_mail": True, "testimonial_name": True},
        headers=headers,
    )
    assert chosen.status_code == 200, chosen.text
    await subscribe_newsletter(client, session, markers.email, confirm=False)
    await verify_email(client, session, markers.email)
    address = {"full_name": markers.name, "line1": markers.street, "city": "Springfield",
               "postal_code": "62701", "country": "US", "phone": markers.phone}  # fmt: skip
    saved = await client.post("/v1/me/addresses", json=address, headers=headers)
    assert saved.status_code == 201, saved.text
    shipping = {k: v for k, v in address.items() if k != "phone"}
    contact = {"email": markers.email, "phone": markers.phone, "shipping_address": shipping}
    shipped = await place_order(client, session, headers=headers, **contact)
    assert (await pay(client, shipped, headers=headers)).status_code == 200
    sent = await client.post(f"/v1/admin/orders/{shipped.id}/ship", headers=staff)
    assert sent.status_code == 200, sent.text
    unpaid = await place_order(
        client, session, headers=headers, referral_code="FRIEND-42", **contact
    )
    session.add(
        InventoryMovement(
            variant_id=shipped.variant_id, delta=0, stock_after=0,
            reason=MovementReason.correction, note=f"box returned by {markers.name}",
        )
    )  # fmt: skip
    await session.commit()
    queued = await client.post(
        "/v1/admin/campaigns",
        json={"purpose": "marketing_email", "subject_line": "Winter", "text": "New rings."},
        headers=staff,
    )
    assert queued.status_code == 201, queued.text
    await deliver(sessionmaker, sink)
    assert any(m.to == markers.email for m in sink.sent)
    return Customer(markers, headers, shipped, unpaid, guest)


async def personal_values(session: AsyncSession) -> list[tuple[str, str]]:
    """Every text and JSON value of every table, as (table.column, text)."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in (await session.execute(select(*columns))).all():
            for column, value in zip(columns, row, strict=True):
                if value is not None:
                    shown = value if isinstance(value, str) else json.dumps(value)
                    found.append((f"{table.name}.{column.name}", shown))
    return found


async def marked(session: AsyncSession, markers: Markers) -> list[tuple[str, str]]:
    needles = [m.lower() for m in markers.all()]
    return [
        (where, value)
        for where, value in await personal_values(session)
        if any(needle in value.lower() for needle in needles)
    ]


def marked_files(directory: Path, markers: Markers) -> list[str]:
    needles = [m.lower() for m in markers.all()]
    if not directory.is_dir():
        return []
    return [
        path.name
        for path in directory.iterdir()
        if any(n in path.read_bytes().decode("utf-8", "replace").lower() for n in needles)
    ]


def leaves(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [] if value is None else [str(value)]


async def test_the_export_holds_every_personal_value_stored_about_the_customer(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: MailSink,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    customer = await make_customer(client, session, sessionmaker, sink, staff)

    response = await client.post("/v1/me/privacy/export", headers=customer.headers)

    assert response.status_code == 200, response.text
    document = response.json()
    exported = set(leaves(document))
    stored = await marked(session, customer.markers)
    assert {where.split(".")[0] for where, _ in stored} >= {
        "accounts", "addresses", "orders", "outbox_messages", "inventory_movements",
        "privacy_contact_addresses", "newsletter_confirmations", "email_verification_tokens",
    }  # fmt: skip
    missing = []
    for where, value in stored:
        parsed = json.loads(value) if value.startswith(("{", "[")) else value
        missing += [(where, leaf) for leaf in leaves(parsed) if leaf not in exported]
    assert missing == []
    assert document["account"]["email"] == customer.markers.email
    (shipped,) = [o for o in document["orders"] if o["id"] == customer.shipped.id]
    assert [line["quantity"] for line in shipped["lines"]] == [1]
    assert [e["to_status"] for e in shipped["events"]][-1] == "shipped"
    roles = {(p["role"], tuple(p["data"])) for p in shipped["processors"]}
    assert ("payment", ("amount", "currency", "order reference")) in roles
    assert ("shipping", ("full name", "shipping address", "phone")) in roles
    (unpaid,) = [o for o in document["orders"] if o["id"] == customer.unpaid.id]
    assert unpaid["processors"] == []
    assert unpaid["referral_code"] == "FRIEND-42"
    assert document["policy_acceptances"] != []
    assert customer.guest.id in [order["id"] for order in document["orders"]]
    granted = {c["purpose"] for c in document["consents"] if c["granted"]}
    assert granted == {"marketing_email", "marketing_mail", "newsletter", "testimonial_name"}
    history = document["consent_history"]
    assert {(e["purpose"], e["source"]) for e in history} >= {
        ("marketing_email", "checkout"), ("newsletter", "newsletter"),
        ("marketing_mail", "preferences"), ("marketing_email", "verified_email"),
    }  # fmt: skip
    assert all(e["recorded_at"] and "policy_version" in e for e in history)
    assert {e["subject"].split(":")[0] for e in history} == {"account", "email"}
    assert document["newsletter"]["subscribed"] is True
    assert document["newsletter"]["contact_addresses"] == [customer.markers.email]
    assert document["email_verification"]["verified_at"] is not None
    assert [c["purpose"] for c in document["campaigns"]] != []


async def test_the_export_leaves_out_guest_orders_placed_with_an_unverified_email(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    """Anyone can type an address: until the account proves it holds it, neither the guest
    orders nor the guest's consent choices made with it are the account's."""
    markers = new_markers()
    guest = await place_order(client, session, email=markers.email, marketing_opt_in=True)
    headers = await register(client, markers)

    document = (await client.post("/v1/me/privacy/export", headers=headers)).json()

    assert document["email_verification"]["verified_at"] is None
    assert guest.id not in [order["id"] for order in document["orders"]]
    assert document["consent_history"] == []
    assert document["newsletter"]["contact_addresses"] == []


async def test_the_export_and_erasure_take_in_guest_orders_once_the_email_is_verified(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    markers = new_markers()
    guest = await place_order(client, session, email=markers.email, marketing_opt_in=True)
    headers = await register(client, markers)
    await verify_email(client, session, markers.email)

    document = (await client.post("/v1/me/privacy/export", headers=headers)).json()
    erased = await client.post(
        "/v1/me/privacy/erasure", json={"current_password": DEFAULT_PASSWORD}, headers=headers
    )

    assert document["email_verification"]["verified_at"] is not None
    assert guest.id in [order["id"] for order in document["orders"]]
    assert ("marketing_email", "checkout") in {
        (e["purpose"], e["source"]) for e in document["consent_history"]
    }
    assert document["newsletter"]["contact_addresses"] == [markers.email]
    assert erased.status_code == 200, erased.text
    session.expire_all()
    order = await session.get(Order, uuid.UUID(guest.id))
    assert order is not None
    assert markers.email not in (order.email, json.dumps(order.shipping_address))


async def consent_rows(session: AsyncSession, subjects: list[str]) -> list[tuple[Any, ...]]:
    """The subjects' consent events, contact addresses and campaign recipients."""
    events = await session.execute(
        select(ConsentEvent.subject, ConsentEvent.purpose, ConsentEvent.granted,
               ConsentEvent.source)
        .where(ConsentEvent.subject.in_(subjects))
        .order_by(ConsentEvent.seq)
    )  # fmt: skip
    contacts = await session.scalars(
        select(ContactAddress.subject).where(ContactAddress.subject.in_(subjects))
    )
    recipients = await session.scalars(
        select(CampaignRecipient.subject).where(CampaignRecipient.subject.in_(subjects))
    )
    return [
        *(tuple(row) for row in events),
        *(("contact", c) for c in contacts),
        *(("recipient", r) for r in recipients),
    ]


async def test_erasure_leaves_no_marker_in_any_column_or_sink_file_and_spares_others(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    sink: RecordingSink,
    bound_app: FastAPI,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    customer = await make_customer(client, session, sessionmaker, sink, staff)
    other = await make_customer(client, session, sessionmaker, sink, staff)
    settings = bound_app.state.settings
    account = await session.scalar(
        select(Account.id).where(Account.email == customer.markers.email)
    )
    assert account is not None
    own_subject = account_subject(account)
    hashed = email_subject(settings, customer.markers.email)
    assert {row[0] for row in await consent_rows(session, [own_subject, hashed])} >= {
        own_subject, hashed, "contact", "recipient",
    }  # fmt: skip
    other_account = await session.scalar(
        select(Account.id).where(Account.email == other.markers.email)
    )
    assert other_account is not None
    other_subjects = [account_subject(other_account), email_subject(settings, other.markers.email)]
    other_consent = await consent_rows(session, other_subjects)
    other_before = await marked(session, other.markers)
    other_files = sorted(marked_files(sink.directory, other.markers))
    for order in (customer.shipped, other.shipped):
        stored = select(IdempotencyRecord.id).where(
            IdempotencyRecord.response_body.contains(order.id)
        )
        assert await session.scalar(stored) is not None
    stock_before = await stock_of(session, customer.unpaid.variant_id)
    assert await marked(session, customer.markers) != []

    response = await client.post(
        "/v1/me/privacy/erasure",
        json={"current_password": DEFAULT_PASSWORD},
        headers=customer.headers,
    )
    await deliver(sessionmaker, sink)

    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["deleted"]["accounts"] == 1
    assert receipt["deleted"]["addresses"] == 1
    assert receipt["anonymized"]["orders"] == 3  # the guest order joined on verification
    assert receipt["deleted"]["email_verification_tokens"] >= 1
    assert receipt["deleted"]["privacy_contact_addresses"] == 1
    assert receipt["deleted"]["campaign_recipients"] >= 1
    assert any("order" in kept["what"] for kept in receipt["kept"])
    assert any("hash" in kept["what"] for kept in receipt["kept"])
    session.expire_all()
    assert await marked(session, customer.markers) == []
    # The history is gone; only the address's keyed hash stays, opted out of marketing.
    assert await consent_rows(session, [own_subject, hashed]) == [
        (hashed, purpose, False, ConsentSource.erasure) for purpose in MARKETING_PURPOSES
    ]
    assert await consent_rows(session, other_subjects) == other_consent
    # The stored checkout answers (they name the orders) are gone with their subject.
    for order in (customer.shipped, customer.unpaid):
        stored = select(IdempotencyRecord.id).where(
            IdempotencyRecord.response_body.contains(order.id)
        )
        assert await session.scalar(stored) is None
    assert marked_files(sink.directory, customer.markers) == []
    # The receipt was the last message to the address.
    to_customer = [m for m in sink.sent if m.to == customer.markers.email]
    assert to_customer[-1].subject == RECEIPT_SUBJECT
    # The unpaid order is cancelled and its stock released; the token stops working.
    unpaid = await session.get(Order, uuid.UUID(customer.unpaid.id))
    assert unpaid is not None
    assert unpaid.status == OrderStatus.cancelled
    assert unpaid.account_id is None
    assert await stock_of(session, customer.unpaid.variant_id) == stock_before + 1
    shipped = await session.get(Order, uuid.UUID(customer.shipped.id))
    assert shipped is not None
    assert (shipped.status, shipped.total_minor) == (OrderStatus.shipped, customer.shipped.total)
    assert shipped.shipping_address["country"] == "US"
    lookup = await client.get(f"/v1/orders/{customer.shipped.id}", headers=customer.shipped.token)
    assert lookup.status_code == 404
    # Nobody else lost anything.
    assert await marked(session, other.markers) == other_before
    assert sorted(marked_files(sink.directory, other.markers)) == other_files
    assert (await client.get("/v1/me", headers=other.headers)).status_code == 200
    stored = select(IdempotencyRecord.id).where(
        IdempotencyRecord.response_body.contains(other.shipped.id)
    )
    assert await session.scalar(stored) is not None


async def test_erasure_needs_the_current_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    account, headers = await signed_in(client, session)

    response = await client.post(
        "/v1/me/privacy/erasure", json={"current_password": "not-it-at-all"}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + "current-password-required"
    assert await session.scalar(select(Account.id).where(Account.id == account.id))


async def test_erasure_password_guesses_are_throttled(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    statuses = [
        (
            await client.post(
                "/v1/me/privacy/erasure", json={"current_password": f"guess-{i}"}, headers=headers
            )
        ).status_code
        for i in range(12)
    ]
    assert statuses[0] == 422
    assert statuses[-1] == 429


async def test_erasure_is_refused_while_an_order_is_paid_and_not_shipped(
    client: httpx.AsyncClient,
    session: AsyncSession,
    provider: FakePaymentProvider,  # noqa: F811
) -> None:
    markers = new_markers()
    headers = await register(client, markers)
    order = await place_order(client, session, headers=headers, email=markers.email)
    assert (await pay(client, order, headers=headers)).status_code == 200

    response = await client.post(
        "/v1/me/privacy/erasure", json={"current_password": DEFAULT_PASSWORD}, headers=headers
    )

    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "erasure-blocked-by-open-order"
    session.expire_all()
    assert await session.scalar(select(Account.id).where(Account.email == markers.email))
    paid = await session.get(Order, uuid.UUID(order.id))
    assert paid is not None
    assert paid.email == markers.email


async def test_over_smtp_the_receipt_says_sent_mail_cannot_be_recalled(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    _, headers = await signed_in(client, session)
    saved = bound_app.state.mail_sender
    # Nothing listens there: the receipt cannot be sent, which must not undo the erasure.
    bound_app.state.mail_sender = SmtpMailer(host="127.0.0.1", port=free_port(), timeout_seconds=1)
    try:
        response = await client.post(
            "/v1/me/privacy/erasure", json={"current_password": DEFAULT_PASSWORD}, headers=headers
        )
    finally:
        bound_app.state.mail_sender = saved

    assert response.status_code == 200, response.text
    assert any("recalled" in kept["why"] for kept in response.json()["kept"])
    assert (await client.get("/v1/me", headers=headers)).status_code == 401
