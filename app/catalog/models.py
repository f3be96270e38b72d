"""The jewelry catalog: a category tree, products with typed jewelry attributes,
variants (the sellable SKUs) with stock, an inventory ledger, images and content pages."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, IdMixin, TimestampMixin, str_enum, utcnow

# Catalog text is the store's own; the one free-text field staff write about people
# (a stock movement's note) is personal and covered by app/catalog/privacy.py.
PII = {"pii": True}
NOT_PII = {"pii": False}


class Metal(StrEnum):
    """The metal a piece is made of.

    - `yellow_gold`: yellow gold (the filter also takes the former value `gold`).
    - `white_gold`: white gold (gold alloyed white, usually rhodium-plated).
    - `rose_gold`: rose (pink) gold.
    - `platinum`: platinum.
    - `silver`: sterling silver.
    - `tungsten`: tungsten carbide (men's bands).
    - `titanium`: titanium (men's bands).
    """

    # Yellow gold is named as such so it cannot be read as "any gold" (white and rose are
    # gold too); the product filter still takes the former value `gold` for it.
    yellow_gold = "yellow_gold"
    white_gold = "white_gold"
    rose_gold = "rose_gold"
    platinum = "platinum"
    silver = "silver"
    tungsten = "tungsten"
    titanium = "titanium"


class MetalPurity(StrEnum):
    """The fineness of the metal.

    - `10k`: 10 karat gold (41.7% gold).
    - `14k`: 14 karat gold (58.5% gold).
    - `18k`: 18 karat gold (75% gold).
    - `925`: sterling silver (92.5% silver).
    - `950`: platinum 950 (95% platinum).
    """

    k10 = "10k"
    k14 = "14k"
    k18 = "18k"
    sterling_925 = "925"
    platinum_950 = "950"


class StoneType(StrEnum):
    """The main stone of a piece.

    - `diamond`: natural diamond.
    - `lab_diamond`: laboratory-grown diamond.
    - `sapphire`, `ruby`, `emerald`, `pearl`, `amethyst`, `aquamarine`, `topaz`: that
      gemstone.
    - `moissanite`: moissanite, a diamond alternative.
    - `none`: no stone (a plain metal band).
    """

    diamond = "diamond"
    lab_diamond = "lab_diamond"
    sapphire = "sapphire"
    ruby = "ruby"
    emerald = "emerald"
    pearl = "pearl"
    moissanite = "moissanite"
    amethyst = "amethyst"
    aquamarine = "aquamarine"
    topaz = "topaz"
    none = "none"


class DiamondCut(StrEnum):
    """A diamond's cut grade (how well it returns light), best first.

    - `ideal`: the top grade (AGS Ideal, the best of GIA Excellent).
    - `excellent`: GIA Excellent.
    - `very_good`: Very Good.
    - `good`: Good.
    - `fair`: Fair.
    - `poor`: Poor.
    """

    ideal = "ideal"
    excellent = "excellent"
    very_good = "very_good"
    good = "good"
    fair = "fair"
    poor = "poor"


# GIA colour grades, D (colourless) to Z.
DIAMOND_COLORS = tuple("DEFGHIJKLMNOPQRSTUVWXYZ")


class DiamondColor(StrEnum):
    """A diamond's GIA colour grade, from colourless to light yellow.

    - `D`, `E`, `F`: colourless.
    - `G`, `H`, `I`, `J`: near colourless.
    - `K`, `L`, `M`: faint yellow.
    - `N`, `O`, `P`, `Q`, `R`: very light yellow.
    - `S`, `T`, `U`, `V`, `W`, `X`, `Y`, `Z`: light yellow.
    """

    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - the grade's name
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"
    O = "O"  # noqa: E741 - the grade's name
    P = "P"
    Q = "Q"
    R = "R"
    S = "S"
    T = "T"
    U = "U"
    V = "V"
    W = "W"
    X = "X"
    Y = "Y"
    Z = "Z"


class DiamondClarity(StrEnum):
    """A diamond's GIA clarity grade, best first.

    - `FL`: flawless.
    - `IF`: internally flawless.
    - `VVS1`, `VVS2`: very, very slightly included.
    - `VS1`, `VS2`: very slightly included.
    - `SI1`, `SI2`: slightly included.
    - `I1`, `I2`, `I3`: included (inclusions visible to the eye).
    """

    FL = "FL"
    IF = "IF"
    VVS1 = "VVS1"
    VVS2 = "VVS2"
    VS1 = "VS1"
    VS2 = "VS2"
    SI1 = "SI1"
    SI2 = "SI2"
    I1 = "I1"
    I2 = "I2"
    I3 = "I3"


class GradingLab(StrEnum):
    """The laboratory that graded a stone and issued its certificate.

    - `GIA`: Gemological Institute of America.
    - `IGI`: International Gemological Institute.
    - `AGS`: American Gem Society.
    - `HRD`: HRD Antwerp.
    - `GCAL`: Gem Certification & Assurance Lab.
    """

    GIA = "GIA"
    IGI = "IGI"
    AGS = "AGS"
    HRD = "HRD"
    GCAL = "GCAL"


class Category(IdMixin, TimestampMixin, Base):
    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(80), unique=True, info=NOT_PII)
    name: Mapped[str] = mapped_column(String(120), info=NOT_PII)
    description: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    is_published: Mapped[bool] = mapped_column(default=True)


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("carat_points IS NULL OR carat_points > 0", name="carat_positive"),
        Index("ix_products_published_created", "is_published", "created_at", "id"),
        Index("ix_products_published_price", "is_published", "price_from_minor", "id"),
        Index("ix_products_published_name", "is_published", "name", "id"),
        Index("ix_products_published_sold", "is_published", "units_sold", "id"),
    )

    slug: Mapped[str] = mapped_column(String(120), unique=True, info=NOT_PII)
    name: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    description: Mapped[str] = mapped_column(Text, default="", info=NOT_PII)
    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    metal: Mapped[Metal] = mapped_column(str_enum(Metal), index=True, info=NOT_PII)
    metal_purity: Mapped[MetalPurity | None] = mapped_column(str_enum(MetalPurity, 8), info=NOT_PII)
    stone_type: Mapped[StoneType | None] = mapped_column(
        str_enum(StoneType), index=True, info=NOT_PII
    )
    # Hundredths of a carat (150 = 1.50 ct): exact, no floats.
    carat_points: Mapped[int | None] = mapped_column(index=True)
    cut: Mapped[DiamondCut | None] = mapped_column(str_enum(DiamondCut), index=True, info=NOT_PII)
    color: Mapped[str | None] = mapped_column(String(1), index=True, info=NOT_PII)
    clarity: Mapped[DiamondClarity | None] = mapped_column(
        str_enum(DiamondClarity, 8), index=True, info=NOT_PII
    )
    grading_lab: Mapped[GradingLab | None] = mapped_column(str_enum(GradingLab, 8), info=NOT_PII)
    certificate_number: Mapped[str | None] = mapped_column(String(40), info=NOT_PII)
    is_published: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime | None]
    curated_rank: Mapped[int | None]
    # Denormalised for sorting and filtering: the lowest active variant price, and
    # units sold in paid orders (maintained by the order domain).
    price_from_minor: Mapped[int | None] = mapped_column(BigInteger, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD", info=NOT_PII)
    units_sold: Mapped[int] = mapped_column(default=0)

    # The database cascades deletes (ON DELETE CASCADE); the ORM need not load children.
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product",
        lazy="raise",
        order_by="Variant.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    images: Mapped[list[ProductImage]] = relationship(
        lazy="raise",
        order_by="ProductImage.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Variant(IdMixin, TimestampMixin, Base):
    __tablename__ = "variants"
    __table_args__ = (
        CheckConstraint("stock_on_hand >= 0", name="stock_not_negative"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64), unique=True, info=NOT_PII)
    ring_size: Mapped[str | None] = mapped_column(String(8), info=NOT_PII)
    chain_length_cm: Mapped[int | None]
    metal: Mapped[Metal | None] = mapped_column(str_enum(Metal), info=NOT_PII)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD", info=NOT_PII)
    stock_on_hand: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    product: Mapped[Product] = relationship(back_populates="variants", lazy="raise")


class MovementReason(StrEnum):
    """Why a variant's stock changed (its inventory ledger).

    - `initial`: the stock given when the variant was created.
    - `restock`: new pieces arrived.
    - `correction`: a count corrected after a stock-take.
    - `damaged`: pieces removed as damaged.
    - `returned`: pieces a customer sent back, put back on the shelf.
    - `sale`: pieces held by an order at checkout.
    - `release`: pieces put back when an unpaid or cancelled order let them go.
    """

    initial = "initial"
    restock = "restock"
    correction = "correction"
    damaged = "damaged"
    returned = "returned"
    sale = "sale"
    release = "release"


class InventoryMovement(IdMixin, Base):
    """Every change of a variant's stock: who, why, by how much, and the count after."""

    __tablename__ = "inventory_movements"

    variant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), index=True
    )
    delta: Mapped[int]
    stock_after: Mapped[int]
    reason: Mapped[MovementReason] = mapped_column(str_enum(MovementReason), info=NOT_PII)
    note: Mapped[str | None] = mapped_column(String(500), info=PII)
    actor_account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductImage(IdMixin, Base):
    __tablename__ = "product_images"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(500), info=NOT_PII)
    alt_text: Mapped[str] = mapped_column(String(300), info=NOT_PII)
    position: Mapped[int] = mapped_column(default=0)


class Page(IdMixin, TimestampMixin, Base):
    """A guide or help page (diamond 4Cs, FAQ, shipping, about)."""

    __tablename__ = "pages"

    slug: Mapped[str] = mapped_column(String(80), unique=True, info=NOT_PII)
    title: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    summary: Mapped[str] = mapped_column(String(500), default="", info=NOT_PII)
    body: Mapped[str] = mapped_column(Text, info=NOT_PII)
    is_published: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class CatalogVersion(Base):
    """A counter that advances with every change a public catalog answer can show (staff
    writes, availability changes). Cached answers are keyed by it, so every process and
    replica sees a change on its next read."""

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
