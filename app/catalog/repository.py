"""Catalog queries shared by the public reads and the staff writes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, InventoryMovement, MovementReason, Product, Variant


@dataclass(frozen=True)
class CategoryTree:
    """Every category, loaded once; small enough (tens of rows) to walk in memory."""

    by_id: dict[uuid.UUID, Category]
    children: dict[uuid.UUID | None, list[Category]]

    @property
    def by_slug(self) -> dict[str, Category]:
        return {c.slug: c for c in self.by_id.values()}

    def descendants(self, category: Category) -> list[Category]:
        found, stack = [], [category]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(self.children.get(node.id, []))
        return found

    def ancestors(self, category: Category) -> list[Category]:
        """Root first, ending with the category itself."""
        chain: list[Category] = []
        node: Category | None = category
        while node is not None and len(chain) <= len(self.by_id):
            chain.append(node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        return list(reversed(chain))


async def load_category_tree(session: AsyncSession, *, published_only: bool) -> CategoryTree:
    query = select(Category).order_by(Category.position, Category.name)
    if published_only:
        query = query.where(Category.is_published)
    categories = list(await session.scalars(query))
    by_id = {c.id: c for c in categories}
    children: dict[uuid.UUID | None, list[Category]] = {}
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


def in_stock_clause():  # type: ignore[no-untyped-def]
    return (
        select(Variant.id)
        .where(Variant.product_id == Product.id, Variant.is_active, Variant.stock_on_hand > 0)
        .exists()
    )


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
