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
from app.core.schemas import Flag, InputModel, OutputModel, examples, trimmed_text

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


# ---- published examples (a 14k white gold halo engagement ring) ----

_PRODUCT_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_VARIANT_ID = "3e8a1f0c-5d2b-4a7e-9c61-0b2d4f6a8c90"
_BREADCRUMB = {"slug": "engagement-rings", "name": "Engagement Rings"}
_NODE = {
    "id": "2f1b7c3e-9a4d-4e8f-b0c1-d2e3f4a5b6c7",
    "slug": "engagement-rings",
    "name": "Engagement Rings",
    "product_count": 48,
    "children": [
        {
            "id": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
            "slug": "halo-engagement-rings",
            "name": "Halo",
            "product_count": 12,
            "children": [],
        }
    ],
}
_CATEGORY_DETAIL = {
    "id": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
    "slug": "halo-engagement-rings",
    "name": "Halo",
    "description": "A centre stone framed by a ring of smaller diamonds.",
    "product_count": 12,
    "breadcrumbs": [_BREADCRUMB, {"slug": "halo-engagement-rings", "name": "Halo"}],
    "children": [],
}
_ATTRIBUTES = {
    "stone_type": "diamond",
    "total_carat_weight": "1.25",
    "cut": "excellent",
    "color": "G",
    "clarity": "VS1",
    "metal_purity": "14k",
    "grading_lab": "GIA",
    "certificate_number": "2141438171",
}
_IMAGE = {
    "id": "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70",
    "url": "https://images.facet.example/halo-ring-14kw-front.jpg",
    "alt_text": "Halo engagement ring in 14k white gold, seen from the front",
    "position": 0,
}
_SUMMARY = {
    "id": _PRODUCT_ID,
    "slug": "halo-engagement-ring-14k-white-gold",
    "name": "Halo Engagement Ring, 14k White Gold",
    "category": "halo-engagement-rings",
    "metal": "white_gold",
    "attributes": _ATTRIBUTES,
    "price_from_minor": 189900,
    "currency": "USD",
    "image": _IMAGE,
    "in_stock": True,
}
_VARIANT = {
    "id": _VARIANT_ID,
    "sku": "ENG-HALO-14KW-065",
    "ring_size": "6.5",
    "chain_length_cm": None,
    "metal": None,
    "price_minor": 189900,
    "currency": "USD",
    "availability": "in_stock",
}
_DETAIL = {
    **{k: v for k, v in _SUMMARY.items() if k not in {"image", "in_stock"}},
    "description": "A 1.25 ct round brilliant diamond in a halo of pavé diamonds.",
    "variants": [_VARIANT],
    "images": [_IMAGE],
    "breadcrumbs": _CATEGORY_DETAIL["breadcrumbs"],
}
_PRODUCT_PAGE = {"items": [_SUMMARY], "next_cursor": "eyJwIjogMTg5OTAwfQ"}
_PAGE_SUMMARY = {
    "slug": "diamond-4cs",
    "title": "The 4Cs of a diamond",
    "summary": "How cut, colour, clarity and carat weight shape a diamond's look and price.",
}
_PAGE_READ = {
    **_PAGE_SUMMARY,
    "body": "## Cut\n\nCut decides how a diamond returns light...",
    "updated_at": "2026-10-14T08:00:00Z",
}
_CATEGORY_CREATE = {
    "slug": "halo-engagement-rings",
    "name": "Halo",
    "description": "A centre stone framed by a ring of smaller diamonds.",
    "parent_slug": "engagement-rings",
    "position": 2,
    "is_published": True,
}
_CATEGORY_UPDATE = {"name": "Halo Engagement Rings", "position": 1}
_CATEGORY_ADMIN = {
    "id": "4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d",
    "slug": "halo-engagement-rings",
    "name": "Halo",
    "description": "A centre stone framed by a ring of smaller diamonds.",
    "parent_id": "2f1b7c3e-9a4d-4e8f-b0c1-d2e3f4a5b6c7",
    "position": 2,
    "is_published": True,
}
_VARIANT_CREATE = {
    "sku": "ENG-HALO-14KW-070",
    "ring_size": "7",
    "price_minor": 189900,
    "stock_on_hand": 3,
    "is_active": True,
    "position": 1,
}
_VARIANT_UPDATE = {"price_minor": 179900}
_PRODUCT_CREATE = {
    "slug": "halo-engagement-ring-14k-white-gold",
    "name": "Halo Engagement Ring, 14k White Gold",
    "description": "A 1.25 ct round brilliant diamond in a halo of pavé diamonds.",
    "category_slug": "halo-engagement-rings",
    "metal": "white_gold",
    "attributes": _ATTRIBUTES,
    "variants": [_VARIANT_CREATE],
}
_PRODUCT_UPDATE = {"name": "Classic Halo Engagement Ring, 14k White Gold", "curated_rank": 3}
_VARIANT_ADMIN = {
    **{k: v for k, v in _VARIANT.items() if k != "availability"},
    "stock_on_hand": 3,
    "is_active": True,
    "position": 0,
}
_PRODUCT_ADMIN = {
    **{k: v for k, v in _DETAIL.items() if k != "breadcrumbs"},
    "is_published": True,
    "curated_rank": 3,
    "units_sold": 17,
    "variants": [_VARIANT_ADMIN],
    "created_at": "2026-09-01T10:00:00Z",
    "updated_at": "2026-11-20T16:42:09Z",
}
_STOCK_SET = {"stock_on_hand": 5, "reason": "restock", "note": "Delivery from the workshop"}
_MOVEMENT = {
    "id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b",
    "delta": 2,
    "stock_after": 5,
    "reason": "restock",
    "note": "Delivery from the workshop",
    "actor_account_id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d",
    "created_at": "2026-11-21T09:15:00Z",
}
_IMAGE_CREATE = {k: v for k, v in _IMAGE.items() if k != "id"}
_PAGE_CREATE = {**_PAGE_SUMMARY, "body": _PAGE_READ["body"], "is_published": False, "position": 1}
_PAGE_UPDATE = {"is_published": True}
_PAGE_ADMIN = {
    "id": "f0e1d2c3-b4a5-4968-8776-655443322110",
    **_PAGE_SUMMARY,
    "body": _PAGE_READ["body"],
    "is_published": True,
    "position": 1,
    "created_at": "2026-10-01T08:00:00Z",
    "updated_at": "2026-10-14T08:00:00Z",
}


