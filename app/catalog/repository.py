"""Catalog queries shared by the public reads and the staff writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    column,
    event,
    func,
    or_,
    select,
    table,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from app.catalog.models import (
    CatalogVersion,
    Category,
    InventoryMovement,
    MovementReason,
    Page,
    Product,
    ProductImage,
    Variant,
)

# Availability shown publicly: out of stock at 0, low stock up to this many units.
LOW_STOCK_THRESHOLD = 2


@dataclass(frozen=True, slots=True)
class CategoryRow:
    """The columns of a category the tree and public answers use."""

    id: uuid.UUID
    slug: str
    name: str
    description: str
    parent_id: uuid.UUID | None


@dataclass(frozen=True)
class CategoryTree:
    """Every category, loaded once; small enough (tens of rows) to walk in memory. Plain
    rows, not ORM objects, so one tree can serve many requests of one catalog version."""

    by_id: dict[uuid.UUID, CategoryRow]
    children: dict[uuid.UUID | None, list[CategoryRow]]
    by_slug: dict[str, CategoryRow] = field(init=False)
    # Categories reachable from a root (not under a hidden parent).
    visible_ids: frozenset[uuid.UUID] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_slug", {c.slug: c for c in self.by_id.values()})
        visible = {c.id for root in self.children.get(None, []) for c in self.descendants(root)}
        object.__setattr__(self, "visible_ids", frozenset(visible))

    def descendants(self, category: CategoryRow | Category) -> list[CategoryRow | Category]:
        found: list[CategoryRow | Category] = []
        stack: list[CategoryRow | Category] = [category]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(self.children.get(node.id, []))
        return found

    def ancestors(self, category: CategoryRow) -> list[CategoryRow]:
        """Root first, ending with the category itself."""
        chain_: list[CategoryRow] = []
        node: CategoryRow | None = category
        while node is not None and len(chain_) <= len(self.by_id):
            chain_.append(node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        return list(reversed(chain_))


async def load_category_tree(session: AsyncSession, *, published_only: bool) -> CategoryTree:
    query = select(
        Category.id, Category.slug, Category.name, Category.description, Category.parent_id
    ).order_by(Category.position, Category.name)
    if published_only:
        query = query.where(Category.is_published)
    categories = [CategoryRow(*row) for row in await session.execute(query)]
    by_id = {c.id: c for c in categories}
    children: dict[uuid.UUID | None, list[CategoryRow]] = {}
    for category in categories:
        parent = category.parent_id if category.parent_id in by_id else None
        if category.parent_id is not None and parent is None:
            continue  # under an unpublished parent: hidden with it
        children.setdefault(parent, []).append(category)
    return CategoryTree(by_id=by_id, children=children)


async def published_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Product.category_id, func.count())
        .where(Product.is_published, Product.price_from_minor.is_not(None))
        .group_by(Product.category_id)
    )
    return {row[0]: int(row[1]) for row in rows}


async def refresh_price_from(session: AsyncSession, product_id: uuid.UUID) -> None:
    lowest = (
        select(func.min(Variant.price_minor))
        .where(Variant.product_id == product_id, Variant.is_active)
        .scalar_subquery()
    )
    await session.execute(
        update(Product).where(Product.id == product_id).values(price_from_minor=lowest)
    )


# SQLite's FTS5 trigram table of product names and descriptions (migration 0013).
_SQLITE_SEARCH = table("products_search", column("product_id"))
_TRIGRAM = 3


def _escape_like(text_: str) -> str:
    return text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_match(query: str, *, dialect: str) -> ColumnElement[bool]:
    """Products whose name or description contains `query`, ignoring case.

    PostgreSQL answers the LIKE from its trigram indexes; SQLite asks its FTS5 trigram
    table, whose phrase match is the same substring test, when the query is long enough
    to make a trigram (shorter ones scan, as the index could not help)."""
    if dialect == "sqlite" and len(query) >= _TRIGRAM:
        phrase = '"' + query.replace('"', '""') + '"'
        return Product.id.in_(
            select(_SQLITE_SEARCH.c.product_id).where(
                text("products_search MATCH :search_phrase").bindparams(search_phrase=phrase)
            )
        )
    pattern = f"%{_escape_like(query.lower())}%"
    return or_(
        func.lower(Product.name).like(pattern, escape="\\"),
        func.lower(Product.description).like(pattern, escape="\\"),
    )


def in_stock_clause():  # type: ignore[no-untyped-def]
    return (
        select(Variant.id)
        .where(Variant.product_id == Product.id, Variant.is_active, Variant.stock_on_hand > 0)
        .exists()
    )


# ---- the catalog version ----

CATALOG_VERSION_ROW = 1
# Rows whose every write may change a public answer.
_PUBLISHED_TYPES = (Category, Product, Variant, ProductImage, Page)


async def catalog_version(session: AsyncSession) -> int:
    """The current catalog version: read it before anything it keys."""
    version = await session.scalar(
        select(CatalogVersion.version).where(CatalogVersion.id == CATALOG_VERSION_ROW)
    )
    return int(version or 0)


def _advance(connection: Connection) -> None:
    advanced = connection.execute(
        update(CatalogVersion)
        .where(CatalogVersion.id == CATALOG_VERSION_ROW)
        .values(version=CatalogVersion.version + 1)
    )
    if not advanced.rowcount:
        connection.execute(
            CatalogVersion.__table__.insert().values(id=CATALOG_VERSION_ROW, version=1)
        )


# Set on a session whose transaction changed what public answers show.
_CATALOG_CHANGED = "facet_catalog_changed"


def catalog_changed(session: AsyncSession | Session) -> None:
    """Advance the catalog version when this transaction commits (in it, so readers see
    the new version exactly when they can see the change)."""
    session.info[_CATALOG_CHANGED] = True


@event.listens_for(Session, "after_flush")
def _note_catalog_write(session: Session, _: Any) -> None:
    # Every ORM write of a catalog row (staff edits, seeding) counts, so no write path can
    # forget to; the stock UPDATEs below mark the session themselves.
    touched = chain(session.new, session.deleted, session.dirty)
    if any(
        isinstance(obj, _PUBLISHED_TYPES)
        and (obj not in session.dirty or session.is_modified(obj, include_collections=False))
        for obj in touched
    ):
        catalog_changed(session)


@event.listens_for(Session, "before_commit")
def _advance_at_commit(session: Session) -> None:
    # The version row is the last lock a transaction takes, after every stock row it
    # reserves: taken mid-way, two checkouts could each hold a row the other waits for.
    session.flush()
    if session.info.pop(_CATALOG_CHANGED, False):
        _advance(session.connection())


def _availability_changed(before: int, after: int) -> bool:
    def level(units: int) -> int:
        return 0 if units <= 0 else 1 if units <= LOW_STOCK_THRESHOLD else 2

    return level(before) != level(after)


# ---- stock ----


async def reserve_stock(
    session: AsyncSession, variant_id: uuid.UUID, quantity: int, *, note: str
) -> int | None:
    """Take `quantity` units atomically; None when not enough remain (nothing changed).

    A single conditional UPDATE: on PostgreSQL concurrent writers queue on the row
    lock and re-check the condition, so stock can never be sold twice or go negative.
    """
    remaining = await session.scalar(
        update(Variant)
        .where(Variant.id == variant_id, Variant.is_active, Variant.stock_on_hand >= quantity)
        .values(stock_on_hand=Variant.stock_on_hand - quantity)
        .returning(Variant.stock_on_hand)
        .execution_options(synchronize_session=False)
    )
    if remaining is None:
        return None
    if _availability_changed(remaining + quantity, remaining):
        catalog_changed(session)
    session.add(
        InventoryMovement(
            variant_id=variant_id,
            delta=-quantity,
            stock_after=remaining,
            reason=MovementReason.sale,
            note=note,
        )
    )
    return int(remaining)


async def release_stock(
    session: AsyncSession, variant_id: uuid.UUID, quantity: int, *, note: str
) -> None:
    remaining = await session.scalar(
        update(Variant)
        .where(Variant.id == variant_id)
        .values(stock_on_hand=Variant.stock_on_hand + quantity)
        .returning(Variant.stock_on_hand)
        .execution_options(synchronize_session=False)
    )
    if remaining is not None:
        if _availability_changed(remaining - quantity, remaining):
            catalog_changed(session)
        session.add(
            InventoryMovement(
                variant_id=variant_id,
                delta=quantity,
                stock_after=remaining,
                reason=MovementReason.release,
                note=note,
            )
        )


async def add_units_sold(session: AsyncSession, product_id: uuid.UUID, quantity: int) -> None:
    await session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(units_sold=Product.units_sold + quantity)
        .execution_options(synchronize_session=False)
    )
