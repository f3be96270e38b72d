from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from app.catalog.models import (
    DiamondClarity,
    DiamondColor,
    DiamondCut,
    GradingLab,
    Metal,
    MetalPurity,
    MovementReason,
    StoneType,
)
from app.core.schemas import Flag, InputModel, OutputModel, trimmed_text

Slug = Annotated[
    str, StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
ProductSlug = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
Title = trimmed_text(min_length=1, max_length=200)
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Sku = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9.-]*$")
]
RingSize = Annotated[str, StringConstraints(pattern=r"^(?:[3-9]|1[0-5])(?:\.(?:25|5|75))?$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Carat = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2, max_digits=5)]
Money = Annotated[int, Field(strict=True, ge=0, le=100_000_000_00)]
Position = Annotated[int, Field(strict=True, ge=0, le=10_000)]


class Availability(StrEnum):
    in_stock = "in_stock"
    low_stock = "low_stock"
    out_of_stock = "out_of_stock"


class ProductSort(StrEnum):
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"
    best_selling = "best_selling"


# ---- public reads ----


class Breadcrumb(OutputModel):
    slug: str
    name: str


class CategoryNode(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    product_count: int = Field(description="Published products here and in every subcategory.")
    children: list[CategoryNode]


class CategoryDetail(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    product_count: int
    breadcrumbs: list[Breadcrumb]
    children: list[CategoryNode]


class Attributes(OutputModel):
    stone_type: StoneType | None
    total_carat_weight: Decimal | None = Field(description="Carats, two decimal places.")
    cut: DiamondCut | None
    color: DiamondColor | None
    clarity: DiamondClarity | None
    metal_purity: MetalPurity | None
    grading_lab: GradingLab | None
    certificate_number: str | None


class ImageRead(OutputModel):
    id: uuid.UUID
    url: str
    alt_text: str
    position: int


class ProductSummary(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    category: str = Field(description="The category's slug.")
    metal: Metal
    attributes: Attributes
    price_from_minor: int | None
    currency: str
    image: ImageRead | None
    in_stock: bool


class VariantRead(OutputModel):
    id: uuid.UUID
    sku: str
    ring_size: str | None
    chain_length_cm: int | None
    metal: Metal | None
    price_minor: int
    currency: str
    availability: Availability


class ProductDetail(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category: str
    metal: Metal
    attributes: Attributes
    price_from_minor: int | None
    currency: str
    variants: list[VariantRead]
    images: list[ImageRead]
    breadcrumbs: list[Breadcrumb]


class ProductPage(OutputModel):
    items: list[ProductSummary]
    next_cursor: str | None


class PageSummary(OutputModel):
    slug: str
    title: str
    summary: str


class PageRead(OutputModel):
    slug: str
    title: str
    summary: str
    body: str
    updated_at: datetime


# ---- staff writes ----


class CategoryCreate(InputModel):
    slug: Slug
    name: Title
    description: LongText = ""
    parent_slug: Slug | None = None
    position: Position = 0
    is_published: Flag = True


class CategoryUpdate(InputModel):
    name: Title | None = None
    description: LongText | None = None
    parent_slug: Slug | None = None
    position: Position | None = None
    is_published: Flag | None = None


class CategoryAdminRead(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    parent_id: uuid.UUID | None
    position: int
    is_published: bool


class AttributesIn(InputModel):
    stone_type: StoneType | None = None
    total_carat_weight: Carat | None = None
    cut: DiamondCut | None = None
    color: DiamondColor | None = None
    clarity: DiamondClarity | None = None
    metal_purity: MetalPurity | None = None
    grading_lab: GradingLab | None = None
    certificate_number: (
        Annotated[str, StringConstraints(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
        | None
    ) = None


class VariantCreate(InputModel):
    sku: Sku
    ring_size: RingSize | None = None
    chain_length_cm: Annotated[int, Field(strict=True, ge=20, le=120)] | None = None
    metal: Metal | None = None
    price_minor: Money
    currency: Currency | None = Field(
        default=None, description="The store's currency (the default); no other is accepted."
    )
    stock_on_hand: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 0
    is_active: Flag = True
    position: Position = 0


class VariantUpdate(InputModel):
    ring_size: RingSize | None = None
    chain_length_cm: Annotated[int, Field(strict=True, ge=20, le=120)] | None = None
    metal: Metal | None = None
    price_minor: Money | None = None
    is_active: Flag | None = None
    position: Position | None = None


class ProductCreate(InputModel):
    slug: ProductSlug
    name: Title
    description: LongText = ""
    category_slug: Slug
    metal: Metal
    attributes: AttributesIn = Field(default_factory=AttributesIn)
    curated_rank: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None
    variants: list[VariantCreate] = Field(default_factory=list, max_length=100)


class ProductUpdate(InputModel):
    name: Title | None = None
    description: LongText | None = None
    category_slug: Slug | None = None
    metal: Metal | None = None
    attributes: AttributesIn | None = None
    curated_rank: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None


class VariantAdminRead(OutputModel):
    id: uuid.UUID
    sku: str
    ring_size: str | None
    chain_length_cm: int | None
    metal: Metal | None
    price_minor: int
    currency: str
    stock_on_hand: int
    is_active: bool
    position: int


class ProductAdminRead(OutputModel):
    id: uuid.UUID
    slug: str
    name: str
    description: str
    category: str
    metal: Metal
    attributes: Attributes
    is_published: bool
    curated_rank: int | None
    price_from_minor: int | None
    currency: str
    units_sold: int
    variants: list[VariantAdminRead]
    images: list[ImageRead]
    created_at: datetime
    updated_at: datetime


class StockSet(InputModel):
    stock_on_hand: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    reason: MovementReason
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class InventoryMovementRead(OutputModel):
    id: uuid.UUID
    delta: int
    stock_after: int
    reason: MovementReason
    note: str | None
    actor_account_id: uuid.UUID | None
    created_at: datetime


class ImageCreate(InputModel):
    url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https://[^\s]+$")]
    alt_text: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    position: Position = 0


class PageCreate(InputModel):
    slug: Slug
    title: Title
    summary: Annotated[str, StringConstraints(max_length=500)] = ""
    body: LongText
    is_published: Flag = False
    position: Position = 0


class PageUpdate(InputModel):
    title: Title | None = None
    summary: Annotated[str, StringConstraints(max_length=500)] | None = None
    body: LongText | None = None
    is_published: Flag | None = None
    position: Position | None = None


class PageAdminRead(OutputModel):
    id: uuid.UUID
    slug: str
    title: str
    summary: str
    body: str
    is_published: bool
    position: int
    created_at: datetime
    updated_at: datetime