class Availability(StrEnum):
    """How much of a variant is left to buy.

    - `in_stock`: more than 2 pieces available.
    - `low_stock`: only 1 or 2 pieces left.
    - `out_of_stock`: none left; the variant cannot be added to a cart.
    """

    in_stock = "in_stock"
    low_stock = "low_stock"
    out_of_stock = "out_of_stock"


class ProductSort(StrEnum):
    """The order of a product list.

    - `newest`: most recently added first.
    - `price_asc`: lowest starting price (`price_from_minor`) first.
    - `price_desc`: highest starting price first.
    - `name`: alphabetical by name.
    - `best_selling`: most pieces sold first.
    """

    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"
    name = "name"
    best_selling = "best_selling"


# ---- public reads ----


class Breadcrumb(OutputModel):
    """One step of the path from the top of the category tree down to a page."""

    model_config = examples(_BREADCRUMB)

    slug: str
    """The category's slug, for `GET /v1/categories/{slug}`."""
    name: str
    """The category's display name."""


class CategoryNode(OutputModel):
    """A category in the tree of `GET /v1/categories`, with its subcategories."""

    model_config = examples(_NODE)

    id: uuid.UUID
    """The category's id."""
    slug: str
    """The category's slug, its stable name in URLs and filters (`category=`)."""
    name: str
    """The category's display name."""
    product_count: int = Field(description="Published products here and in every subcategory.")
    children: list[CategoryNode]
    """Published subcategories, in display order (the same shape, nested)."""


