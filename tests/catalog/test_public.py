from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.models import Category, DiamondClarity, DiamondCut, Metal, StoneType
from app.core.db import utcnow
from app.orders.models import OrderStatus
from tests.factories import make_category, make_paid_order, make_product

PROBLEM = "https://facet.example/problems/"


@pytest.fixture
async def rings(session: AsyncSession) -> dict[str, Category]:
    root = await make_category(session, "engagement-rings")
    solitaire = await make_category(session, "solitaire", parent=root)
    halo = await make_category(session, "halo", parent=root)
    bands = await make_category(session, "wedding-bands")
    return {"root": root, "solitaire": solitaire, "halo": halo, "bands": bands}


async def slugs(client: httpx.AsyncClient, query: str) -> list[str]:
    response = await client.get(f"/v1/products?{query}")
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


async def test_category_tree_counts_published_products_of_descendants(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["solitaire"])
    await make_product(session, rings["halo"])
    await make_product(session, rings["halo"], published=False)
    response = await client.get("/v1/categories")
    assert response.status_code == 200
    tree = {node["slug"]: node for node in response.json()}
    assert tree["engagement-rings"]["product_count"] == 2
    children = {c["slug"]: c["product_count"] for c in tree["engagement-rings"]["children"]}
    assert children == {"solitaire": 1, "halo": 1}
    assert tree["wedding-bands"]["product_count"] == 0


async def test_category_detail_has_breadcrumbs(
    client: httpx.AsyncClient, rings: dict[str, Category]
) -> None:
    response = await client.get("/v1/categories/halo")
    assert response.status_code == 200
    crumbs = [c["slug"] for c in response.json()["breadcrumbs"]]
    assert crumbs == ["engagement-rings", "halo"]


async def test_unknown_category_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/categories/no-such-thing")
    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "category-not-found"


async def test_unpublished_products_never_appear_publicly(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["halo"], slug="visible")
    await make_product(session, rings["halo"], slug="hidden", published=False)
    assert await slugs(client, "limit=100") == ["visible"]
    assert (await client.get("/v1/products/hidden")).status_code == 404
    assert (await client.get("/v1/products/visible")).status_code == 200
    top = await client.get("/v1/products/top")
    assert "hidden" not in [p["slug"] for p in top.json()]


