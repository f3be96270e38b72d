"""Checkout: idempotency, the 18+ rule, stock, the order snapshot and who may see an order."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.adapters.payments.fake import FakePaymentProvider
from app.carts.models import CartLine
from app.catalog.models import InventoryMovement, Metal, MovementReason, Product, Variant
from app.core.db import utcnow
from app.core.idempotency import IdempotencyRecord
from app.orders.models import Order, OrderLine
from app.privacy.consent_models import ConsentEvent
from tests.factories import make_category, make_product, signed_in
from tests.orders.conftest import (
    ADDRESS,
    checkout_body,
    fill_cart,
    new_key,
    place_order,
    post_checkout,
    problem_type,
    settings_changed,
    stock_of,
    variant_ids,
)

NUMBER = re.compile(r"^FJ-[0-9A-HJKMNP-TV-Z]{8}$")


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def one_variant(
    session: AsyncSession, *, price: int = 100_000, stock: int = 3, published: bool = True
) -> tuple[Product, uuid.UUID]:
    category = await make_category(session, f"checkout-{uuid.uuid4().hex[:8]}")
    product = await make_product(
        session, category, prices=(price,), stock=stock, published=published
    )
    (variant_id,) = await variant_ids(session, product)
    return product, variant_id


async def cart_lines(client: httpx.AsyncClient, cart_id: str) -> dict[str, int]:
    cart = (await client.get(f"/v1/carts/{cart_id}")).json()
    return {item["variant_id"]: item["quantity"] for item in cart["items"]}


# ---- Idempotency-Key ----


async def test_checkout_without_idempotency_key_is_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])

    response = await client.post("/v1/checkout", json=checkout_body(cart_id))

    assert response.status_code == 422
    assert problem_type(response) == "validation-error"
    assert await count(session, Order) == 0


async def test_same_key_and_body_replays_the_order_with_a_fresh_token_replacing_the_first(
    client: httpx.AsyncClient, session: AsyncSession, provider: FakePaymentProvider
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    key = new_key()

    first = await post_checkout(client, cart_id, key=key)
    second = await post_checkout(client, cart_id, key=key)

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == 201, second.text
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    without_token = {"order_token", "request_id"}
    assert {k: v for k, v in second.json().items() if k not in without_token} == {
        k: v for k, v in first.json().items() if k not in without_token
    }
    assert await count(session, Order) == 1
    assert await stock_of(session, variant_id) == 2
    # The lost first answer's token is replaced: only the latest one opens the order.
    order_path = f"/v1/orders/{first.json()['id']}"
    old, new = first.json()["order_token"], second.json()["order_token"]
    assert new
    assert new != old
    assert (await client.get(order_path, headers={"X-Order-Token": old})).status_code == 404
    assert (await client.get(order_path, headers={"X-Order-Token": new})).status_code == 200
    paid = await client.post(
        f"{order_path}/payments",
        json={"payment_method": "pm_card_visa"},
        headers={"X-Order-Token": new},
    )
    assert paid.status_code == 200, paid.text

    # Once paid there is nothing left a token is needed for at checkout: none is issued.
    after_payment = await post_checkout(client, cart_id, key=key)
    assert after_payment.status_code == 201
    assert after_payment.json()["order_token"] is None
    assert after_payment.json()["status"] == "paid"
    assert (await client.get(order_path, headers={"X-Order-Token": new})).status_code == 200


async def test_the_stored_answer_holds_neither_the_token_nor_personal_data(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    body = checkout_body(cart_id, email="grace.hopper@example.com")
    response = await client.post("/v1/checkout", json=body, headers={"Idempotency-Key": new_key()})
    assert response.status_code == 201, response.text

    record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    stored = record.response_body or ""
    assert response.json()["order_token"] not in stored
    for personal in ("grace.hopper", "Lovelace", "St James", "+44"):
        assert personal not in stored
    # The fingerprint is keyed: nobody can confirm a guessed body from the table alone.
    plain = json.dumps(body, sort_keys=True, separators=(",", ":"))
    assert record.request_hash != hashlib.sha256(plain.encode()).hexdigest()


async def test_another_caller_replaying_a_customers_key_and_body_gets_nothing_of_theirs(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    _, owner = await signed_in(client, session)
    _, other = await signed_in(client, session)
    cart_id = await fill_cart(client, [(variant_id, 1)], headers=owner)
    key = new_key()
    first = await post_checkout(client, cart_id, key=key, headers=owner)
    assert first.status_code == 201, first.text

    for headers in (other, {}):
        replayed = await post_checkout(client, cart_id, key=key, headers=headers)
        assert replayed.status_code == 404, replayed.text
        assert problem_type(replayed) == "cart-not-found"
        assert first.json()["id"] not in replayed.text
        assert "idempotent-replayed" not in replayed.headers
    assert await count(session, Order) == 1
    again = await post_checkout(client, cart_id, key=key, headers=owner)
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]


async def test_a_signed_in_caller_replaying_a_guests_key_and_body_is_not_a_replay(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    _, other = await signed_in(client, session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    key = new_key()
    first = await post_checkout(client, cart_id, key=key)
    assert first.status_code == 201, first.text

    replayed = await post_checkout(client, cart_id, key=key, headers=other)

    assert replayed.status_code == 409, replayed.text
    assert problem_type(replayed) == "cart-checked-out"
    assert first.json()["order_token"] not in replayed.text
    assert first.json()["id"] not in replayed.text
    assert await count(session, Order) == 1


async def test_same_key_with_a_different_body_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    key = new_key()
    assert (await post_checkout(client, cart_id, key=key)).status_code == 201

    response = await post_checkout(client, cart_id, key=key, email="eve@example.com")

    assert response.status_code == 422
    assert problem_type(response) == "idempotency-key-reused"
    assert await count(session, Order) == 1


async def test_a_failed_checkout_frees_its_key_for_a_retry(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session, stock=2)
    cart_id = await fill_cart(client, [(variant_id, 2)])
    await session.execute(update(Variant).where(Variant.id == variant_id).values(stock_on_hand=1))
    await session.commit()
    key = new_key()

    failed = await post_checkout(client, cart_id, key=key)
    assert failed.status_code == 409
    assert problem_type(failed) == "out-of-stock"

    await session.execute(update(Variant).where(Variant.id == variant_id).values(stock_on_hand=2))
    await session.commit()
    retried = await post_checkout(client, cart_id, key=key)

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert await count(session, Order) == 1
    assert await stock_of(session, variant_id) == 0


# ---- P9: no purchases by persons under 18 ----


async def test_a_minors_date_of_birth_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session, stock=3)
    cart_id = await fill_cart(client, [(variant_id, 2)])
    minor = (utcnow() - timedelta(days=17 * 365)).date().isoformat()

    response = await post_checkout(client, cart_id, date_of_birth=minor, is_adult=None)

    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert await count(session, Order) == 0
    assert await count(session, OrderLine) == 0
    assert await count(session, InventoryMovement) == 0
    assert await count(session, IdempotencyRecord) == 0
    assert await stock_of(session, variant_id) == 3
    assert await cart_lines(client, cart_id) == {str(variant_id): 2}


async def test_an_adults_date_of_birth_is_accepted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    body = checkout_body(cart_id, date_of_birth="1990-02-03")
    del body["is_adult"]

    response = await client.post("/v1/checkout", json=body, headers={"Idempotency-Key": new_key()})

    assert response.status_code == 201, response.text


async def test_checkout_needs_a_date_of_birth_or_an_adult_attestation(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    body = checkout_body(cart_id)
    del body["is_adult"]

    response = await client.post("/v1/checkout", json=body, headers={"Idempotency-Key": new_key()})

    assert response.status_code == 422
    assert problem_type(response) == "validation-error"
    assert await count(session, Order) == 0
    assert await cart_lines(client, cart_id) == {str(variant_id): 1}


async def test_is_adult_false_is_age_restricted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session, stock=3)
    cart_id = await fill_cart(client, [(variant_id, 1)])

    response = await post_checkout(client, cart_id, is_adult=False)

    assert response.status_code == 422
    assert problem_type(response) == "age-restricted"
    assert await count(session, Order) == 0
    assert await stock_of(session, variant_id) == 3
    assert await cart_lines(client, cart_id) == {str(variant_id): 1}


# ---- consent ----


async def test_checkout_without_the_opt_in_records_no_consent(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await place_order(client, session)

    assert await count(session, ConsentEvent) == 0


# ---- cart and stock ----


async def test_an_empty_cart_cannot_be_checked_out(client: httpx.AsyncClient) -> None:
    cart_id = (await client.post("/v1/carts")).json()["id"]

    response = await post_checkout(client, cart_id)

    assert response.status_code == 409
    assert problem_type(response) == "cart-empty"


async def test_exactly_enough_stock_sells_out(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session, stock=2)
    cart_id = await fill_cart(client, [(variant_id, 2)])

    response = await post_checkout(client, cart_id)

    assert response.status_code == 201, response.text
    assert await stock_of(session, variant_id) == 0


async def test_insufficient_stock_is_out_of_stock_and_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, plenty = await one_variant(session, stock=5)
    _, scarce = await one_variant(session, stock=3)
    cart_id = await fill_cart(client, [(plenty, 2), (scarce, 3)])
    await session.execute(update(Variant).where(Variant.id == scarce).values(stock_on_hand=2))
    await session.commit()

    response = await post_checkout(client, cart_id)

    assert response.status_code == 409
    assert problem_type(response) == "out-of-stock"
    assert response.json()["variant_id"] == str(scarce)
    assert await stock_of(session, plenty) == 5
    assert await stock_of(session, scarce) == 2
    assert await count(session, Order) == 0
    assert await count(session, InventoryMovement) == 0
    assert await cart_lines(client, cart_id) == {str(plenty): 2, str(scarce): 3}


async def test_an_item_no_longer_for_sale_blocks_checkout(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product, variant_id = await one_variant(session, stock=3)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    await session.execute(
        update(Product).where(Product.id == product.id).values(is_published=False)
    )
    await session.commit()

    response = await post_checkout(client, cart_id)

    assert response.status_code == 409
    assert problem_type(response) == "variant-unavailable"
    assert await stock_of(session, variant_id) == 3
    assert await count(session, Order) == 0


# ---- the order ----


async def test_the_order_snapshots_lines_addresses_and_totals(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    product, variant_id = await one_variant(session, price=640_000, stock=4)
    await session.execute(
        update(Variant)
        .where(Variant.id == variant_id)
        .values(ring_size="6.5", metal=Metal.platinum)
    )
    await session.commit()
    sku = await session.scalar(select(Variant.sku).where(Variant.id == variant_id))
    cart_id = await fill_cart(client, [(variant_id, 2)])

    response = await post_checkout(client, cart_id)

    assert response.status_code == 201, response.text
    order = response.json()
    assert NUMBER.match(order["number"]), order["number"]
    assert order["status"] == "pending_payment"
    assert isinstance(order["order_token"], str)
    assert len(order["order_token"]) >= 32
    assert order["email"] == "ada@example.com"
    assert order["shipping_address"]["line1"] == ADDRESS["line1"]
    assert order["shipping_address"]["country"] == "GB"
    assert "billing_address" not in order
    (line,) = order["lines"]
    assert line == {
        "variant_id": str(variant_id),
        "product_name": product.name,
        "sku": sku,
        "options": {"ring_size": "6.5", "chain_length_cm": None, "metal": "platinum"},
        "unit_price_minor": 640_000,
        "quantity": 2,
        "line_total_minor": 1_280_000,
    }
    assert order["totals"]["subtotal_minor"] == 1_280_000
    assert order["totals"]["shipping_minor"] == 0
    assert order["totals"]["total_minor"] == 1_280_000
    assert order["totals"]["currency"] == "USD"
    assert order["payment"]["state"] == "none"
    assert order["payment"]["amount_minor"] == 1_280_000
    assert order["payment"]["capture_mode"] == "automatic"
    assert order["shipments"] == []

    # The cart is emptied; the stock left in a "sale" movement.
    assert await cart_lines(client, cart_id) == {}
    movement = (
        await session.scalars(
            select(InventoryMovement).where(InventoryMovement.variant_id == variant_id)
        )
    ).one()
    assert movement.reason == MovementReason.sale
    assert movement.delta == -2
    assert movement.stock_after == 2
    assert order["number"] in (movement.note or "")

    # Later catalog changes do not touch the snapshot.
    await session.execute(
        update(Variant).where(Variant.id == variant_id).values(price_minor=1, sku="RENAMED")
    )
    await session.execute(update(Product).where(Product.id == product.id).values(name="Renamed"))
    await session.commit()
    read = await client.get(
        f"/v1/orders/{order['id']}", headers={"X-Order-Token": order["order_token"]}
    )
    assert read.status_code == 200
    assert read.json()["lines"] == order["lines"]
    assert read.json()["totals"] == order["totals"]
    assert "order_token" not in read.json()


async def test_the_order_totals_carry_the_flat_tax(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    with settings_changed(bound_app, tax_rate_bps=825):
        order = await place_order(client, session, price=100, quantity=2)

    assert order.body["totals"]["subtotal_minor"] == 200
    assert order.body["totals"]["tax_minor"] == 17  # 16.5, rounded half up
    assert order.body["totals"]["total_minor"] == 217
    assert order.body["payment"]["amount_minor"] == 217


async def test_the_email_is_stored_normalised(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    order = await place_order(client, session, email="Ada.Lovelace@EXAMPLE.com")

    assert order.body["email"] == "ada.lovelace@example.com"


# ---- who may see an order ----


async def test_a_customers_order_is_theirs_and_staffs_only(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner_account, owner = await signed_in(client, session)
    _, other = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    order = await place_order(client, session, headers=owner)
    someone_else = await place_order(client, session)
    path = f"/v1/orders/{order.id}"

    assert (
        await session.scalar(select(Order.account_id).where(Order.id == uuid.UUID(order.id)))
        == owner_account.id
    )
    mine = await client.get(path, headers=owner)
    assert mine.status_code == 200
    assert mine.json()["id"] == order.id
    assert (await client.get(path, headers=staff)).status_code == 200
    assert (await client.get(path, headers=order.token)).status_code == 200
    for headers in (other, {}, someone_else.token, {**other, **someone_else.token}):
        denied = await client.get(path, headers=headers)
        assert denied.status_code == 404, headers
        assert problem_type(denied) == "order-not-found"
    unknown = await client.get(f"/v1/orders/{uuid.uuid4()}", headers=order.token)
    assert unknown.status_code == 404
    assert unknown.json() | {"request_id": None} == denied.json() | {"request_id": None}


async def test_my_orders_lists_newest_first_with_a_cursor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, owner = await signed_in(client, session)
    _, other = await signed_in(client, session)
    placed = [await place_order(client, session, headers=owner) for _ in range(3)]
    await place_order(client, session, headers=other)
    await place_order(client, session)

    first = await client.get("/v1/me/orders", params={"limit": 2}, headers=owner)
    assert first.status_code == 200, first.text
    cursor = first.json()["next_cursor"]
    assert cursor
    second = await client.get("/v1/me/orders", params={"limit": 2, "cursor": cursor}, headers=owner)

    assert second.status_code == 200, second.text
    assert second.json()["next_cursor"] is None
    listed = first.json()["items"] + second.json()["items"]
    assert [item["id"] for item in listed] == [order.id for order in reversed(placed)]
    assert listed[0]["number"] == placed[-1].body["number"]
    assert listed[0]["status"] == "pending_payment"
    assert listed[0]["total_minor"] == placed[-1].total
    assert (await client.get("/v1/me/orders")).status_code == 401
    others = (await client.get("/v1/me/orders", headers=other)).json()["items"]
    assert len(others) == 1
    assert others[0]["id"] not in {order.id for order in placed}


async def test_checkout_of_another_customers_cart_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session)
    _, owner = await signed_in(client, session)
    _, other = await signed_in(client, session)
    cart_id = await fill_cart(client, [(variant_id, 1)], headers=owner)

    for headers in (other, {}):
        response = await post_checkout(client, cart_id, headers=headers)
        assert response.status_code == 404
        assert problem_type(response) == "cart-not-found"
    assert await count(session, Order) == 0
    lines = select(func.count()).select_from(CartLine).where(CartLine.cart_id == uuid.UUID(cart_id))
    assert await session.scalar(lines) == 1


# ---- one cart, one order ----


async def test_a_second_checkout_of_the_same_cart_is_cart_checked_out(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_id = await one_variant(session, stock=5)
    cart_id = await fill_cart(client, [(variant_id, 1)])
    assert (await post_checkout(client, cart_id)).status_code == 201

    again = await post_checkout(client, cart_id)

    assert again.status_code == 409
    assert problem_type(again) == "cart-checked-out"
    assert await count(session, Order) == 1
    assert await stock_of(session, variant_id) == 4
    # Filling the cart again makes it a new purchase.
    assert (await client.post(
        f"/v1/carts/{cart_id}/items", json={"variant_id": str(variant_id), "quantity": 1}
    )).status_code == 201  # fmt: skip
    assert (await post_checkout(client, cart_id)).status_code == 201


# ---- limits and throttling ----


async def test_checkout_refuses_a_cart_over_the_line_or_piece_limits(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    first, second, third = [(await one_variant(session, stock=5))[1] for _ in range(3)]
    cart_id = await fill_cart(client, [(first, 3), (second, 3), (third, 1)])

    with settings_changed(bound_app, cart_max_lines=2):
        too_many_lines = await post_checkout(client, cart_id)
    with settings_changed(bound_app, order_max_units=6):
        too_many_pieces = await post_checkout(client, cart_id)

    assert too_many_lines.status_code == 409
    assert problem_type(too_many_lines) == "cart-line-limit"
    assert too_many_pieces.status_code == 422
    assert problem_type(too_many_pieces) == "quantity-limit"
    assert await count(session, Order) == 0
    assert [await stock_of(session, v) for v in (first, second, third)] == [5, 5, 5]
    assert (await post_checkout(client, cart_id)).status_code == 201


async def test_checkouts_are_limited_per_client_address_but_replays_are_free(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    _, variant_id = await one_variant(session, stock=10)
    carts = [await fill_cart(client, [(variant_id, 1)]) for _ in range(3)]
    key = new_key()

    with settings_changed(bound_app, checkout_max_per_ip=2, checkout_window_seconds=600):
        first = await post_checkout(client, carts[0], key=key)
        second = await post_checkout(client, carts[1])
        throttled = await post_checkout(client, carts[2])
        replay = await post_checkout(client, carts[0], key=key)

    assert [first.status_code, second.status_code] == [201, 201]
    assert throttled.status_code == 429
    assert problem_type(throttled) == "too-many-requests"
    assert 0 < int(throttled.headers["Retry-After"]) <= 600
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await count(session, Order) == 2
    assert await stock_of(session, variant_id) == 8


async def test_checkout_refuses_a_cart_mixing_currencies(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    dollars, yen, euros = [(await one_variant(session, stock=5))[1] for _ in range(3)]
    cart_id = await fill_cart(client, [(dollars, 1), (yen, 1), (euros, 1)])
    for variant_id, currency in ((yen, "JPY"), (euros, "EUR")):
        await session.execute(
            update(Variant).where(Variant.id == variant_id).values(currency=currency)
        )
    await session.commit()

    response = await post_checkout(client, cart_id)

    assert response.status_code == 409
    assert problem_type(response) == "currency-mismatch"
    assert set(response.json()["variant_ids"]) == {str(yen), str(euros)}
    assert await count(session, Order) == 0
    assert [await stock_of(session, v) for v in (dollars, yen, euros)] == [5, 5, 5]
    assert await count(session, InventoryMovement) == 0


async def test_checkout_no_longer_collects_a_billing_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """It was stored and never used (P1): the processor checks the card's billing details."""
    _, variant_id = await one_variant(session)
    cart_id = await fill_cart(client, [(variant_id, 1)])

    response = await post_checkout(client, cart_id, billing_address=ADDRESS)

    assert response.status_code == 422
    assert "billing_address" not in Order.__table__.c
    assert await session.scalar(select(func.count()).select_from(Order)) == 0