class CategoryDetail(OutputModel):
    """One category page: its text, where it sits in the tree, and its subcategories."""

    model_config = examples(_CATEGORY_DETAIL)

    id: uuid.UUID
    """The category's id."""
    slug: str
    """The category's slug."""
    name: str
    """The category's display name."""
    description: str
    """The category's introduction text (Markdown); may be empty."""
    product_count: int
    """Published products here and in every subcategory."""
    breadcrumbs: list[Breadcrumb]
    """The path from the top category down to this one, this one last."""
    children: list[CategoryNode]
    """Published subcategories, in display order."""


class Attributes(OutputModel):
    """What a piece is made of: the 4Cs of its main stone and its metal's purity. Null where an
    attribute does not apply (e.g. no stone)."""

    model_config = examples(_ATTRIBUTES)

    stone_type: StoneType | None
    """The main stone, or `none` for a plain metal piece."""
    total_carat_weight: Decimal | None = Field(description="Carats, two decimal places.")
    cut: DiamondCut | None
    """The diamond's cut grade."""
    color: DiamondColor | None
    """The diamond's GIA colour grade, a letter from `D` (colourless) to `Z`."""
    clarity: DiamondClarity | None
    """The diamond's GIA clarity grade."""
    metal_purity: MetalPurity | None
    """The metal's fineness (`14k` gold, `925` silver...)."""
    grading_lab: GradingLab | None
    """The laboratory that graded the stone and issued its certificate."""
    certificate_number: str | None
    """The grading certificate's number, to look up on the lab's site."""


class ImageRead(OutputModel):
    """A product photo."""

    model_config = examples(_IMAGE)

    id: uuid.UUID
    """The image's id."""
    url: str
    """An HTTPS URL of the picture."""
    alt_text: str
    """A text description of the picture, for screen readers."""
    position: int
    """Display order; the lowest comes first and is the product's main picture."""


class ProductSummary(OutputModel):
    """A product as listed in search results and the top sellers: enough for a product card."""

    model_config = examples(_SUMMARY)

    id: uuid.UUID
    """The product's id."""
    slug: str
    """The product's slug, for `GET /v1/products/{slug}`."""
    name: str
    """The product's display name."""
    category: str = Field(description="The category's slug.")
    metal: Metal
    """The product's main metal."""
    attributes: Attributes
    """The stone and metal details."""
    price_from_minor: int | None
    """The lowest price of its active variants, in minor units; null when it has none."""
    currency: str
    """ISO 4217 currency code of the prices."""
    image: ImageRead | None
    """The main picture, or null when the product has none."""
    in_stock: bool
    """Whether at least one variant can be bought now."""


class VariantRead(OutputModel):
    """One buyable version of a product (a ring size, a chain length, a metal), with its price and
    availability."""

    model_config = examples(_VARIANT)

    id: uuid.UUID
    """The variant's id; send it as `variant_id` to add it to a cart."""
    sku: str
    """The stock-keeping unit code."""
    ring_size: str | None
    """US ring size (`3` to `15` in quarter sizes), or null when not a ring."""
    chain_length_cm: int | None
    """Chain length in centimetres, or null when the piece has no chain."""
    metal: Metal | None
    """This variant's metal when the product comes in several; null means the product's `metal`."""
    price_minor: int
    """The price of one piece, in minor units (cents for USD)."""
    currency: str
    """ISO 4217 currency code of the price."""
    availability: Availability
    """How much is left; exact stock counts are not published."""


class ProductDetail(OutputModel):
    """A product page: description, variants to choose from, photos and where it sits in the
    catalog."""

    model_config = examples(_DETAIL)

    id: uuid.UUID
    """The product's id."""
    slug: str
    """The product's slug."""
    name: str
    """The product's display name."""
    description: str
    """The product's description (Markdown)."""
    category: str
    """The slug of the product's category."""
    metal: Metal
    """The product's main metal."""
    attributes: Attributes
    """The stone and metal details."""
    price_from_minor: int | None
    """The lowest price of its active variants, in minor units; null when it has none."""
    currency: str
    """ISO 4217 currency code of the prices."""
    variants: list[VariantRead]
    """The active variants, in display order."""
    images: list[ImageRead]
    """The photos, in display order."""
    breadcrumbs: list[Breadcrumb]
    """The category path down to the product's category."""


