"""Guest and account carts: the session cookie, lines, live prices, totals, claim and purge."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.carts import service as carts
from app.carts.models import Cart, CartLine
from app.catalog.models import Product, Variant
from app.core.db import utcnow
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import make_account, make_category, make_product, signed_in

PROBLEM = "https://facet.example/problems/"


def problem_type(response: httpx.Response) -> str:
    kind: str = response.json()["type"]
    assert kind.startswith(PROBLEM), kind
    return kind.removeprefix(PROBLEM)


def cookie_attributes(header: str) -> tuple[str, str, dict[str, str]]:
    """Split a Set-Cookie header into name, value and lower-cased attributes."""
    first, *rest = [part.strip() for part in header.split(";")]
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, attr_value = part.partition("=")
        attributes[key.lower()] = attr_value.lower()
    return name, value, attributes


@contextmanager
def tax_rate(app: FastAPI, bps: int) -> Iterator[None]:
    saved = app.state.settings
    app.state.settings = saved.model_copy(update={"tax_rate_bps": bps})
    try:
        yield
    finally:
        app.state.settings = saved


async def sellable_variants(
    session: AsyncSession, *prices: int, stock: int = 5
) -> tuple[Product, list[uuid.UUID]]:
    category = await make_category(session, f"carts-{uuid.uuid4().hex[:8]}")
    product = await make_product(session, category, prices=prices, stock=stock)
    ids = await session.scalars(
        select(Variant.id).where(Variant.product_id == product.id).order_by(Variant.position)
    )
    return product, list(ids)


async def new_cart(client: httpx.AsyncClient) -> str:
    response = await client.post("/v1/carts")
    assert response.status_code == 201, response.text
    cart_id: str = response.json()["id"]
    return cart_id


async def add(
    client: httpx.AsyncClient,
    cart_id: str,
    variant_id: uuid.UUID | str,
    quantity: int,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"/v1/carts/{cart_id}/items",
        json={"variant_id": str(variant_id), "quantity": quantity},
        headers=headers or {},
    )


def quantities(cart: dict[str, object]) -> dict[str, int]:
    items = cart["items"]
    assert isinstance(items, list)
    return {item["variant_id"]: item["quantity"] for item in items}


# ---- the cart session cookie (P11) ----


async def test_create_cart_returns_empty_cart_and_one_session_cookie_holding_its_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/carts")

    assert response.status_code == 201
    body = response.json()
    assert body["items"] == []
    assert body["totals"]["total_minor"] == 0
    assert body["totals"]["subtotal_minor"] == 0
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    name, value, attributes = cookie_attributes(cookies[0])
    assert name == "facet_cart"
    assert value == body["id"]
    assert uuid.UUID(value).version == 4  # random, nothing personal
    assert "expires" not in attributes
    assert "max-age" not in attributes
    assert "httponly" in attributes
    assert attributes.get("samesite") == "lax"
    assert "secure" not in attributes
    assert attributes.get("path") == "/"


async def test_cart_cookie_is_secure_in_production(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        env="production",
        jwt_secret="x" * 40,
        privacy_hash_secret="p" * 40,
        payment_provider="stripe",
        stripe_api_key="sk_test_x",
        stripe_webhook_secret="whsec_x",
        mail_dir=tmp_path,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        application.state.sessionmaker = sessionmaker
        transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            response = await c.post("/v1/carts")

    assert response.status_code == 201, response.text
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1
    name, value, attributes = cookie_attributes(cookies[0])
    assert (name, value) == ("facet_cart", response.json()["id"])
    assert "secure" in attributes
    assert "httponly" in attributes
    assert attributes.get("samesite") == "lax"
    assert "expires" not in attributes
    assert "max-age" not in attributes


async def test_reading_and_changing_a_cart_sets_no_cookie(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    cart_id = await new_cart(client)

    added = await add(client, cart_id, variant_id, 1)
    read = await client.get(f"/v1/carts/{cart_id}")

    assert added.status_code == 201
    assert read.status_code == 200
    assert "set-cookie" not in added.headers
    assert "set-cookie" not in read.headers


# ---- lines ----


async def test_add_change_and_remove_a_line(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 120_000, stock=5)
    cart_id = await new_cart(client)

    added = await add(client, cart_id, variant_id, 2)
    assert added.status_code == 201, added.text
    (line,) = added.json()["items"]
    assert line["variant_id"] == str(variant_id)
    assert line["quantity"] == 2
    assert line["unit_price_minor"] == 120_000
    assert line["line_total_minor"] == 240_000

    changed = await client.patch(f"/v1/carts/{cart_id}/items/{line['id']}", json={"quantity": 4})
    assert changed.status_code == 200, changed.text
    assert changed.json()["items"][0]["quantity"] == 4
    assert changed.json()["totals"]["subtotal_minor"] == 480_000

    removed = await client.delete(f"/v1/carts/{cart_id}/items/{line['id']}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["items"] == []
    assert (await client.get(f"/v1/carts/{cart_id}")).json()["items"] == []


async def test_quantity_zero_or_eleven_is_rejected(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000, stock=20)
    cart_id = await new_cart(client)

    for quantity in (0, 11):
        response = await add(client, cart_id, variant_id, quantity)
        assert response.status_code == 422, quantity
        assert problem_type(response) == "validation-error"

    line_id = (await add(client, cart_id, variant_id, 1)).json()["items"][0]["id"]
    for quantity in (0, 11):
        response = await client.patch(
            f"/v1/carts/{cart_id}/items/{line_id}", json={"quantity": quantity}
        )
        assert response.status_code == 422, quantity
    assert quantities((await client.get(f"/v1/carts/{cart_id}")).json()) == {str(variant_id): 1}


async def test_adding_the_same_variant_twice_sums_into_one_line(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000, stock=20)
    cart_id = await new_cart(client)

    await add(client, cart_id, variant_id, 3)
    response = await add(client, cart_id, variant_id, 4)

    assert response.status_code == 201
    assert quantities(response.json()) == {str(variant_id): 7}


async def test_summing_past_ten_is_a_quantity_limit(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000, stock=50)
    cart_id = await new_cart(client)
    await add(client, cart_id, variant_id, 6)

    response = await add(client, cart_id, variant_id, 5)

    assert response.status_code == 422
    assert problem_type(response) == "quantity-limit"
    assert quantities((await client.get(f"/v1/carts/{cart_id}")).json()) == {str(variant_id): 6}


async def test_more_than_in_stock_is_insufficient_stock_with_the_level_not_the_count(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000, stock=9)
    cart_id = await new_cart(client)

    too_many = await add(client, cart_id, variant_id, 10)
    assert too_many.status_code == 409
    assert problem_type(too_many) == "insufficient-stock"
    assert too_many.json()["availability"] == "in_stock"
    assert "available" not in too_many.json()
    assert 9 not in too_many.json().values()

    line_id = (await add(client, cart_id, variant_id, 5)).json()["items"][0]["id"]
    summed = await add(client, cart_id, variant_id, 5)
    assert summed.status_code == 409
    assert summed.json()["availability"] == "in_stock"
    await session.execute(update(Variant).where(Variant.id == variant_id).values(stock_on_hand=2))
    await session.commit()
    scarce = await add(client, cart_id, variant_id, 1)
    assert scarce.status_code == 409
    assert scarce.json()["availability"] == "low_stock"
    changed = await client.patch(f"/v1/carts/{cart_id}/items/{line_id}", json={"quantity": 6})
    assert changed.status_code == 409
    assert problem_type(changed) == "insufficient-stock"
    assert "available" not in changed.json()
    assert quantities((await client.get(f"/v1/carts/{cart_id}")).json()) == {str(variant_id): 5}


async def test_unknown_variant_is_404(client: httpx.AsyncClient) -> None:
    cart_id = await new_cart(client)

    response = await add(client, cart_id, uuid.uuid4(), 1)

    assert response.status_code == 404
    assert problem_type(response) == "variant-not-found"


async def test_unpublished_product_or_inactive_variant_is_unavailable(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    category = await make_category(session, "unavailable")
    hidden = await make_product(session, category, prices=(10_000,), published=False)
    hidden_variant = await session.scalar(select(Variant.id).where(Variant.product_id == hidden.id))
    _, (inactive_variant,) = await sellable_variants(session, 10_000)
    await session.execute(
        update(Variant).where(Variant.id == inactive_variant).values(is_active=False)
    )
    await session.commit()
    cart_id = await new_cart(client)

    for variant_id in (hidden_variant, inactive_variant):
        response = await add(client, cart_id, variant_id, 1)
        assert response.status_code == 409
        assert problem_type(response) == "variant-unavailable"
    assert (await client.get(f"/v1/carts/{cart_id}")).json()["items"] == []


async def test_unknown_line_id_is_404(client: httpx.AsyncClient, session: AsyncSession) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    cart_id = await new_cart(client)
    other_cart = await new_cart(client)
    other_line = (await add(client, other_cart, variant_id, 1)).json()["items"][0]["id"]

    for line_id in (str(uuid.uuid4()), other_line):
        changed = await client.patch(f"/v1/carts/{cart_id}/items/{line_id}", json={"quantity": 2})
        removed = await client.delete(f"/v1/carts/{cart_id}/items/{line_id}")
        assert changed.status_code == 404
        assert removed.status_code == 404
        assert problem_type(changed) == problem_type(removed) == "cart-line-not-found"
    assert quantities((await client.get(f"/v1/carts/{other_cart}")).json()) == {str(variant_id): 1}


async def test_unknown_cart_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/carts/{uuid.uuid4()}")

    assert response.status_code == 404
    assert problem_type(response) == "cart-not-found"


# ---- prices and totals ----


async def test_cart_shows_the_current_catalog_price(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 100_000)
    cart_id = await new_cart(client)
    await add(client, cart_id, variant_id, 2)

    await session.execute(
        update(Variant).where(Variant.id == variant_id).values(price_minor=125_000)
    )
    await session.commit()
    cart = (await client.get(f"/v1/carts/{cart_id}")).json()

    assert cart["items"][0]["unit_price_minor"] == 125_000
    assert cart["items"][0]["line_total_minor"] == 250_000
    assert cart["totals"]["subtotal_minor"] == 250_000
    assert cart["totals"]["total_minor"] == 250_000


async def test_totals_sum_lines_ship_free_in_a_gift_box(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (ring, pendant) = await sellable_variants(session, 64_000, 19_950, stock=5)
    cart_id = await new_cart(client)
    await add(client, cart_id, ring, 2)

    totals = (await add(client, cart_id, pendant, 3)).json()["totals"]

    assert totals["currency"] == "USD"
    assert totals["subtotal_minor"] == 2 * 64_000 + 3 * 19_950
    assert totals["shipping_minor"] == 0
    assert totals["gift_box"] is True
    assert totals["gift_box_minor"] == 0
    assert totals["tax_minor"] == 0
    assert totals["total_minor"] == totals["subtotal_minor"]


async def test_flat_tax_rounds_half_up_on_minor_units(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    # 8.25 %: 200 -> 16.5 -> 17 (half up, not to even); 199 -> 16.4175 -> 16;
    # 1_234_567 -> 101_851.7775 -> 101_852.
    _, (half, down, large) = await sellable_variants(session, 100, 199, 1_234_567, stock=5)
    expected = {(half, 2): 17, (down, 1): 16, (large, 1): 101_852}
    with tax_rate(bound_app, 825):
        for (variant_id, quantity), tax in expected.items():
            cart_id = await new_cart(client)
            totals = (await add(client, cart_id, variant_id, quantity)).json()["totals"]
            assert totals["tax_minor"] == tax, (variant_id, totals)
            assert totals["total_minor"] == totals["subtotal_minor"] + tax
            assert totals["shipping_minor"] == 0


# ---- account carts ----


async def test_me_cart_creates_then_returns_the_accounts_cart(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)

    first = await client.get("/v1/me/cart", headers=headers)
    second = await client.get("/v1/me/cart", headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["items"] == []
    assert second.json()["id"] == first.json()["id"]
    assert "set-cookie" not in first.headers
    assert (await client.get("/v1/me/cart")).status_code == 401


async def test_an_account_cart_is_404_to_other_customers_and_anonymous(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    _, owner = await signed_in(client, session)
    _, other = await signed_in(client, session)
    _, staff = await signed_in(client, session, role=Role.staff)
    cart_id = (await client.get("/v1/me/cart", headers=owner)).json()["id"]
    assert (await add(client, cart_id, variant_id, 1, headers=owner)).status_code == 201

    assert (await client.get(f"/v1/carts/{cart_id}", headers=owner)).status_code == 200
    assert (await client.get(f"/v1/carts/{cart_id}", headers=staff)).status_code == 200
    for headers in (other, {}):
        read = await client.get(f"/v1/carts/{cart_id}", headers=headers)
        assert read.status_code == 404
        assert problem_type(read) == "cart-not-found"
        write = await add(client, cart_id, variant_id, 1, headers=headers)
        assert write.status_code == 404
    owned = (await client.get("/v1/me/cart", headers=owner)).json()
    assert quantities(owned) == {str(variant_id): 1}


async def test_a_guest_cart_is_readable_by_id_without_auth(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    cart_id = await new_cart(client)
    await add(client, cart_id, variant_id, 1)

    response = await client.get(f"/v1/carts/{cart_id}")

    assert response.status_code == 200
    assert quantities(response.json()) == {str(variant_id): 1}


# ---- claim ----


async def test_claim_merges_a_guest_cart_and_deletes_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (scarce, plenty, summed, new) = await sellable_variants(
        session, 10_000, 20_000, 30_000, 40_000, stock=20
    )
    await session.execute(update(Variant).where(Variant.id == scarce).values(stock_on_hand=5))
    await session.commit()
    _, headers = await signed_in(client, session)
    mine = (await client.get("/v1/me/cart", headers=headers)).json()["id"]
    for variant_id, quantity in ((scarce, 3), (plenty, 8), (summed, 1)):
        assert (await add(client, mine, variant_id, quantity, headers=headers)).status_code == 201
    guest = await new_cart(client)
    for variant_id, quantity in ((scarce, 4), (plenty, 5), (summed, 2), (new, 2)):
        assert (await add(client, guest, variant_id, quantity)).status_code == 201

    claimed = await client.post("/v1/me/cart/claim", json={"cart_id": guest}, headers=headers)

    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["id"] == mine
    assert quantities(claimed.json()) == {
        str(scarce): 5,  # 3 + 4, capped at the 5 in stock
        str(plenty): 10,  # 8 + 5, capped at 10 per line
        str(summed): 3,
        str(new): 2,  # 20 pieces in all: the most one order may take
    }
    gone = await client.get(f"/v1/carts/{guest}")
    assert gone.status_code == 404
    assert problem_type(gone) == "cart-not-found"
    lines = select(func.count()).select_from(CartLine).where(CartLine.cart_id == uuid.UUID(guest))
    assert await session.scalar(lines) == 0


async def test_claim_into_an_account_without_a_cart_creates_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    _, headers = await signed_in(client, session)
    guest = await new_cart(client)
    await add(client, guest, variant_id, 2)

    claimed = await client.post("/v1/me/cart/claim", json={"cart_id": guest}, headers=headers)

    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["id"] != guest
    mine = (await client.get("/v1/me/cart", headers=headers)).json()
    assert mine["id"] == claimed.json()["id"]
    assert quantities(mine) == {str(variant_id): 2}


async def test_claim_caps_new_lines_at_current_stock_and_drops_sold_out_ones(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (dwindled, sold_out) = await sellable_variants(session, 10_000, 20_000, stock=6)
    _, headers = await signed_in(client, session)
    guest = await new_cart(client)
    await add(client, guest, dwindled, 5)
    await add(client, guest, sold_out, 2)
    await session.execute(update(Variant).where(Variant.id == dwindled).values(stock_on_hand=2))
    await session.execute(update(Variant).where(Variant.id == sold_out).values(stock_on_hand=0))
    await session.commit()

    claimed = await client.post("/v1/me/cart/claim", json={"cart_id": guest}, headers=headers)

    assert claimed.status_code == 200, claimed.text
    assert quantities(claimed.json()) == {str(dwindled): 2}


async def test_claiming_an_account_cart_or_unknown_id_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    _, victim = await signed_in(client, session)
    _, thief = await signed_in(client, session)
    victim_cart = (await client.get("/v1/me/cart", headers=victim)).json()["id"]
    await add(client, victim_cart, variant_id, 1, headers=victim)
    own_cart = (await client.get("/v1/me/cart", headers=thief)).json()["id"]

    for cart_id in (victim_cart, own_cart, str(uuid.uuid4())):
        response = await client.post("/v1/me/cart/claim", json={"cart_id": cart_id}, headers=thief)
        assert response.status_code == 404, cart_id
        assert problem_type(response) == "cart-not-found"
    victims = (await client.get(f"/v1/carts/{victim_cart}", headers=victim)).json()
    assert quantities(victims) == {str(variant_id): 1}
    assert (await client.get(f"/v1/carts/{own_cart}", headers=thief)).json()["items"] == []


async def test_claim_requires_a_signed_in_customer(client: httpx.AsyncClient) -> None:
    guest = await new_cart(client)

    response = await client.post("/v1/me/cart/claim", json={"cart_id": guest})

    assert response.status_code == 401
    assert (await client.get(f"/v1/carts/{guest}")).status_code == 200


# ---- purge ----


async def test_purge_deletes_only_guest_carts_untouched_for_thirty_days(
    session: AsyncSession,
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    account = await make_account(session)
    old_guest = await carts.create_guest_cart(session)
    recent_guest = await carts.create_guest_cart(session)
    old_account = await carts.account_cart(session, account)
    session.add(CartLine(cart_id=old_guest.id, variant_id=variant_id, quantity=1))
    await session.commit()
    long_ago = utcnow() - timedelta(days=31)
    await session.execute(
        update(Cart).where(Cart.id.in_([old_guest.id, old_account.id])).values(updated_at=long_ago)
    )
    await session.execute(
        update(Cart)
        .where(Cart.id == recent_guest.id)
        .values(updated_at=utcnow() - timedelta(days=29))
    )
    await session.commit()

    purged = await carts.purge_abandoned(session, days=30)
    await session.commit()

    assert purged == 1
    remaining = set(await session.scalars(select(Cart.id)))
    assert old_guest.id not in remaining
    assert {recent_guest.id, old_account.id} <= remaining
    lines = select(func.count()).select_from(CartLine).where(CartLine.cart_id == old_guest.id)
    assert await session.scalar(lines) == 0


# ---- limits: lines per cart, pieces per order ----


async def test_a_cart_holds_at_most_twenty_different_items(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, variant_ids = await sellable_variants(session, *range(10_000, 10_021))
    cart_id = await new_cart(client)
    for variant_id in variant_ids[:20]:
        assert (await add(client, cart_id, variant_id, 1)).status_code == 201

    refused = await add(client, cart_id, variant_ids[20], 1)

    assert refused.status_code == 409
    assert problem_type(refused) == "cart-line-limit"
    assert len(quantities((await client.get(f"/v1/carts/{cart_id}")).json())) == 20


async def test_a_cart_holds_at_most_twenty_pieces(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (first, second, third) = await sellable_variants(session, 10_000, 20_000, 30_000, stock=20)
    cart_id = await new_cart(client)
    assert (await add(client, cart_id, first, 10)).status_code == 201
    line_id = (await add(client, cart_id, second, 9)).json()["items"][1]["id"]

    added = await add(client, cart_id, third, 2)
    assert added.status_code == 422
    assert problem_type(added) == "quantity-limit"

    assert (await add(client, cart_id, third, 1)).status_code == 201
    raised = await client.patch(f"/v1/carts/{cart_id}/items/{line_id}", json={"quantity": 10})
    assert raised.status_code == 422
    assert problem_type(raised) == "quantity-limit"
    assert quantities((await client.get(f"/v1/carts/{cart_id}")).json()) == {
        str(first): 10,
        str(second): 9,
        str(third): 1,
    }


# ---- one store currency ----


async def test_an_item_priced_in_another_currency_cannot_be_added(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (variant_id,) = await sellable_variants(session, 10_000)
    await session.execute(update(Variant).where(Variant.id == variant_id).values(currency="EUR"))
    await session.commit()
    cart_id = await new_cart(client)

    response = await add(client, cart_id, variant_id, 1)

    assert response.status_code == 409
    assert problem_type(response) == "currency-mismatch"
    assert quantities((await client.get(f"/v1/carts/{cart_id}")).json()) == {}


async def test_a_cart_mixing_currencies_is_not_priced_until_the_odd_lines_go(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, (dollars, yen, euros) = await sellable_variants(session, 100_000, 9_800_000, 85_000)
    cart_id = await new_cart(client)
    for variant_id in (dollars, yen, euros):
        assert (await add(client, cart_id, variant_id, 1)).status_code == 201
    # Prices set in other currencies before the store enforced one.
    for variant_id, currency in ((yen, "JPY"), (euros, "EUR")):
        await session.execute(
            update(Variant).where(Variant.id == variant_id).values(currency=currency)
        )
    await session.commit()

    mixed = await client.get(f"/v1/carts/{cart_id}")
    assert mixed.status_code == 409
    assert problem_type(mixed) == "currency-mismatch"
    assert set(mixed.json()["variant_ids"]) == {str(yen), str(euros)}

    lines = dict(await line_ids(session, cart_id))
    still_mixed = await client.delete(f"/v1/carts/{cart_id}/items/{lines[yen]}")
    assert still_mixed.status_code == 409
    assert still_mixed.json()["variant_ids"] == [str(euros)]
    fixed = await client.delete(f"/v1/carts/{cart_id}/items/{lines[euros]}")
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["totals"]["currency"] == "USD"
    assert fixed.json()["totals"]["subtotal_minor"] == 100_000


async def line_ids(session: AsyncSession, cart_id: str) -> list[tuple[uuid.UUID, uuid.UUID]]:
    rows = await session.execute(
        select(CartLine.variant_id, CartLine.id).where(CartLine.cart_id == uuid.UUID(cart_id))
    )
    return [(variant_id, line_id) for variant_id, line_id in rows]


async def test_claim_keeps_to_the_line_and_piece_limits(
    client: httpx.AsyncClient, session: AsyncSession, bound_app: FastAPI
) -> None:
    _, (kept, topped, left) = await sellable_variants(session, 10_000, 20_000, 30_000, stock=10)
    _, headers = await signed_in(client, session)
    mine = (await client.get("/v1/me/cart", headers=headers)).json()["id"]
    assert (await add(client, mine, kept, 3, headers=headers)).status_code == 201
    guest = await new_cart(client)
    for variant_id, quantity in ((kept, 1), (topped, 4), (left, 1)):
        assert (await add(client, guest, variant_id, quantity)).status_code == 201

    saved = bound_app.state.settings
    bound_app.state.settings = saved.model_copy(update={"cart_max_lines": 2, "order_max_units": 6})
    try:
        claimed = await client.post("/v1/me/cart/claim", json={"cart_id": guest}, headers=headers)
    finally:
        bound_app.state.settings = saved

    assert claimed.status_code == 200, claimed.text
    # 3 + 1 of the first, then only 2 of the second fit in 6 pieces; a third item has no room.
    assert quantities(claimed.json()) == {str(kept): 4, str(topped): 2}
