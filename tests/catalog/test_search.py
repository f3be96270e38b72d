"""Text search (`q`): a case-insensitive substring of a product's name or description,
answered from an index (trigram GIN on PostgreSQL, FTS5 trigram on SQLite) that follows
every product write."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.accounts.models import Role
from app.catalog import repository
from app.catalog.models import Category, Product
from tests.factories import make_category, make_product, signed_in


@pytest.fixture
async def halo(session: AsyncSession) -> Category:
    return await make_category(session, "halo")


async def found(client: httpx.AsyncClient, q: str) -> list[str]:
    response = await client.get("/v1/products", params={"q": q, "sort": "name"})
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


async def test_search_matches_a_substring_of_the_name_or_description_ignoring_case(
    client: httpx.AsyncClient, session: AsyncSession, halo: Category
) -> None:
    await make_product(session, halo, slug="cushion", name="Cushion Halo Ring")
    band = await make_product(session, halo, slug="band", name="Classic Band")
    band.description = "Hand-ENGRAVED milgrain, 100% recycled gold"
    await session.commit()
    assert await found(client, "cushion") == ["cushion"]
    assert await found(client, "USHIO") == ["cushion"]  # inside a word, any case
    assert await found(client, "engraved") == ["band"]  # the description
    assert await found(client, "an") == ["band"]  # shorter than a trigram: still a substring
    assert await found(client, "a") == ["band", "cushion"]
    assert await found(client, "100% rec") == ["band"]
    assert await found(client, "100%25") == []  # % and _ are literal, not wildcards
    assert await found(client, "ha_d") == []
    assert await found(client, 'ring"') == []  # quotes are text, not query syntax
    assert await found(client, "Ring OR Band") == []  # ... and so are operators


async def test_search_follows_renames_and_deletes(
    client: httpx.AsyncClient, session: AsyncSession, halo: Category
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    ring = await make_product(session, halo, slug="ring", name="Oval Halo Ring")
    assert await found(client, "oval") == ["ring"]
    renamed = await client.patch(
        f"/v1/admin/products/{ring.id}", json={"name": "Pear Halo Ring"}, headers=staff
    )
    assert renamed.status_code == 200, renamed.text
    assert await found(client, "oval") == []
    assert await found(client, "pear halo") == ["ring"]
    deleted = await client.delete(f"/v1/admin/products/{ring.id}", headers=staff)
    assert deleted.status_code == 204
    assert await found(client, "pear") == []


@pytest.mark.parametrize("q", ["halo", "ring oval"])
async def test_the_search_condition_is_answered_from_the_text_index(
    connection: AsyncConnection, backend: str, q: str
) -> None:
    condition = repository.text_match(q, dialect=backend)
    query = select(Product.id).where(condition)
    sql = str(query.compile(connection.sync_connection, compile_kwargs={"literal_binds": True}))
    if backend == "postgres":
        # An empty table is scanned whatever the indexes; forbid scans to see if one serves.
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = str((await connection.exec_driver_sql(f"EXPLAIN {sql}")).all())
        await connection.exec_driver_sql("SET LOCAL enable_seqscan = on")
        assert "ix_products_search_name" in plan
        assert "ix_products_search_description" in plan
    else:
        plan = str((await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all())
        assert "VIRTUAL TABLE INDEX" in plan
