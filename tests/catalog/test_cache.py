"""Public catalog answers are cached per catalog version: a change shows on the next read,
the same URL's ETag changes exactly when its content does, and a cached read costs one
small query."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.catalog import repository
from app.catalog.models import Category, Product, Variant
from app.core.db import ReadOnlySessionError, read_only_session
from tests.factories import make_category, make_product, signed_in


@pytest.fixture
async def halo(session: AsyncSession) -> Category:
    return await make_category(session, "halo")


@pytest.fixture
async def staff(client: httpx.AsyncClient, session: AsyncSession) -> dict[str, str]:
    _, headers = await signed_in(client, session, role=Role.staff)
    return headers


async def variant_of(session: AsyncSession, product: Product) -> uuid.UUID:
    variant_id = await session.scalar(select(Variant.id).where(Variant.product_id == product.id))
    assert variant_id is not None
    return variant_id


@contextmanager
def selects(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_a_repeated_read_is_answered_from_the_cache_with_one_small_query(
    client: httpx.AsyncClient, session: AsyncSession, engine: AsyncEngine, halo: Category
) -> None:
    await make_product(session, halo, slug="cached")
    for path in ("/v1/products?limit=5", "/v1/products/cached", "/v1/categories"):
        first = await client.get(path)
        with selects(engine) as statements:
            again = await client.get(path)
            revalidated = await client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 200
        assert again.content == first.content
        assert revalidated.status_code == 304
        assert revalidated.content == b""
        assert len(statements) == 2, statements  # the catalog version, once per request
        assert "catalog_versions" in statements[0]


async def test_same_url_etag_changes_exactly_when_its_content_does(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str], halo: Category
) -> None:
    ring = await make_product(session, halo, slug="ring", prices=(100_000,))
    other = await make_product(session, halo, slug="other", prices=(200_000,))
    ring_variant, other_variant = await variant_of(session, ring), await variant_of(session, other)
    detail = await client.get("/v1/products/ring")
    listing = await client.get("/v1/products")
    assert detail.headers["cache-control"] == "public, no-cache"

    # Another product's price change: this detail is unchanged, the list is not.
    changed = await client.patch(
        f"/v1/admin/variants/{other_variant}", json={"price_minor": 250_000}, headers=staff
    )
    assert changed.status_code == 200, changed.text
    same = await client.get("/v1/products/ring", headers={"If-None-Match": detail.headers["etag"]})
    assert same.status_code == 304
    relisted = await client.get("/v1/products", headers={"If-None-Match": listing.headers["etag"]})
    assert relisted.status_code == 200
    assert relisted.headers["etag"] != listing.headers["etag"]
    assert {p["slug"]: p["price_from_minor"] for p in relisted.json()["items"]}["other"] == 250_000

    # This product's own change: a new body and a new ETag, on the very next read.
    await client.patch(
        f"/v1/admin/variants/{ring_variant}", json={"price_minor": 120_000}, headers=staff
    )
    fresh = await client.get("/v1/products/ring", headers={"If-None-Match": detail.headers["etag"]})
    assert fresh.status_code == 200
    assert fresh.json()["variants"][0]["price_minor"] == 120_000
    assert fresh.headers["etag"] != detail.headers["etag"]
    current = await client.get(
        "/v1/products/ring", headers={"If-None-Match": fresh.headers["etag"]}
    )
    assert current.status_code == 304


async def test_stock_changes_that_alter_availability_show_on_the_next_read(
    client: httpx.AsyncClient, session: AsyncSession, halo: Category
) -> None:
    ring = await make_product(session, halo, slug="ring", stock=4)
    variant_id = await variant_of(session, ring)

    async def shown() -> tuple[str, bool, list[str]]:
        detail = (await client.get("/v1/products/ring")).json()
        listed = (await client.get("/v1/products")).json()["items"]
        in_stock = [
            p["slug"] for p in (await client.get("/v1/products?in_stock=true")).json()["items"]
        ]
        return detail["variants"][0]["availability"], listed[0]["in_stock"], in_stock

    assert await shown() == ("in_stock", True, ["ring"])
    await repository.reserve_stock(session, variant_id, 1, note="sale")  # 3 left: unchanged
    await session.commit()
    assert await shown() == ("in_stock", True, ["ring"])
    await repository.reserve_stock(session, variant_id, 1, note="sale")  # 2 left: low
    await session.commit()
    assert await shown() == ("low_stock", True, ["ring"])
    await repository.reserve_stock(session, variant_id, 2, note="sale")  # sold out
    await session.commit()
    assert await shown() == ("out_of_stock", False, [])
    await repository.release_stock(session, variant_id, 5, note="cancelled")
    await session.commit()
    assert await shown() == ("in_stock", True, ["ring"])


async def test_stock_set_by_staff_shows_on_the_next_read(
    client: httpx.AsyncClient, session: AsyncSession, staff: dict[str, str], halo: Category
) -> None:
    ring = await make_product(session, halo, slug="ring", stock=4)
    variant_id = await variant_of(session, ring)
    assert (await client.get("/v1/products/ring")).json()["variants"][0]["availability"] == (
        "in_stock"
    )
    response = await client.put(
        f"/v1/admin/variants/{variant_id}/stock",
        json={"stock_on_hand": 0, "reason": "damaged"},
        headers=staff,
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/v1/products/ring")).json()["variants"][0]["availability"] == (
        "out_of_stock"
    )


async def test_with_the_cache_switched_off_every_read_is_built_afresh(
    client: httpx.AsyncClient,
    bound_app: FastAPI,
    session: AsyncSession,
    engine: AsyncEngine,
    halo: Category,
) -> None:
    bound_app.state.catalog_cache = None
    ring = await make_product(session, halo, slug="ring", prices=(100_000,))
    first = await client.get("/v1/products/ring")
    # A change no version records (written behind the catalog's back) still shows.
    await session.execute(
        update(Variant).where(Variant.product_id == ring.id).values(price_minor=9)
    )
    await session.commit()
    with selects(engine) as statements:
        again = await client.get("/v1/products/ring")
    assert again.json()["variants"][0]["price_minor"] == 9
    assert again.headers["etag"] != first.headers["etag"]
    assert not any("catalog_versions" in s for s in statements)


async def test_a_read_only_session_refuses_every_write(
    sessionmaker: async_sessionmaker[AsyncSession], halo: Category
) -> None:
    async with read_only_session(sessionmaker) as session:
        assert await session.scalar(select(Category.slug)) == "halo"
        with pytest.raises(ReadOnlySessionError):
            await session.execute(update(Category).values(name="Renamed"))
        category = await session.scalar(select(Category))
        assert category is not None
        category.name = "Renamed"
        with pytest.raises(ReadOnlySessionError):
            await session.flush()
