from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.models import InventoryMovement, Product, Variant
from tests.factories import make_category, make_product, signed_in

PROBLEM = "https://facet.example/problems/"


@pytest.fixture
async def staff(client: httpx.AsyncClient, session: AsyncSession) -> dict[str, str]:
    _, headers = await signed_in(client, session, role=Role.staff)
    return headers


def product_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "slug": "oval-halo-ring",
        "name": "1.20 ct Oval Halo Engagement Ring",
        "description": "An oval centre stone in a pavé halo.",
        "category_slug": "halo",
        "metal": "platinum",
        "attributes": {
            "stone_type": "diamond",
            "total_carat_weight": 1.2,
            "cut": "excellent",
            "color": "F",
            "clarity": "VS1",
            "metal_purity": "950",
            "grading_lab": "GIA",
            "certificate_number": "GIA-2214567",
        },
        "variants": [
            {"sku": "OVH-6", "ring_size": "6", "price_minor": 640000, "stock_on_hand": 2},
            {"sku": "OVH-6.5", "ring_size": "6.5", "price_minor": 650000, "stock_on_hand": 0},
        ],
    }
    body.update(overrides)
    return body


async def test_customer_gets_403_on_admin_routes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    _, headers = await signed_in(client, session)
    for method, path in [
        ("POST", "/v1/admin/categories"),
        ("GET", "/v1/admin/products"),
        ("POST", "/v1/admin/products"),
        ("POST", "/v1/admin/pages"),
    ]:
        response = await client.request(method, path, headers=headers, json={})
        assert response.status_code == 403, (method, path)
        assert response.json()["type"] == PROBLEM + "staff-only"


async def test_anonymous_gets_401_on_admin_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/admin/products")
    assert response.status_code == 401


