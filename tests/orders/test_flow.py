"""The whole money path over HTTP: guest cart -> checkout -> pay -> ship -> track -> emails."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.adapters.mail.sink import MailSink
from app.adapters.payments.fake import FakePaymentProvider
from app.catalog.models import Variant
from app.outbox.service import run_once
from tests.factories import make_category, make_product, signed_in
from tests.orders.conftest import checkout_body


def mail_subjects(folder: Path) -> list[str]:
    return sorted(
        email.message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
        for p in folder.glob("*.eml")
    )


async def test_guest_buys_pays_staff_ships_and_tracking_and_emails_follow(
    client: httpx.AsyncClient,
    session: AsyncSession,
    bound_app: FastAPI,
    provider: FakePaymentProvider,
    tmp_path: Path,
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, slug="halo-ring", prices=(250_000,), stock=3)
    variant_id = await session.scalar(select(Variant.id).where(Variant.product_id == product.id))

    created = await client.post("/v1/carts")
    assert created.status_code == 201
    cart_id = created.json()["id"]
    cookie = created.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "expires" not in cookie
    assert "max-age" not in cookie

    added = await client.post(
        f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 2}
    )
    assert added.status_code == 201, added.text
    assert added.json()["totals"]["total_minor"] == 500_000

    checkout = await client.post(
        "/v1/checkout", json=checkout_body(cart_id), headers={"Idempotency-Key": "flow-key-0001"}
    )
    assert checkout.status_code == 201, checkout.text
    order = checkout.json()
    assert order["status"] == "pending_payment"
    token = {"X-Order-Token": order["order_token"]}
    assert (await client.get(f"/v1/orders/{order['id']}")).status_code == 404
    assert (await client.get(f"/v1/orders/{order['id']}", headers=token)).status_code == 200

    declined = await client.post(
        f"/v1/orders/{order['id']}/payments",
        json={"payment_method": "pm_card_chargeDeclined"},
        headers=token,
    )
    assert declined.status_code == 402
    assert declined.json()["type"].endswith("/payment-declined")
    paid = await client.post(
        f"/v1/orders/{order['id']}/payments", json={"payment_method": "pm_card_visa"}, headers=token
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert [c.amount_minor for c in provider.charges if c.kind == "capture"] == [500_000]

    _, staff = await signed_in(client, session, role=Role.staff)
    shipped = await client.post(f"/v1/admin/orders/{order['id']}/ship", headers=staff)
    assert shipped.status_code == 200, shipped.text
    tracking_number = shipped.json()["shipments"][0]["tracking_number"]

    tracked = await client.post(
        "/v1/orders/track", json={"number": order["number"], "email": "ADA@example.com"}
    )
    assert tracked.status_code == 200
    assert tracked.json()["status"] == "shipped"
    assert tracked.json()["shipments"][0]["tracking_number"] == tracking_number
    assert tracked.json()["events"]
    wrong = await client.post(
        "/v1/orders/track", json={"number": order["number"], "email": "eve@example.com"}
    )
    assert wrong.status_code == 404

    sink = MailSink(tmp_path)
    result = await run_once(bound_app.state.sessionmaker, sink)
    assert result.sent == 4  # the guest's three, and the staff account's verification link
    subjects = [s for s in mail_subjects(tmp_path) if s != "Please confirm your email address"]
    assert [s.split(" - ")[0] for s in subjects] == [
        "Thank you for your order",
        "Your order is on its way",
        "Your payment did not go through",
    ]
    remaining = await session.scalar(select(Variant.stock_on_hand).where(Variant.id == variant_id))
    assert remaining == 1
