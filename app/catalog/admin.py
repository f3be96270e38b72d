"""Staff writes: categories, products, variants, stock, images and pages."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import Account
from app.catalog import repository
from app.catalog.errors import (
    CategoryCycle,
    CategoryInUse,
    CategoryNotFound,
    CurrencyNotAccepted,
    ImageNotFound,
    NotPublishable,
    PageNotFound,
    ProductNotFound,
    ProductOrdered,
    SkuTaken,
    SlugTaken,
    VariantNotFound,
)
from app.catalog.models import (
    Category,
    InventoryMovement,
    MovementReason,
    Page,
    Product,
    ProductImage,
    Variant,
)
from app.catalog.schemas import (
    AttributesIn,
    CategoryCreate,
    CategoryUpdate,
    ImageCreate,
    ImageRead,
    PageCreate,
    PageUpdate,
    ProductAdminRead,
    ProductCreate,
    ProductUpdate,
    StockSet,
    VariantAdminRead,
    VariantCreate,
    VariantUpdate,
)
from app.catalog.service import attributes_of, points_from_carat
from app.core.db import utcnow
from app.core.errors import Conflict
from app.core.pagination import paginate_by_creation


async def _flush_unique(session: AsyncSession, conflict: Conflict) -> None:
    """Flush, turning a unique-constraint race into the domain's 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise conflict from exc


# ---- categories ----


async def get_category_by_slug(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise CategoryNotFound()
    return category


async def create_category(session: AsyncSession, data: CategoryCreate) -> Category:
    if await session.scalar(select(Category.id).where(Category.slug == data.slug)):
        raise SlugTaken()
    parent = await get_category_by_slug(session, data.parent_slug) if data.parent_slug else None
    category = Category(
        slug=data.slug,
        name=data.name,
        description=data.description,
        parent_id=parent.id if parent else None,
        position=data.position,
        is_published=data.is_published,
    )
    session.add(category)
    await _flush_unique(session, SlugTaken())
    return category


async def update_category(
    session: AsyncSession, category: Category, data: CategoryUpdate
) -> Category:
    changes = data.model_dump(exclude_unset=True)
    if "parent_slug" in changes:
        parent_slug = changes.pop("parent_slug")
        if parent_slug is None:
            category.parent_id = None
        else:
            parent = await get_category_by_slug(session, parent_slug)
            tree = await repository.load_category_tree(session, published_only=False)
            if parent.id in {c.id for c in tree.descendants(category)}:
                raise CategoryCycle()
            category.parent_id = parent.id
    for name, value in changes.items():
        if value is not None:
            setattr(category, name, value)
    await session.flush()
    return category


async def delete_category(session: AsyncSession, category: Category) -> None:
    in_use = await session.scalar(
        select(func.count()).select_from(Product).where(Product.category_id == category.id)
    ) or await session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category.id)
    )
    if in_use:
        raise CategoryInUse()
    await session.delete(category)
    await session.flush()


# ---- products ----


def _apply_attributes(product: Product, attributes: AttributesIn) -> None:
    product.stone_type = attributes.stone_type
    product.carat_points = points_from_carat(attributes.total_carat_weight)
    product.cut = attributes.cut
    product.color = attributes.color
    product.clarity = attributes.clarity
    product.metal_purity = attributes.metal_purity
    product.grading_lab = attributes.grading_lab
    product.certificate_number = attributes.certificate_number