async def test_products_in_an_unpublished_category_are_hidden(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    hidden = await make_category(session, "secret-collection", published=False)
    await make_product(session, hidden, slug="secret-ring")
    assert await slugs(client, "limit=100") == []
    assert (await client.get("/v1/products/secret-ring")).status_code == 404


async def test_filter_by_category_includes_descendants(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["solitaire"], slug="a")
    await make_product(session, rings["halo"], slug="b")
    await make_product(session, rings["bands"], slug="c")
    assert sorted(await slugs(client, "category=engagement-rings")) == ["a", "b"]
    assert await slugs(client, "category=halo") == ["b"]


async def test_filter_by_metal_stone_cut_color_clarity(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    cat = rings["solitaire"]
    await make_product(
        session, cat, slug="plat-d-if", metal=Metal.platinum, stone_type=StoneType.diamond,
        cut=DiamondCut.ideal, color="D", clarity=DiamondClarity.IF,
    )  # fmt: skip
    await make_product(
        session, cat, slug="gold-h-si1", metal=Metal.yellow_gold, stone_type=StoneType.diamond,
        cut=DiamondCut.good, color="H", clarity=DiamondClarity.SI1,
    )  # fmt: skip
    await make_product(
        session, cat, slug="ruby", metal=Metal.yellow_gold, stone_type=StoneType.ruby
    )
    assert await slugs(client, "metal=platinum") == ["plat-d-if"]
    assert sorted(await slugs(client, "metal=platinum&metal=gold")) == [
        "gold-h-si1", "plat-d-if", "ruby",
    ]  # fmt: skip
    assert await slugs(client, "stone=ruby") == ["ruby"]
    assert await slugs(client, "cut=ideal") == ["plat-d-if"]
    assert await slugs(client, "color=H") == ["gold-h-si1"]
    assert sorted(await slugs(client, "clarity=IF&clarity=SI1")) == ["gold-h-si1", "plat-d-if"]


async def test_filter_by_price_and_carat_ranges(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    cat = rings["solitaire"]
    await make_product(session, cat, slug="small", prices=(50_000,), carat_points=50)
    await make_product(session, cat, slug="medium", prices=(200_000, 250_000), carat_points=150)
    await make_product(session, cat, slug="large", prices=(900_000,), carat_points=300)
    assert sorted(await slugs(client, "min_price=100000&max_price=500000")) == ["medium"]
    assert sorted(await slugs(client, "min_carat=1.00&max_carat=3")) == ["large", "medium"]
    assert await slugs(client, "max_carat=0.5") == ["small"]


async def test_filter_in_stock(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["halo"], slug="available", stock=3)
    await make_product(session, rings["halo"], slug="sold-out", stock=0)
    assert await slugs(client, "in_stock=true") == ["available"]
    assert await slugs(client, "in_stock=false") == ["sold-out"]
    listed = (await client.get("/v1/products")).json()["items"]
    assert {p["slug"]: p["in_stock"] for p in listed} == {"available": True, "sold-out": False}


async def test_text_search_matches_name_and_description_case_insensitively(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["halo"], slug="halo-ring", name="Cushion Halo Ring")
    await make_product(session, rings["bands"], slug="band", name="Classic Band")
    assert await slugs(client, "q=cushion") == ["halo-ring"]
    assert await slugs(client, "q=100%25") == []  # a literal % is not a wildcard


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("metal=unobtainium", "metal"),
        ("color=AA", "color"),
        ("clarity=VVS9", "clarity"),
        ("cut=round", "cut"),
        ("min_price=-1", "min_price"),
        ("min_carat=abc", "min_carat"),
        ("sort=random", "sort"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("in_stock=perhaps", "in_stock"),
    ],
)
async def test_invalid_filter_is_422_naming_the_parameter(
    client: httpx.AsyncClient, query: str, parameter: str
) -> None:
    response = await client.get(f"/v1/products?{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][:2] == ["query", parameter]


async def test_unknown_category_filter_and_inverted_range_are_422(
    client: httpx.AsyncClient, rings: dict[str, Category]
) -> None:
    response = await client.get("/v1/products?category=nope")
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM + "invalid-filter"
    assert response.json()["parameter"] == "category"
    response = await client.get("/v1/products?min_price=500&max_price=100")
    assert response.status_code == 422
    assert response.json()["parameter"] == "min_price"


async def test_sorts(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    now = utcnow()
    cat = rings["halo"]
    await make_product(session, cat, slug="b", name="Beryl", prices=(300,),
                       created_at=now - timedelta(days=1), units_sold=5)  # fmt: skip
    await make_product(session, cat, slug="a", name="Amber", prices=(200,),
                       created_at=now - timedelta(days=2), units_sold=9)  # fmt: skip
    await make_product(session, cat, slug="c", name="Citrine", prices=(100,),
                       created_at=now, units_sold=1)  # fmt: skip
    assert await slugs(client, "sort=newest") == ["c", "b", "a"]
    assert await slugs(client, "sort=price_asc") == ["c", "a", "b"]
    assert await slugs(client, "sort=price_desc") == ["b", "a", "c"]
    assert await slugs(client, "sort=name") == ["a", "b", "c"]
    assert await slugs(client, "sort=best_selling") == ["a", "b", "c"]


@pytest.mark.parametrize("sort", ["newest", "price_asc", "price_desc", "name", "best_selling"])
async def test_cursor_walk_returns_every_published_product_exactly_once(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category], sort: str
) -> None:
    now = utcnow()
    expected = set()
    for i in range(11):
        # Ties on price, name, sales and creation time exercise the id tie-breaker.
        product = await make_product(
            session, rings["halo"], slug=f"p{i}", name=f"Ring {i % 3}", prices=(1000 * (i % 4),),
            created_at=now - timedelta(hours=i % 2), units_sold=i % 3,
        )  # fmt: skip
        expected.add(product.slug)
    await make_product(session, rings["halo"], slug="draft", published=False)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        query = f"sort={sort}&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/v1/products?{query}")).json()
        seen.extend(item["slug"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen))


async def test_cursor_is_stable_when_products_are_added_between_pages(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    now = utcnow()
    for i in range(4):
        await make_product(session, rings["halo"], slug=f"old{i}",
                           created_at=now - timedelta(days=10 + i))  # fmt: skip
    first = (await client.get("/v1/products?limit=2")).json()
    await make_product(session, rings["halo"], slug="brand-new", created_at=now)
    second = (await client.get(f"/v1/products?limit=2&cursor={first['next_cursor']}")).json()
    walked = [p["slug"] for p in first["items"] + second["items"]]
    assert walked == ["old0", "old1", "old2", "old3"]


async def test_cursor_from_another_sort_or_garbage_is_422(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    for i in range(3):
        await make_product(session, rings["halo"], slug=f"x{i}")
    cursor = (await client.get("/v1/products?limit=1&sort=newest")).json()["next_cursor"]
    response = await client.get(f"/v1/products?limit=1&sort=name&cursor={cursor}")
    assert response.status_code == 422
    response = await client.get("/v1/products?cursor=not-a-cursor")
    assert response.status_code == 422
    assert response.json()["type"] in {PROBLEM + "invalid-cursor", PROBLEM + "invalid-filter"}


async def test_product_detail_shows_availability_not_counts(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    product = await make_product(session, rings["halo"], slug="gem", prices=(100, 200, 300))
    from sqlalchemy import select

    from app.catalog.models import Variant

    variants = list(
        await session.scalars(select(Variant).where(Variant.product_id == product.id)
                              .order_by(Variant.position))
    )  # fmt: skip
    for variant, stock in zip(variants, (0, 1, 40), strict=True):
        variant.stock_on_hand = stock
    await session.commit()
    body = (await client.get("/v1/products/gem")).json()
    assert [v["availability"] for v in body["variants"]] == [
        "out_of_stock",
        "low_stock",
        "in_stock",
    ]
    assert all("stock_on_hand" not in v for v in body["variants"])
    assert [c["slug"] for c in body["breadcrumbs"]] == ["engagement-rings", "halo"]


async def test_top_products_fall_back_to_curated_rank_then_sales_lead(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["halo"], slug="second", curated_rank=2)
    first = await make_product(session, rings["halo"], slug="first", curated_rank=1)
    await make_product(session, rings["bands"], slug="band", curated_rank=1)
    top = await client.get("/v1/products/top?category=engagement-rings&limit=10")
    assert [p["slug"] for p in top.json()] == ["first", "second"]
    seller = await make_product(session, rings["halo"], slug="seller")
    await make_paid_order(session, seller, quantity=3)
    await make_paid_order(session, first, quantity=1)
    top = await client.get("/v1/products/top?category=engagement-rings&limit=10")
    assert [p["slug"] for p in top.json()] == ["seller", "first", "second"]


async def test_top_products_count_only_recent_paid_sales(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    old = await make_product(session, rings["halo"], slug="old-favourite")
    recent = await make_product(session, rings["halo"], slug="recent-hit")
    cancelled = await make_product(session, rings["halo"], slug="returned")
    await make_paid_order(session, old, quantity=9, paid_at=utcnow() - timedelta(days=200))
    await make_paid_order(session, recent, quantity=2)
    await make_paid_order(session, cancelled, quantity=5, status=OrderStatus.cancelled)
    top = await client.get("/v1/products/top?limit=10")
    assert [p["slug"] for p in top.json()] == ["recent-hit"]


async def test_public_reads_send_etag_and_honour_if_none_match(
    client: httpx.AsyncClient, session: AsyncSession, rings: dict[str, Category]
) -> None:
    await make_product(session, rings["halo"], slug="cached")
    for path in ("/v1/products", "/v1/products/cached", "/v1/categories", "/v1/pages"):
        first = await client.get(path)
        assert first.status_code == 200
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, no-cache"
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
    # How the ETag follows content changes: tests/catalog/test_cache.py.


async def test_product_list_issues_constant_statements_whatever_the_page_size(
    client: httpx.AsyncClient,
    session: AsyncSession,
    engine: AsyncEngine,
    rings: dict[str, Category],
) -> None:
    for i in range(30):
        await make_product(session, rings["halo"], slug=f"n{i}", prices=(100, 200))
    statements: list[str] = []

    def count(conn, cursor, statement, *args: object) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    await client.get("/v1/products?limit=2")  # loads the category tree of this version
    counts = []
    for limit in (1, 10, 30):
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(f"/v1/products?limit={limit}&in_stock=true")
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert len(response.json()["items"]) == limit
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 3  # the catalog version, the page, its images