async def test_staff_creates_product_unpublished_then_publishes_it(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    await make_category(session, "halo")
    response = await client.post("/v1/admin/products", json=product_body(), headers=staff)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["is_published"] is False
    assert created["price_from_minor"] == 640000
    assert created["attributes"]["total_carat_weight"] == "1.20"
    assert [v["stock_on_hand"] for v in created["variants"]] == [2, 0]
    assert (await client.get("/v1/products/oval-halo-ring")).status_code == 404

    published = await client.post(f"/v1/admin/products/{created['id']}/publish", headers=staff)
    assert published.status_code == 200
    detail = await client.get("/v1/products/oval-halo-ring")
    assert detail.status_code == 200
    assert detail.json()["attributes"]["grading_lab"] == "GIA"

    await client.post(f"/v1/admin/products/{created['id']}/unpublish", headers=staff)
    assert (await client.get("/v1/products/oval-halo-ring")).status_code == 404


async def test_duplicate_slug_and_sku_are_409(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    await make_category(session, "halo")
    assert (await client.post("/v1/admin/products", json=product_body(), headers=staff)).is_success
    again = await client.post("/v1/admin/products", json=product_body(), headers=staff)
    assert again.status_code == 409
    assert again.json()["type"] == PROBLEM + "slug-taken"
    sku_clash = product_body(slug="another-ring")
    response = await client.post("/v1/admin/products", json=sku_clash, headers=staff)
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "sku-taken"
    count = await session.scalar(select(func.count()).select_from(Product))
    assert count == 1


async def test_invalid_attributes_are_422_and_store_nothing(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    await make_category(session, "halo")
    for attributes in (
        {"color": "AA"},
        {"clarity": "VVS3"},
        {"total_carat_weight": -1},
        {"total_carat_weight": 1.234},
        {"metal_purity": "24k"},
        {"shape": "oval"},
    ):
        response = await client.post(
            "/v1/admin/products", json=product_body(attributes=attributes), headers=staff
        )
        assert response.status_code == 422, attributes
    assert await session.scalar(select(func.count()).select_from(Product)) == 0


async def test_product_without_active_variant_cannot_be_published(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    await make_category(session, "halo")
    created = (
        await client.post("/v1/admin/products", json=product_body(variants=[]), headers=staff)
    ).json()
    response = await client.post(f"/v1/admin/products/{created['id']}/publish", headers=staff)
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "not-publishable"


async def test_set_stock_records_a_ledger_entry(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, stock=5)
    variant_id = await session.scalar(select(Variant.id).where(Variant.product_id == product.id))
    response = await client.put(
        f"/v1/admin/variants/{variant_id}/stock",
        json={"stock_on_hand": 2, "reason": "damaged", "note": "two stones chipped"},
        headers=staff,
    )
    assert response.status_code == 200
    assert response.json()["stock_on_hand"] == 2
    movements = (
        await client.get(f"/v1/admin/variants/{variant_id}/movements", headers=staff)
    ).json()
    assert movements[0]["delta"] == -3
    assert movements[0]["stock_after"] == 2
    assert movements[0]["reason"] == "damaged"
    assert movements[0]["actor_account_id"] is not None


async def test_set_stock_refuses_negative_and_unknown_reason(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, stock=5)
    variant_id = await session.scalar(select(Variant.id).where(Variant.product_id == product.id))
    for body in ({"stock_on_hand": -1, "reason": "correction"},
                 {"stock_on_hand": 1, "reason": "because"},
                 {"stock_on_hand": "3", "reason": "correction"}):  # fmt: skip
        response = await client.put(
            f"/v1/admin/variants/{variant_id}/stock", json=body, headers=staff
        )
        assert response.status_code == 422, body
    count = await session.scalar(select(func.count()).select_from(InventoryMovement))
    assert count == 0


async def test_unknown_variant_stock_is_404(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    response = await client.put(
        "/v1/admin/variants/00000000-0000-4000-8000-000000000000/stock",
        json={"stock_on_hand": 1, "reason": "restock"},
        headers=staff,
    )
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "variant-not-found"


async def test_variant_price_change_updates_price_from(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, slug="priced", prices=(500, 900))
    cheapest = await session.scalar(
        select(Variant.id).where(Variant.product_id == product.id, Variant.price_minor == 500)
    )
    response = await client.patch(
        f"/v1/admin/variants/{cheapest}", json={"is_active": False}, headers=staff
    )
    assert response.status_code == 200
    assert (await client.get("/v1/products/priced")).json()["price_from_minor"] == 900


async def test_ordered_product_cannot_be_deleted_only_unpublished(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    sold = await make_product(session, category, slug="sold", units_sold=1)
    fresh = await make_product(session, category, slug="fresh")
    response = await client.delete(f"/v1/admin/products/{sold.id}", headers=staff)
    assert response.status_code == 409
    assert response.json()["type"] == PROBLEM + "product-ordered"
    assert (await client.delete(f"/v1/admin/products/{fresh.id}", headers=staff)).status_code == 204
    assert (await client.post(f"/v1/admin/products/{sold.id}/unpublish", headers=staff)).is_success


async def test_categories_create_move_and_refuse_cycles(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    root = await client.post(
        "/v1/admin/categories", json={"slug": "earrings", "name": "Earrings"}, headers=staff
    )
    assert root.status_code == 201
    child = await client.post(
        "/v1/admin/categories",
        json={"slug": "studs", "name": "Studs", "parent_slug": "earrings"},
        headers=staff,
    )
    assert child.status_code == 201
    again = await client.post(
        "/v1/admin/categories", json={"slug": "studs", "name": "Studs"}, headers=staff
    )
    assert again.status_code == 409
    cycle = await client.patch(
        "/v1/admin/categories/earrings", json={"parent_slug": "studs"}, headers=staff
    )
    assert cycle.status_code == 409
    assert cycle.json()["type"] == PROBLEM + "category-cycle"
    in_use = await client.delete("/v1/admin/categories/earrings", headers=staff)
    assert in_use.status_code == 409
    crumbs = (await client.get("/v1/categories/studs")).json()["breadcrumbs"]
    assert [c["slug"] for c in crumbs] == ["earrings", "studs"]


async def test_pages_are_staff_editable_and_public_only_when_published(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    body = {"slug": "diamond-cut", "title": "Diamond cut", "body": "Cut decides sparkle."}
    assert (await client.post("/v1/admin/pages", json=body, headers=staff)).status_code == 201
    assert (await client.get("/v1/pages/diamond-cut")).status_code == 404
    await client.patch("/v1/admin/pages/diamond-cut", json={"is_published": True}, headers=staff)
    page = await client.get("/v1/pages/diamond-cut")
    assert page.status_code == 200
    assert page.json()["body"] == "Cut decides sparkle."
    assert [p["slug"] for p in (await client.get("/v1/pages")).json()] == ["diamond-cut"]
    assert (await client.delete("/v1/admin/pages/diamond-cut", headers=staff)).status_code == 204
    assert (await client.get("/v1/pages/diamond-cut")).status_code == 404


async def test_images_are_added_in_position_order_and_removed(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, slug="pictured")
    for position, name in ((1, "side"), (0, "front")):
        response = await client.post(
            f"/v1/admin/products/{product.id}/images",
            json={"url": f"https://img.example/{name}.jpg", "alt_text": name,
                  "position": position},
            headers=staff,
        )  # fmt: skip
        assert response.status_code == 201
    images = (await client.get("/v1/products/pictured")).json()["images"]
    assert [i["alt_text"] for i in images] == ["front", "side"]
    bad = await client.post(
        f"/v1/admin/products/{product.id}/images",
        json={"url": "javascript:alert(1)", "alt_text": "x"},
        headers=staff,
    )
    assert bad.status_code == 422
    deleted = await client.delete(f"/v1/admin/images/{images[0]['id']}", headers=staff)
    assert deleted.status_code == 204
    images = (await client.get("/v1/products/pictured")).json()["images"]
    assert [i["alt_text"] for i in images] == ["side"]


# ---- one store currency ----


async def test_staff_cannot_price_a_new_product_in_another_currency(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    await make_category(session, "halo")
    variants = [
        {"sku": "OVH-7", "ring_size": "7", "price_minor": 640000, "currency": "USD"},
        {"sku": "OVH-8", "ring_size": "8", "price_minor": 9_800_000, "currency": "JPY"},
    ]

    response = await client.post(
        "/v1/admin/products", json=product_body(variants=variants), headers=staff
    )

    assert response.status_code == 422, response.text
    assert response.json()["type"] == PROBLEM + "currency-not-accepted"
    assert await session.scalar(select(func.count()).select_from(Product)) == 0
    assert await session.scalar(select(func.count()).select_from(Variant)) == 0


async def test_staff_cannot_add_a_variant_in_another_currency(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str]
) -> None:
    category = await make_category(session, "halo")
    product = await make_product(session, category, prices=(100_000,))

    refused = await client.post(
        f"/v1/admin/products/{product.id}/variants",
        json={"sku": "EUR-1", "price_minor": 90_000, "currency": "EUR"},
        headers=staff,
    )
    accepted = await client.post(
        f"/v1/admin/products/{product.id}/variants",
        json={"sku": "USD-1", "price_minor": 90_000},
        headers=staff,
    )

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == PROBLEM + "currency-not-accepted"
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["currency"] == "USD"
    currencies = await session.scalars(
        select(Variant.currency).where(Variant.product_id == product.id)
    )
    assert set(currencies) == {"USD"}