class ProductPage(OutputModel):
    """One page of a product search (`GET /v1/products`)."""

    model_config = examples(_PRODUCT_PAGE)

    items: list[ProductSummary]
    """The matching products of this page, at most `limit`."""
    next_cursor: str | None
    """Pass as `cursor` to get the next page; null on the last page."""


class PageSummary(OutputModel):
    """A guide or help page as listed in `GET /v1/pages`."""

    model_config = examples(_PAGE_SUMMARY)

    slug: str
    """The page's slug, for `GET /v1/pages/{slug}`."""
    title: str
    """The page's title."""
    summary: str
    """One or two sentences saying what the page covers."""


class PageRead(OutputModel):
    """A guide or help page (diamond 4Cs, FAQ, shipping, about) with its full text."""

    model_config = examples(_PAGE_READ)

    slug: str
    """The page's slug."""
    title: str
    """The page's title."""
    summary: str
    """One or two sentences saying what the page covers."""
    body: str
    """The page's text, in Markdown."""
    updated_at: datetime
    """When the page last changed (UTC)."""


# ---- staff writes ----


class CategoryCreate(InputModel):
    """A new category (staff)."""

    model_config = examples(_CATEGORY_CREATE)

    slug: Slug
    """The URL name: lowercase letters, digits and single dashes, 1-80 characters; unique."""
    name: Title
    """The display name; 1-200 characters."""
    description: LongText = ""
    """Introduction text (Markdown), at most 20,000 characters."""
    parent_slug: Slug | None = None
    """The parent category's slug; omit for a top-level category."""
    position: Position = 0
    """Display order among its siblings, 0-10,000; lowest first."""
    is_published: Flag = True
    """Whether shoppers see it."""


class CategoryUpdate(InputModel):
    """Changes to a category (staff); only the fields sent change."""

    model_config = examples(_CATEGORY_UPDATE)

    name: Title | None = None
    """A new display name; 1-200 characters."""
    description: LongText | None = None
    """New introduction text (Markdown), at most 20,000 characters."""
    parent_slug: Slug | None = None
    """Move it under this category (a category cannot move under itself or its descendants)."""
    position: Position | None = None
    """New display order among its siblings, 0-10,000."""
    is_published: Flag | None = None
    """Publish or hide it."""


class CategoryAdminRead(OutputModel):
    """A category as staff see it, published or not."""

    model_config = examples(_CATEGORY_ADMIN)

    id: uuid.UUID
    """The category's id."""
    slug: str
    """The category's slug."""
    name: str
    """The display name."""
    description: str
    """The introduction text (Markdown)."""
    parent_id: uuid.UUID | None
    """The parent category's id, or null at the top level."""
    position: int
    """Display order among its siblings."""
    is_published: bool
    """Whether shoppers see it."""


