"""The sample catalog: its shape, its invariants, determinism, and seeding only once."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import seed as catalog_seed
from app.catalog.models import (
    Category,
    InventoryMovement,
    Metal,
    MetalPurity,
    MovementReason,
    Page,
    Product,
    ProductImage,
    Variant,
)
from app.cli import PROJECT_ROOT
from app.core.db import create_engine, create_sessionmaker
from app.seed import CatalogNotEmpty, seed
from tests.realdb import dedicated_pg_database, dedicated_sqlite_database

CATEGORY_TREE = {
    "engagement-rings": {"solitaire", "side-stone", "halo", "three-stone"},
    "wedding-sets": set(),
    "wedding-bands": {
        "diamond-bands", "gold-bands", "eternity-bands", "anniversary-bands", "gemstone-bands",
        "his-and-hers",
    },
    "semi-mounts": set(),
    "earrings": {"stud-earrings", "diamond-earrings"},
    "mens": {"mens-diamond-rings", "mens-wedding-bands"},
    "pendants": set(),
    "bracelets": set(),
    "gemstones": set(),
}  # fmt: skip
PAGES = {
    "diamond-color", "diamond-cut", "diamond-clarity", "how-to-choose-a-diamond", "faq",
    "shipping", "about",
}  # fmt: skip
RING_CATEGORIES = (
    CATEGORY_TREE["engagement-rings"]
    | CATEGORY_TREE["wedding-bands"]
    | CATEGORY_TREE["mens"]
    | {"wedding-sets", "semi-mounts"}
)
PURITIES = {
    Metal.yellow_gold: {MetalPurity.k10, MetalPurity.k14, MetalPurity.k18},
    Metal.white_gold: {MetalPurity.k10, MetalPurity.k14, MetalPurity.k18},
    Metal.rose_gold: {MetalPurity.k10, MetalPurity.k14, MetalPurity.k18},
    Metal.silver: {MetalPurity.sterling_925},
    Metal.platinum: {MetalPurity.platinum_950},
    Metal.tungsten: {None},
    Metal.titanium: {None},
}
SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]*$")


async def count_rows(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return {
                model.__tablename__: await session.scalar(select(func.count()).select_from(model))
                or 0
                for model in (Category, Product, Variant, Page, ProductImage, InventoryMovement)
            }
    finally:
        await engine.dispose()


async def product_slugs(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return list(await session.scalars(select(Product.slug).order_by(Product.slug)))
    finally:
        await engine.dispose()


# ---- the catalog itself, on both backends, rolled back after each test ----


async def test_sample_catalog_is_complete_and_consistent(session: AsyncSession) -> None:
    counts = await catalog_seed.load(session)

    categories = list(await session.scalars(select(Category)))
    by_id = {c.id: c for c in categories}
    tree: dict[str, set[str]] = defaultdict(set)
    for category in categories:
        if category.parent_id is None:
            tree.setdefault(category.slug, set())
        else:
            tree[by_id[category.parent_id].slug].add(category.slug)
    assert tree == CATEGORY_TREE
    pages = list(await session.scalars(select(Page)))
    assert {p.slug for p in pages} == PAGES
    assert all(p.is_published and len(p.body) > 400 for p in pages)

    products = list(await session.scalars(select(Product)))
    variants = list(await session.scalars(select(Variant)))
    assert counts.products == len(products) == catalog_seed.DEFAULT_PRODUCTS
    assert counts.variants == len(variants)
    of_product: dict[object, list[Variant]] = defaultdict(list)
    for variant in variants:
        of_product[variant.product_id].append(variant)

    skus = [v.sku for v in variants]
    assert len(set(skus)) == len(skus)
    assert all(SKU.match(sku) for sku in skus)
    assert len({p.created_at for p in products}) == len(products)
    assert all(p.units_sold == 0 for p in products)
    assert 0 < sum(not p.is_published for p in products) < len(products) // 10

    for product in products:
        own = of_product[product.id]
        category = by_id[product.category_id].slug
        active_prices = [v.price_minor for v in own if v.is_active]
        assert product.price_from_minor == min(active_prices), product.name
        if product.is_published:
            assert product.published_at is not None
            assert product.price_from_minor > 0
        if product.certificate_number is not None:
            assert category == "gemstones"
            assert product.grading_lab is not None
            assert [v.stock_on_hand for v in own] == [1], product.name
            continue
        assert product.metal_purity in PURITIES[product.metal], product.name
        if category in RING_CATEGORIES:
            assert len(own) >= 5, product.name
            assert all(v.ring_size for v in own), product.name
        elif category == "pendants":
            assert all(v.chain_length_cm for v in own), product.name
        else:
            assert len(own) == 1, product.name
        if product.color is not None:
            assert product.color in "DEFGHIJK"
    assert sum(1 for p in products if p.certificate_number) >= 10

    stock = Counter(
        "out" if v.stock_on_hand == 0 else "low" if v.stock_on_hand <= 2 else "in" for v in variants
    )
    assert stock["out"] > 0
    assert stock["low"] > 0
    assert stock["in"] > 10 * (stock["low"] + stock["out"]) // 2

    # Ten curated products (ranks 1..10) in every top-level category.
    top_of = {c.id: c if c.parent_id is None else by_id[c.parent_id] for c in categories}
    ranks: dict[str, list[int]] = defaultdict(list)
    for product in products:
        if product.curated_rank is not None:
            assert product.is_published
            ranks[top_of[product.category_id].slug].append(product.curated_rank)
    assert {top: sorted(r) for top, r in ranks.items()} == {
        top: list(range(1, 11)) for top in CATEGORY_TREE
    }

    images = list(await session.scalars(select(ProductImage)))
    assert sorted(i.product_id for i in images) == sorted(p.id for p in products)
    assert all(i.url.startswith("https://images.facet.example/") and i.alt_text for i in images)

    movements = list(await session.scalars(select(InventoryMovement)))
    stocked = {v.id: v.stock_on_hand for v in variants if v.stock_on_hand > 0}
    assert {m.variant_id: m.delta for m in movements} == stocked
    assert all(
        m.reason == MovementReason.initial
        and m.stock_after == m.delta
        and m.actor_account_id is None
        for m in movements
    )


def test_prices_make_sense() -> None:
    builder = catalog_seed.CatalogBuilder(
        products=600, seed=catalog_seed.RANDOM_SEED, now=datetime.now(UTC)
    )
    builder.category_rows()
    slug_of = {v: k for k, v in builder.category_ids.items()}
    prices: dict[str, list[int]] = defaultdict(list)
    for batch in builder.batches():
        for product in batch.products:
            prices[slug_of[product["category_id"]]].append(product["price_from_minor"] // 100)
    for band in CATEGORY_TREE["wedding-bands"] | {"mens-wedding-bands"}:
        assert min(prices[band]) >= 200, band
        assert max(prices[band]) <= 3_000, band
    for ring in CATEGORY_TREE["engagement-rings"]:
        assert min(prices[ring]) >= 1_500, ring
        assert max(prices[ring]) <= 25_000, ring
    assert max(prices["gemstones"]) > 5 * min(prices["gemstones"])


def test_allocate_splits_exactly_and_covers_every_leaf() -> None:
    weights = [10, 7, 8, 5, 6, 2]
    for total in (0, 3, 6, 7, 100, 301):
        shares = catalog_seed.allocate(total, weights)
        assert sum(shares) == total
        if total >= len(weights):
            assert min(shares) >= 1


# ---- the `facet seed` entry point, on fresh database files ----


async def test_seeding_twice_with_only_if_empty_does_not_duplicate(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "seed.db")
    first = await seed(products=30, database_url=url)
    assert first.startswith("seeded 23 categories, 30 products")
    assert "7 pages" in first
    before = await count_rows(url)

    second = await seed(products=30, only_if_empty=True, database_url=url)

    assert "nothing seeded" in second
    assert await count_rows(url) == before
    assert (before["categories"], before["products"], before["pages"]) == (23, 30, 7)


async def test_seeding_a_catalog_that_is_not_empty_is_refused(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "seed.db")
    await seed(products=5, database_url=url)
    with pytest.raises(CatalogNotEmpty):
        await seed(products=5, database_url=url)
    assert (await count_rows(url))["products"] == 5


async def test_two_seeds_of_fresh_databases_are_identical(tmp_path: Path) -> None:
    first = await dedicated_sqlite_database(tmp_path, "a.db")
    second = await dedicated_sqlite_database(tmp_path, "b.db")
    await seed(products=60, database_url=first)
    await seed(products=60, database_url=second)
    slugs = await product_slugs(first)
    assert len(slugs) == 60
    assert slugs == await product_slugs(second)


async def test_seed_on_postgresql_only_once() -> None:
    url = await dedicated_pg_database("_seed")
    first = await seed(products=40, database_url=url)
    second = await seed(products=40, only_if_empty=True, database_url=url)
    assert first.startswith("seeded 23 categories, 40 products")
    assert "nothing seeded" in second
    assert (await count_rows(url))["products"] == 40


async def test_facet_seed_command_seeds_the_configured_database(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "seed.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env["FACET_DATABASE_URL"] = url
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "seed", "--products", "12"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("seeded 23 categories, 12 products")
    assert (await count_rows(url))["products"] == 12


async def test_facet_seed_command_refuses_a_seeded_database_in_one_line(tmp_path: Path) -> None:
    url = await dedicated_sqlite_database(tmp_path, "seed.db")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env["FACET_DATABASE_URL"] = url
    command = [sys.executable, "-m", "app.cli", "seed", "--products", "5"]
    results = [
        await asyncio.to_thread(
            subprocess.run,
            command,
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for _ in range(2)
    ]
    assert results[0].returncode == 0, results[0].stderr
    assert results[1].returncode == 1
    assert "Traceback" not in results[1].stderr
    assert "catalog is not empty" in results[1].stderr
    assert (await count_rows(url))["products"] == 5