async def load_product(session: AsyncSession, product_id: uuid.UUID) -> Product:
    product = await session.scalar(
        select(Product)
        .where(Product.id == product_id)
        .options(selectinload(Product.variants), selectinload(Product.images))
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise ProductNotFound()
    return product


async def admin_view(session: AsyncSession, product: Product) -> ProductAdminRead:
    product = await load_product(session, product.id)
    category = await session.get(Category, product.category_id)
    return ProductAdminRead(
        id=product.id,
        slug=product.slug,
        name=product.name,
        description=product.description,
        category=category.slug if category else "",
        metal=product.metal,
        attributes=attributes_of(product),
        is_published=product.is_published,
        curated_rank=product.curated_rank,
        price_from_minor=product.price_from_minor,
        currency=product.currency,
        units_sold=product.units_sold,
        variants=[VariantAdminRead.model_validate(v) for v in product.variants],
        images=[ImageRead.model_validate(i) for i in product.images],
        created_at=product.created_at,
        updated_at=product.updated_at,
    )


async def list_products(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[Product], str | None]:
    return await paginate_by_creation(
        session, select(Product), created_at=Product.created_at, id_=Product.id,
        limit=limit, cursor=cursor,
    )  # fmt: skip


def _check_currency(data: VariantCreate, currency: str) -> None:
    """The store sells in one currency: a price in another would later be summed with
    the rest of a cart as if it were the same money."""
    if data.currency is not None and data.currency != currency:
        raise CurrencyNotAccepted(f"The store sells in {currency}.", currency=currency)


async def create_product(
    session: AsyncSession, actor: Account | None, data: ProductCreate, *, currency: str
) -> Product:
    for variant in data.variants:
        _check_currency(variant, currency)
    if await session.scalar(select(Product.id).where(Product.slug == data.slug)):
        raise SlugTaken()
    category = await get_category_by_slug(session, data.category_slug)
    product = Product(
        slug=data.slug,
        name=data.name,
        description=data.description,
        category_id=category.id,
        metal=data.metal,
        curated_rank=data.curated_rank,
        is_published=False,
        currency=currency,
    )
    _apply_attributes(product, data.attributes)
    session.add(product)
    await _flush_unique(session, SlugTaken())
    skus = [v.sku for v in data.variants]
    if len(set(skus)) != len(skus):
        raise SkuTaken("The same SKU appears twice in the request.")
    for variant in data.variants:
        await add_variant(session, actor, product, variant, currency=currency, refresh_price=False)
    await repository.refresh_price_from(session, product.id)
    return product


async def update_product(session: AsyncSession, product: Product, data: ProductUpdate) -> Product:
    changes = data.model_dump(exclude_unset=True, exclude={"attributes", "category_slug"})
    for name, value in changes.items():
        if value is not None or name == "curated_rank":
            setattr(product, name, value)
    if data.category_slug:
        product.category_id = (await get_category_by_slug(session, data.category_slug)).id
    if data.attributes is not None:
        _apply_attributes(product, data.attributes)
    await session.flush()
    return product


async def set_published(session: AsyncSession, product: Product, published: bool) -> Product:
    if published:
        has_active = await session.scalar(
            select(func.count())
            .select_from(Variant)
            .where(Variant.product_id == product.id, Variant.is_active)
        )
        if not has_active:
            raise NotPublishable()
        product.published_at = product.published_at or utcnow()
    product.is_published = published
    await session.flush()
    return product


async def delete_product(session: AsyncSession, product: Product) -> None:
    if product.units_sold > 0:
        raise ProductOrdered("Unpublish it instead.")
    await session.delete(product)
    await session.flush()


# ---- variants and stock ----


async def get_variant(session: AsyncSession, variant_id: uuid.UUID) -> Variant:
    variant = await session.get(Variant, variant_id)
    if variant is None:
        raise VariantNotFound()
    return variant


async def add_variant(
    session: AsyncSession,
    actor: Account | None,
    product: Product,
    data: VariantCreate,
    *,
    currency: str,
    refresh_price: bool = True,
) -> Variant:
    _check_currency(data, currency)
    if await session.scalar(select(Variant.id).where(Variant.sku == data.sku)):
        raise SkuTaken()
    variant = Variant(product_id=product.id, **data.model_dump(exclude={"currency"}))
    variant.currency = currency
    session.add(variant)
    await _flush_unique(session, SkuTaken())
    if data.stock_on_hand:
        _record(session, variant, actor, delta=data.stock_on_hand, reason=MovementReason.initial)
    if refresh_price:
        await repository.refresh_price_from(session, product.id)
    return variant


async def update_variant(session: AsyncSession, variant: Variant, data: VariantUpdate) -> Variant:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name in {"ring_size", "chain_length_cm", "metal"}:
            setattr(variant, name, value)
    await session.flush()
    await repository.refresh_price_from(session, variant.product_id)
    return variant


def _record(
    session: AsyncSession,
    variant: Variant,
    actor: Account | None,
    *,
    delta: int,
    reason: MovementReason,
    note: str | None = None,
) -> InventoryMovement:
    movement = InventoryMovement(
        variant_id=variant.id,
        delta=delta,
        stock_after=variant.stock_on_hand,
        reason=reason,
        note=note,
        actor_account_id=actor.id if actor else None,
    )
    session.add(movement)
    return movement


async def set_stock(
    session: AsyncSession, actor: Account, variant_id: uuid.UUID, data: StockSet
) -> Variant:
    """Set a variant's stock count, recording the change in the ledger.

    The row is locked (PostgreSQL) or the write lock is held (SQLite, BEGIN IMMEDIATE),
    so a concurrent checkout cannot slip between the read and the write.
    """
    variant = await session.scalar(
        select(Variant)
        .where(Variant.id == variant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if variant is None:
        raise VariantNotFound()
    delta = data.stock_on_hand - variant.stock_on_hand
    variant.stock_on_hand = data.stock_on_hand
    await session.flush()
    _record(session, variant, actor, delta=delta, reason=data.reason, note=data.note)
    await session.flush()
    return variant


async def list_movements(session: AsyncSession, variant: Variant) -> list[InventoryMovement]:
    rows = await session.scalars(
        select(InventoryMovement)
        .where(InventoryMovement.variant_id == variant.id)
        .order_by(InventoryMovement.created_at.desc(), InventoryMovement.id)
        .limit(200)
    )
    return list(rows)


# ---- images ----


async def add_image(session: AsyncSession, product: Product, data: ImageCreate) -> ProductImage:
    image = ProductImage(product_id=product.id, **data.model_dump())
    session.add(image)
    await session.flush()
    return image


async def delete_image(session: AsyncSession, image_id: uuid.UUID) -> None:
    image = await session.get(ProductImage, image_id)
    if image is None:
        raise ImageNotFound()
    await session.delete(image)
    await session.flush()


# ---- pages ----


async def get_page(session: AsyncSession, slug: str) -> Page:
    page = await session.scalar(select(Page).where(Page.slug == slug))
    if page is None:
        raise PageNotFound()
    return page


async def create_page(session: AsyncSession, data: PageCreate) -> Page:
    if await session.scalar(select(Page.id).where(Page.slug == data.slug)):
        raise SlugTaken()
    page = Page(**data.model_dump())
    session.add(page)
    await _flush_unique(session, SlugTaken())
    return page


async def update_page(session: AsyncSession, page: Page, data: PageUpdate) -> Page:
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(page, name, value)
    await session.flush()
    return page


async def delete_page(session: AsyncSession, page: Page) -> None:
    await session.delete(page)
    await session.flush()