class AttributesIn(InputModel):
    """A product's stone and metal details (staff). Leave out what does not apply."""

    model_config = examples(_ATTRIBUTES)

    stone_type: StoneType | None = None
    """The main stone, or `none`."""
    total_carat_weight: Carat | None = None
    """Total carat weight of the stones, e.g. `1.25`: above 0, at most 100, two decimal places."""
    cut: DiamondCut | None = None
    """The diamond's cut grade."""
    color: DiamondColor | None = None
    """The diamond's GIA colour grade, `D` (colourless) to `Z`."""
    clarity: DiamondClarity | None = None
    """The diamond's GIA clarity grade."""
    metal_purity: MetalPurity | None = None
    """The metal's fineness."""
    grading_lab: GradingLab | None = None
    """The laboratory that graded the stone."""
    certificate_number: (
        Annotated[str, StringConstraints(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
        | None
    ) = None
    """The grading certificate's number: 3-40 letters, digits or dashes."""


class VariantCreate(InputModel):
    """A new variant of a product (staff): its option, price and initial stock."""

    model_config = examples(_VARIANT_CREATE)

    sku: Sku
    """A unique stock-keeping unit code: uppercase letters, digits, dots and dashes, 1-64
    characters."""
    ring_size: RingSize | None = None
    """US ring size, `3` to `15` in quarter sizes (`6.5`, `7.25`)."""
    chain_length_cm: Annotated[int, Field(strict=True, ge=20, le=120)] | None = None
    """Chain length in centimetres, 20-120."""
    metal: Metal | None = None
    """This variant's metal when the product comes in several; omit to use the product's."""
    price_minor: Money
    """The price of one piece in minor units (cents), 0 to 10,000,000,000."""
    currency: Currency | None = Field(
        default=None, description="The store's currency (the default); no other is accepted."
    )
    stock_on_hand: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 0
    """Pieces in stock at the start, 0-1,000,000 (recorded as an `initial` inventory movement)."""
    is_active: Flag = True
    """Whether the variant can be bought."""
    position: Position = 0
    """Display order among the product's variants; lowest first."""


class VariantUpdate(InputModel):
    """Changes to a variant (staff); only the fields sent change. Stock is set through its own
    operation."""

    model_config = examples(_VARIANT_UPDATE)

    ring_size: RingSize | None = None
    """A new US ring size, `3` to `15` in quarter sizes."""
    chain_length_cm: Annotated[int, Field(strict=True, ge=20, le=120)] | None = None
    """A new chain length in centimetres, 20-120."""
    metal: Metal | None = None
    """A new metal for this variant."""
    price_minor: Money | None = None
    """A new price in minor units; carts see it on their next read, orders keep the price paid."""
    is_active: Flag | None = None
    """Enable or disable buying this variant."""
    position: Position | None = None
    """A new display order."""


class ProductCreate(InputModel):
    """A new product (staff), created unpublished, optionally with its variants."""

    model_config = examples(_PRODUCT_CREATE)

    slug: ProductSlug
    """The URL name: lowercase letters, digits and single dashes, 1-120 characters; unique."""
    name: Title
    """The display name; 1-200 characters."""
    description: LongText = ""
    """The description (Markdown), at most 20,000 characters."""
    category_slug: Slug
    """The slug of the category it belongs to."""
    metal: Metal
    """The product's main metal."""
    attributes: AttributesIn = Field(default_factory=AttributesIn)
    """The stone and metal details."""
    curated_rank: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None
    """Position in the staff-curated ranking that fills `GET /v1/products/top` after the real top
    sellers (1 first); omit to leave it out."""
    variants: list[VariantCreate] = Field(default_factory=list, max_length=100)
    """Its variants, at most 100; more can be added later."""


class ProductUpdate(InputModel):
    """Changes to a product (staff); only the fields sent change."""

    model_config = examples(_PRODUCT_UPDATE)

    name: Title | None = None
    """A new display name; 1-200 characters."""
    description: LongText | None = None
    """A new description (Markdown), at most 20,000 characters."""
    category_slug: Slug | None = None
    """Move it to this category."""
    metal: Metal | None = None
    """A new main metal."""
    attributes: AttributesIn | None = None
    """New stone and metal details; replaces all of them."""
    curated_rank: Annotated[int, Field(strict=True, ge=1, le=10_000)] | None = None
    """A new curated rank (1 first)."""


class VariantAdminRead(OutputModel):
    """A variant as staff see it, with its exact stock count."""

    model_config = examples(_VARIANT_ADMIN)

    id: uuid.UUID
    """The variant's id."""
    sku: str
    """The stock-keeping unit code."""
    ring_size: str | None
    """US ring size, or null."""
    chain_length_cm: int | None
    """Chain length in centimetres, or null."""
    metal: Metal | None
    """This variant's metal, or null for the product's."""
    price_minor: int
    """The price of one piece, in minor units."""
    currency: str
    """ISO 4217 currency code of the price."""
    stock_on_hand: int
    """Pieces in stock and not held by unpaid orders."""
    is_active: bool
    """Whether it can be bought."""
    position: int
    """Display order among the product's variants."""


class ProductAdminRead(OutputModel):
    """A product as staff see it, published or not, with exact stock and sales."""

    model_config = examples(_PRODUCT_ADMIN)

    id: uuid.UUID
    """The product's id."""
    slug: str
    """The product's slug."""
    name: str
    """The display name."""
    description: str
    """The description (Markdown)."""
    category: str
    """The slug of its category."""
    metal: Metal
    """The main metal."""
    attributes: Attributes
    """The stone and metal details."""
    is_published: bool
    """Whether shoppers see it."""
    curated_rank: int | None
    """Its place in the curated ranking, or null."""
    price_from_minor: int | None
    """The lowest price of its active variants, in minor units; null when it has none."""
    currency: str
    """ISO 4217 currency code of the prices."""
    units_sold: int
    """Pieces sold over all time; drives `best_selling`."""
    variants: list[VariantAdminRead]
    """Every variant, active or not."""
    images: list[ImageRead]
    """The photos, in display order."""
    created_at: datetime
    """When it was created (UTC)."""
    updated_at: datetime
    """When it last changed (UTC)."""


class StockSet(InputModel):
    """A variant's new stock count (staff), recorded in the inventory ledger with a reason."""

    model_config = examples(_STOCK_SET)

    stock_on_hand: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
    """The number of pieces now on the shelf, 0-1,000,000."""
    reason: MovementReason
    """Why the count changes."""
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
    """A short staff note, at most 500 characters; personal data, exported and erased with its
    author's data."""


class InventoryMovementRead(OutputModel):
    """One entry of a variant's inventory ledger: a change of stock, why, and by whom."""

    model_config = examples(_MOVEMENT)

    id: uuid.UUID
    """The entry's id."""
    delta: int
    """The change in pieces: positive adds stock, negative removes it."""
    stock_after: int
    """The stock on hand after the change."""
    reason: MovementReason
    """Why the stock changed."""
    note: str | None
    """The staff note or the order it came from, or null."""
    actor_account_id: uuid.UUID | None
    """The staff account that made the change, or null for the store itself (orders, expiry)."""
    created_at: datetime
    """When the change happened (UTC)."""


class ImageCreate(InputModel):
    """A photo to attach to a product (staff), hosted elsewhere over HTTPS."""

    model_config = examples(_IMAGE_CREATE)

    url: Annotated[str, StringConstraints(max_length=500, pattern=r"^https://[^\s]+$")]
    """An `https://` URL of the picture, at most 500 characters."""
    alt_text: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    """A description of the picture for screen readers, 1-300 characters."""
    position: Position = 0
    """Display order, 0-10,000; the lowest is the main picture."""


class PageCreate(InputModel):
    """A new guide or help page (staff), unpublished unless `is_published`."""

    model_config = examples(_PAGE_CREATE)

    slug: Slug
    """The URL name: lowercase letters, digits and single dashes, 1-80 characters; unique."""
    title: Title
    """The title; 1-200 characters."""
    summary: Annotated[str, StringConstraints(max_length=500)] = ""
    """One or two sentences for the page list, at most 500 characters."""
    body: LongText
    """The text, in Markdown, at most 20,000 characters."""
    is_published: Flag = False
    """Whether shoppers see it."""
    position: Position = 0
    """Order in the page list, 0-10,000; lowest first."""


class PageUpdate(InputModel):
    """Changes to a guide or help page (staff); only the fields sent change."""

    model_config = examples(_PAGE_UPDATE)

    title: Title | None = None
    """A new title; 1-200 characters."""
    summary: Annotated[str, StringConstraints(max_length=500)] | None = None
    """A new summary, at most 500 characters."""
    body: LongText | None = None
    """New text, in Markdown, at most 20,000 characters."""
    is_published: Flag | None = None
    """Publish or hide it."""
    position: Position | None = None
    """A new order in the page list."""


class PageAdminRead(OutputModel):
    """A guide or help page as staff see it, published or not."""

    model_config = examples(_PAGE_ADMIN)

    id: uuid.UUID
    """The page's id."""
    slug: str
    """The page's slug."""
    title: str
    """The title."""
    summary: str
    """The summary shown in the page list."""
    body: str
    """The text, in Markdown."""
    is_published: bool
    """Whether shoppers see it."""
    position: int
    """Order in the page list."""
    created_at: datetime
    """When it was created (UTC)."""
    updated_at: datetime
    """When it last changed (UTC)."""
