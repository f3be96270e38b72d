"""Public catalog reads: the category tree, product search and detail, top sellers, pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from app.catalog import repository
from app.catalog.errors import CategoryNotFound, InvalidFilter, PageNotFound, ProductNotFound
from app.catalog.models import (
    Category,
    DiamondClarity,
    DiamondCut,
    Metal,
    Page,
    Product,
    StoneType,
    Variant,
)
from app.catalog.repository import CategoryRow, CategoryTree
from app.catalog.schemas import (
    Attributes,
    Availability,
    Breadcrumb,
    CategoryDetail,
    CategoryNode,
    ImageRead,
    PageRead,
    PageSummary,
    ProductDetail,
    ProductPage,
    ProductSort,
    ProductSummary,
    VariantRead,
)
from app.core.db import utcnow
from app.core.pagination import decode_cursor, encode_cursor


def availability(stock_on_hand: int) -> Availability:
    if stock_on_hand <= 0:
        return Availability.out_of_stock
    if stock_on_hand <= repository.LOW_STOCK_THRESHOLD:
        return Availability.low_stock
    return Availability.in_stock


def carat_from_points(points: int | None) -> Decimal | None:
    return None if points is None else (Decimal(points) / 100).quantize(Decimal("0.01"))


def points_from_carat(carat: Decimal | None) -> int | None:
    return None if carat is None else int((carat * 100).to_integral_value())


def attributes_of(product: Product) -> Attributes:
    return Attributes(
        stone_type=product.stone_type,
        total_carat_weight=carat_from_points(product.carat_points),
        cut=product.cut,
        color=product.color,
        clarity=product.clarity,
        metal_purity=product.metal_purity,
        grading_lab=product.grading_lab,
        certificate_number=product.certificate_number,
    )


def _breadcrumbs(tree: repository.CategoryTree, category: CategoryRow) -> list[Breadcrumb]:
    return [Breadcrumb(slug=c.slug, name=c.name) for c in tree.ancestors(category)]


# ---- categories ----


def _node(
    tree: repository.CategoryTree, category: CategoryRow, counts: dict[uuid.UUID, int]
) -> CategoryNode:
    children = [_node(tree, c, counts) for c in tree.children.get(category.id, [])]
    own = counts.get(category.id, 0)
    return CategoryNode(
        id=category.id,
        slug=category.slug,
        name=category.name,
        product_count=own + sum(child.product_count for child in children),
        children=children,
    )


async def category_tree(session: AsyncSession, tree: CategoryTree) -> list[CategoryNode]:
    counts = await repository.published_counts(session)
    return [_node(tree, root, counts) for root in tree.children.get(None, [])]


async def category_detail(session: AsyncSession, tree: CategoryTree, slug: str) -> CategoryDetail:
    category = tree.by_slug.get(slug)
    if category is None or category.id not in tree.visible_ids:
        raise CategoryNotFound()
    counts = await repository.published_counts(session)
    node = _node(tree, category, counts)
    return CategoryDetail(
        id=category.id,
        slug=category.slug,
        name=category.name,
        description=category.description,
        product_count=node.product_count,
        breadcrumbs=_breadcrumbs(tree, category),
        children=node.children,
    )


# ---- product search ----


@dataclass(frozen=True)
class ProductFilters:
    q: str | None = None
    category: str | None = None
    metal: list[Metal] = field(default_factory=list)
    stone: list[StoneType] = field(default_factory=list)
    cut: list[DiamondCut] = field(default_factory=list)
    color: list[str] = field(default_factory=list)
    clarity: list[DiamondClarity] = field(default_factory=list)
    min_price: int | None = None
    max_price: int | None = None
    min_carat: Decimal | None = None
    max_carat: Decimal | None = None
    in_stock: bool | None = None


_SORT_KEYS: dict[ProductSort, tuple[Any, bool]] = {
    # sort -> (column, descending)
    ProductSort.newest: (Product.created_at, True),
    ProductSort.price_asc: (Product.price_from_minor, False),
    ProductSort.price_desc: (Product.price_from_minor, True),
    ProductSort.name: (Product.name, False),
    ProductSort.best_selling: (Product.units_sold, True),
}


def _check_ranges(filters: ProductFilters) -> None:
    pairs = (("price", filters.min_price, filters.max_price), ("carat", filters.min_carat,
             filters.max_carat))  # fmt: skip
    for name, low, high in pairs:
        if low is not None and high is not None and low > high:
            raise InvalidFilter(f"min_{name} must not exceed max_{name}.", parameter=f"min_{name}")


def _apply_filters(
    query: Select[Any], filters: ProductFilters, tree: repository.CategoryTree, *, dialect: str
) -> Select[Any]:
    _check_ranges(filters)
    conditions: list[ColumnElement[bool]] = []
    if filters.category:
        category = tree.by_slug.get(filters.category)
        if category is None or category.id not in tree.visible_ids:
            raise InvalidFilter(f"There is no category {filters.category!r}.", parameter="category")
        conditions.append(Product.category_id.in_([c.id for c in tree.descendants(category)]))
    if filters.q:
        conditions.append(repository.text_match(filters.q, dialect=dialect))
    for column, values in (
        (Product.metal, filters.metal),
        (Product.stone_type, filters.stone),
        (Product.cut, filters.cut),
        (Product.color, filters.color),
        (Product.clarity, filters.clarity),
    ):
        if values:
            conditions.append(column.in_(values))
    if filters.min_price is not None:
        conditions.append(Product.price_from_minor >= filters.min_price)
    if filters.max_price is not None:
        conditions.append(Product.price_from_minor <= filters.max_price)
    if filters.min_carat is not None:
        conditions.append(Product.carat_points >= points_from_carat(filters.min_carat))
    if filters.max_carat is not None:
        conditions.append(Product.carat_points <= points_from_carat(filters.max_carat))
    if filters.in_stock is not None:
        exists = repository.in_stock_clause()
        conditions.append(exists if filters.in_stock else ~exists)
    return query.where(*conditions)


def _after_cursor(query: Select[Any], sort: ProductSort, cursor: str) -> Select[Any]:
    cursor_sort, value, raw_id = decode_cursor(cursor, arity=3)
    column, descending = _SORT_KEYS[sort]
    if cursor_sort != sort.value:
        raise InvalidFilter("The cursor belongs to another sort order.", parameter="cursor")
    try:
        after_id = uuid.UUID(str(raw_id))
        if column is Product.created_at:
            value = datetime.fromisoformat(str(value))
            if value.tzinfo is None:
                raise ValueError
        elif column is Product.name:
            value = str(value)
        else:
            value = int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidFilter("The cursor is not one this API issued.", parameter="cursor") from exc
    key, bound = tuple_(column, Product.id), tuple_(value, after_id)
    return query.where(key < bound if descending else key > bound)


def _cursor_for(product: Product, sort: ProductSort) -> str:
    column, _ = _SORT_KEYS[sort]
    value = getattr(product, column.key)
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    return encode_cursor([sort.value, value, str(product.id)])


def _summary(product: Product, category_slug: str, in_stock: bool) -> ProductSummary:
    first_image = product.images[0] if product.images else None
    return ProductSummary(
        id=product.id,
        slug=product.slug,
        name=product.name,
        category=category_slug,
        metal=product.metal,
        attributes=attributes_of(product),
        price_from_minor=product.price_from_minor,
        currency=product.currency,
        image=ImageRead.model_validate(first_image) if first_image else None,
        in_stock=in_stock,
    )


# What a product summary shows, and the sort keys its cursor may need: nothing else is
# loaded (not the description, the largest column).
_SUMMARY_COLUMNS = load_only(
    Product.id, Product.slug, Product.name, Product.metal, Product.stone_type,
    Product.carat_points, Product.cut, Product.color, Product.clarity, Product.metal_purity,
    Product.grading_lab, Product.certificate_number, Product.price_from_minor,
    Product.currency, Product.created_at, Product.units_sold,
    raiseload=True,
)  # fmt: skip


def _public_products() -> Select[Any]:
    return (
        select(Product, Category.slug, repository.in_stock_clause().label("in_stock"))
        .join(Category, Category.id == Product.category_id)
        .where(Product.is_published, Product.price_from_minor.is_not(None))
        .options(_SUMMARY_COLUMNS, selectinload(Product.images))
    )


async def search_products(
    session: AsyncSession,
    tree: CategoryTree,
    filters: ProductFilters,
    *,
    sort: ProductSort,
    limit: int,
    cursor: str | None,
) -> ProductPage:
    """A page of published products. Issues the same two statements whatever the
    page size: the page, and the page's first images."""
    dialect = session.get_bind().dialect.name
    query = _apply_filters(_public_products(), filters, tree, dialect=dialect)
    query = query.where(Product.category_id.in_(list(tree.visible_ids)))
    if cursor:
        query = _after_cursor(query, sort, cursor)
    column, descending = _SORT_KEYS[sort]
    order = (column.desc(), Product.id.desc()) if descending else (column, Product.id)
    rows = (await session.execute(query.order_by(*order).limit(limit + 1))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = _cursor_for(rows[-1][0], sort)
    return ProductPage(
        items=[_summary(p, slug, bool(stock)) for p, slug, stock in rows],
        next_cursor=next_cursor,
    )


TOP_SELLER_WINDOW = timedelta(days=90)


# Units sold per product since a moment: a subquery of (product_id, units). Sales are the
# orders domain's, which the catalog does not import; the entry level hands it in.
RecentSales = Callable[[datetime], Subquery]


async def top_products(
    session: AsyncSession,
    tree: CategoryTree,
    *,
    category: str | None,
    limit: int,
    recent_sales: RecentSales,
) -> list[ProductSummary]:
    """Most units sold in paid orders over the last 90 days; while there are too few
    sales, the staff-curated rank fills the list."""
    base = _apply_filters(
        _public_products(), ProductFilters(category=category), tree,
        dialect=session.get_bind().dialect.name,
    )  # fmt: skip
    base = base.where(Product.category_id.in_(list(tree.visible_ids)))
    sales = recent_sales(utcnow() - TOP_SELLER_WINDOW)
    rows = list(
        (
            await session.execute(
                base.join(sales, sales.c.product_id == Product.id)
                .order_by(sales.c.units.desc(), Product.id)
                .limit(limit)
            )
        ).all()
    )
    if len(rows) < limit:
        sellers = [product.id for product, _, _ in rows]
        curated = (
            await session.execute(
                base.where(Product.curated_rank.is_not(None), Product.id.not_in(sellers))
                .order_by(Product.curated_rank, Product.id)
                .limit(limit - len(rows))
            )
        ).all()
        rows.extend(curated)
    return [_summary(p, slug, bool(stock)) for p, slug, stock in rows]


async def product_detail(session: AsyncSession, tree: CategoryTree, slug: str) -> ProductDetail:
    product = await session.scalar(
        select(Product)
        .where(Product.slug == slug, Product.is_published)
        .options(selectinload(Product.variants), selectinload(Product.images))
    )
    if product is None or product.category_id not in tree.visible_ids:
        raise ProductNotFound()
    category = tree.by_id[product.category_id]
    variants: list[Variant] = [v for v in product.variants if v.is_active]
    return ProductDetail(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=category.slug,
        metal=product.metal,
        attributes=attributes_of(product),
        price_from_minor=product.price_from_minor,
        currency=product.currency,
        variants=[
            VariantRead(
                id=v.id,
                sku=v.sku,
                ring_size=v.ring_size,
                chain_length_cm=v.chain_length_cm,
                metal=v.metal,
                price_minor=v.price_minor,
                currency=v.currency,
                availability=availability(v.stock_on_hand),
            )
            for v in variants
        ],
        images=[ImageRead.model_validate(i) for i in product.images],
        breadcrumbs=_breadcrumbs(tree, category),
    )


# ---- content pages ----


async def list_pages(session: AsyncSession) -> list[PageSummary]:
    rows = await session.scalars(
        select(Page).where(Page.is_published).order_by(Page.position, Page.title)
    )
    return [PageSummary.model_validate(p) for p in rows]


async def page_detail(session: AsyncSession, slug: str) -> PageRead:
    page = await session.scalar(select(Page).where(Page.slug == slug, Page.is_published))
    if page is None:
        raise PageNotFound()
    return PageRead.model_validate(page)
