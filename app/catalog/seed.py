"""The sample jewelry catalog: deterministic, believable, and bulk-loaded.

Everything comes from one `random.Random(seed)` (ids from a second one), so two seeds of
two empty databases hold the same catalog. Rows are built as plain dicts, ids included, a
thousand products at a time, and inserted in bulk: Core executemany
(`session.execute(insert(table), rows)`), or COPY on PostgreSQL, where executemany alone
took 65-70 s for 100,000 products on a 2-core machine and COPY takes 35-45 s.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import (
    Category,
    DiamondClarity,
    DiamondCut,
    GradingLab,
    InventoryMovement,
    Metal,
    MetalPurity,
    MovementReason,
    Page,
    Product,
    ProductImage,
    StoneType,
    Variant,
)
from app.core.db import Base

RANDOM_SEED = 1_851  # any fixed number; changing it changes every generated product
DEFAULT_PRODUCTS = 300
BATCH_PRODUCTS = 1_000  # per executemany round: ~1k products, ~5k variants, ~5k movements
IMAGE_HOST = "https://images.facet.example"
CURATED_PER_CATEGORY = 10

T = TypeVar("T")


# ---- the category tree ----


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    description: str
    weight: int = 0  # share of the generated products (leaves only)
    sku_prefix: str = ""
    children: tuple[CategorySpec, ...] = ()


CATEGORY_TREE: tuple[CategorySpec, ...] = (
    CategorySpec(
        "engagement-rings", "Engagement Rings",
        "Diamond and gemstone engagement rings in gold and platinum, from classic solitaires "
        "to halos and three-stone designs.",
        children=(
            CategorySpec("solitaire", "Solitaire", "One center stone, nothing to distract "
                         "from it.", 10, "ERS"),
            CategorySpec("side-stone", "Side-Stone", "A center stone with diamonds set "
                         "along the shank.", 7, "ERD"),
            CategorySpec("halo", "Halo", "A center stone framed by a ring of smaller "
                         "diamonds for extra sparkle.", 8, "ERH"),
            CategorySpec("three-stone", "Three-Stone", "Past, present and future: a center "
                         "stone between two side stones.", 5, "ERT"),
        ),
    ),
    CategorySpec("wedding-sets", "Wedding Sets", "An engagement ring and its matching "
                 "wedding band, designed to sit flush together.", 6, "WS"),
    CategorySpec(
        "wedding-bands", "Wedding & Anniversary Bands",
        "Wedding and anniversary bands: plain gold, diamond, eternity and gemstone.",
        children=(
            CategorySpec("diamond-bands", "Diamond Bands", "Wedding bands set with pavé, "
                         "channel or prong-set diamonds.", 6, "WBD"),
            CategorySpec("gold-bands", "Gold Bands", "Plain gold bands in every width and "
                         "finish.", 5, "WBG"),
            CategorySpec("eternity-bands", "Eternity Bands", "Diamonds all the way around "
                         "the band.", 4, "WBE"),
            CategorySpec("anniversary-bands", "Anniversary Bands", "Five- and seven-stone "
                         "bands to mark the years.", 4, "WBA"),
            CategorySpec("gemstone-bands", "Gemstone Bands", "Sapphires, rubies and "
                         "emeralds, alone or alternating with diamonds.", 3, "WBC"),
            CategorySpec("his-and-hers", "His & Hers", "Matching bands for both partners, "
                         "sold separately in each size.", 2, "WBM"),
        ),
    ),
    CategorySpec("semi-mounts", "Semi-Mounts", "Finished settings ready for a center stone "
                 "of your choice.", 5, "SM"),
    CategorySpec(
        "earrings", "Earrings", "Diamond, pearl and gemstone earrings.",
        children=(
            CategorySpec("stud-earrings", "Stud Earrings", "Diamond, pearl and gemstone "
                         "studs.", 5, "EAS"),
            CategorySpec("diamond-earrings", "Diamond Earrings", "Diamond hoops, drops and "
                         "halo earrings.", 4, "EAD"),
        ),
    ),
    CategorySpec(
        "mens", "Men's", "Men's diamond rings and wedding bands in gold, platinum, tungsten "
        "and titanium.",
        children=(
            CategorySpec("mens-diamond-rings", "Men's Diamond Rings", "Bold diamond rings "
                         "for men.", 3, "MDR"),
            CategorySpec("mens-wedding-bands", "Men's Wedding Bands", "Comfort-fit bands in "
                         "gold, platinum, tungsten and titanium.", 4, "MWB"),
        ),
    ),
    CategorySpec("pendants", "Pendants", "Diamond and gemstone pendants, each with a chain "
                 "in your choice of length.", 6, "PD"),
    CategorySpec("bracelets", "Bracelets", "Tennis bracelets, bangles and chain bracelets.",
                 5, "BR"),
    CategorySpec("gemstones", "Loose Gemstones", "Certified loose diamonds and precious "
                 "gemstones, each one of a kind.", 8, "GEM"),
)  # fmt: skip


def category_slugs() -> list[str]:
    return [slug for spec in CATEGORY_TREE for slug in _walk(spec)]


def _walk(spec: CategorySpec) -> list[str]:
    return [spec.slug] + [slug for child in spec.children for slug in _walk(child)]


def _leaves() -> list[tuple[CategorySpec, CategorySpec]]:
    """(leaf, its top-level category), in tree order."""
    found = []
    for top in CATEGORY_TREE:
        for leaf in top.children or (top,):
            found.append((leaf, top))
    return found


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` by weight (largest remainder); every share gets one first if it can."""
    counts = [1] * len(weights) if total >= len(weights) else [0] * len(weights)
    rest = total - sum(counts)
    whole = sum(weights)
    exact = [rest * w / whole for w in weights]
    for i, share in enumerate(exact):
        counts[i] += int(share)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


# ---- jewelry vocabulary ----


class Weighted(Generic[T]):
    """Weighted choices, with the cumulative weights `random.choices` wants precomputed."""

    __slots__ = ("cum", "items")

    def __init__(self, weights: dict[T, int]) -> None:
        self.items = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))


METAL_NAMES = {
    Metal.yellow_gold: "Yellow Gold",
    Metal.white_gold: "White Gold",
    Metal.rose_gold: "Rose Gold",
    Metal.platinum: "Platinum",
    Metal.silver: "Sterling Silver",
    Metal.tungsten: "Tungsten",
    Metal.titanium: "Titanium",
}
METAL_CODES = {
    Metal.yellow_gold: "Y", Metal.white_gold: "W", Metal.rose_gold: "R", Metal.platinum: "PT",
    Metal.silver: "SS", Metal.tungsten: "TU", Metal.titanium: "TI",
}  # fmt: skip
GOLDS = (Metal.yellow_gold, Metal.white_gold, Metal.rose_gold)
GOLD_PURITIES = Weighted({MetalPurity.k10: 2, MetalPurity.k14: 6, MetalPurity.k18: 2})
# Price of the same setting relative to 14k gold.
METAL_FACTORS = {
    MetalPurity.k10: 0.8, MetalPurity.k14: 1.0, MetalPurity.k18: 1.4,
    Metal.platinum: 1.6, Metal.silver: 0.25, Metal.tungsten: 0.35, Metal.titanium: 0.3,
}  # fmt: skip

BRIDAL_METALS = Weighted(
    {Metal.white_gold: 40, Metal.yellow_gold: 20, Metal.rose_gold: 15, Metal.platinum: 25}
)
BAND_METALS = Weighted(
    {Metal.white_gold: 35, Metal.yellow_gold: 35, Metal.rose_gold: 15, Metal.platinum: 15}
)
FASHION_METALS = Weighted(
    {Metal.white_gold: 35, Metal.yellow_gold: 30, Metal.rose_gold: 15, Metal.silver: 20}
)
MENS_METALS = Weighted({
    Metal.tungsten: 30, Metal.titanium: 20, Metal.yellow_gold: 20, Metal.white_gold: 20,
    Metal.platinum: 10,
})  # fmt: skip

COLOR_WEIGHTS = Weighted({"D": 3, "E": 7, "F": 13, "G": 22, "H": 22, "I": 16, "J": 11, "K": 6})
COLOR_FACTORS = {"D": 1.45, "E": 1.33, "F": 1.22, "G": 1.1, "H": 1.0, "I": 0.9, "J": 0.8,
                 "K": 0.72}  # fmt: skip
CLARITY_WEIGHTS = Weighted({
    DiamondClarity.FL: 1, DiamondClarity.IF: 2, DiamondClarity.VVS1: 6, DiamondClarity.VVS2: 9,
    DiamondClarity.VS1: 18, DiamondClarity.VS2: 22, DiamondClarity.SI1: 22,
    DiamondClarity.SI2: 14, DiamondClarity.I1: 4,
})  # fmt: skip
CLARITY_FACTORS = {
    DiamondClarity.FL: 1.6, DiamondClarity.IF: 1.45, DiamondClarity.VVS1: 1.3,
    DiamondClarity.VVS2: 1.22, DiamondClarity.VS1: 1.12, DiamondClarity.VS2: 1.05,
    DiamondClarity.SI1: 0.95, DiamondClarity.SI2: 0.85, DiamondClarity.I1: 0.65,
}  # fmt: skip
CUT_WEIGHTS = Weighted({DiamondCut.ideal: 30, DiamondCut.excellent: 35, DiamondCut.very_good: 25,
                        DiamondCut.good: 10})  # fmt: skip
CUT_FACTORS = {DiamondCut.ideal: 1.12, DiamondCut.excellent: 1.06, DiamondCut.very_good: 1.0,
               DiamondCut.good: 0.9}  # fmt: skip
CUT_NAMES = {DiamondCut.ideal: "Ideal", DiamondCut.excellent: "Excellent",
             DiamondCut.very_good: "Very Good", DiamondCut.good: "Good"}  # fmt: skip
SHAPES = Weighted({"Round": 40, "Oval": 12, "Cushion": 10, "Princess": 10, "Emerald-Cut": 7,
                   "Pear": 6, "Radiant": 5, "Marquise": 4, "Asscher": 3})  # fmt: skip
GOLD_BAND_METALS = Weighted({Metal.yellow_gold: 45, Metal.white_gold: 35, Metal.rose_gold: 20})
BANGLE_METALS = Weighted(
    {Metal.white_gold: 25, Metal.yellow_gold: 25, Metal.rose_gold: 10, Metal.silver: 40}
)
MENS_DIAMOND_METALS = Weighted(
    {Metal.yellow_gold: 35, Metal.white_gold: 35, Metal.platinum: 15, Metal.tungsten: 15}
)
ENGAGEMENT_KINDS = Weighted({"natural": 70, "lab": 22, "sapphire": 5, "moissanite": 3})
STUD_KINDS = Weighted({"diamond": 55, "lab": 15, "pearl": 15, "gem": 15})
PENDANT_KINDS = Weighted({"solitaire": 35, "halo": 20, "gem": 30, "heart": 15})
BRACELET_KINDS = Weighted({"tennis": 50, "bangle": 25, "gem": 25})
LOOSE_KINDS = Weighted({"natural": 55, "lab": 25, "gem": 20})
BAND_GEMS = Weighted(
    {StoneType.sapphire: 40, StoneType.ruby: 25, StoneType.emerald: 25, StoneType.amethyst: 10}
)
NATURAL_LABS = Weighted({GradingLab.GIA: 7, GradingLab.AGS: 2, GradingLab.HRD: 1})
LAB_GROWN_LABS = Weighted({GradingLab.IGI: 7, GradingLab.GIA: 3})
COLORED_STONE_LABS = Weighted({GradingLab.GIA: 6, GradingLab.GCAL: 2})
# Center stones in carat points, weighted toward the sizes people buy (1.00 ct above all).
CENTER_POINTS = Weighted({50: 6, 70: 7, 75: 6, 90: 8, 100: 14, 101: 6, 120: 8, 125: 7, 150: 9,
                          151: 4, 170: 4, 175: 3, 200: 5, 201: 2, 250: 2, 300: 1})  # fmt: skip
# Colored stones: (display name, price per carat in USD at one carat, growth with size).
GEMS = {
    StoneType.sapphire: ("Blue Sapphire", 1_100.0, 0.45),
    StoneType.ruby: ("Ruby", 1_500.0, 0.5),
    StoneType.emerald: ("Emerald", 1_200.0, 0.45),
    StoneType.aquamarine: ("Aquamarine", 180.0, 0.2),
    StoneType.amethyst: ("Amethyst", 25.0, 0.0),
    StoneType.topaz: ("Blue Topaz", 20.0, 0.0),
}
PRECIOUS = (StoneType.sapphire, StoneType.ruby, StoneType.emerald)
SEMIPRECIOUS = (StoneType.aquamarine, StoneType.amethyst, StoneType.topaz)
WOMENS_SIZES = ("5", "5.5", "6", "6.5", "7", "7.5", "8")
MENS_SIZES = ("8", "9", "9.5", "10", "10.5", "11", "12")
CHAIN_LENGTHS_CM = (40, 45, 50)  # 16, 18 and 20 inches
TWO_PLACES = "{:.2f}"


def _ct(points: int) -> str:
    return TWO_PLACES.format(points / 100)


def retail(usd: float, low: int, high: int) -> int:
    """A shelf price in whole dollars: clamped to the range, rounded like a store would."""
    usd = min(max(usd, low), high)
    step = 10 if usd < 1_000 else 50 if usd < 10_000 else 100
    return min(max(round(usd / step) * step, low), high)


# ---- one product, before it becomes rows ----


@dataclass
class Draft:
    name: str
    description: str
    metal: Metal
    metal_purity: MetalPurity | None
    stone_type: StoneType | None
    carat_points: int | None = None
    cut: DiamondCut | None = None
    color: str | None = None
    clarity: DiamondClarity | None = None
    grading_lab: GradingLab | None = None
    certificate_number: str | None = None
    # (ring size, chain length in cm, price in whole dollars) per variant
    options: list[tuple[str | None, int | None, int]] = field(default_factory=list)

    @property
    def one_of_a_kind(self) -> bool:
        return self.certificate_number is not None


@dataclass(frozen=True)
class Grades:
    cut: DiamondCut
    color: str
    clarity: DiamondClarity

    def as_fields(self) -> dict[str, object]:
        """The Draft/Product keyword arguments for these grades."""
        return {"cut": self.cut, "color": self.color, "clarity": self.clarity}

    @property
    def factor(self) -> float:
        return CUT_FACTORS[self.cut] * COLOR_FACTORS[self.color] * CLARITY_FACTORS[self.clarity]

    @property
    def phrase(self) -> str:
        return f"{CUT_NAMES[self.cut]} cut, {self.color} color and {self.clarity.value} clarity"


class Maker:
    """Draws one believable product for a leaf category."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.certificates: set[str] = set()
        self.makers: dict[str, Callable[[], Draft]] = {
            "solitaire": lambda: self.engagement("solitaire"),
            "side-stone": lambda: self.engagement("side-stone"),
            "halo": lambda: self.engagement("halo"),
            "three-stone": lambda: self.engagement("three-stone"),
            "wedding-sets": self.wedding_set,
            "diamond-bands": lambda: self.diamond_band("diamond"),
            "gold-bands": self.gold_band,
            "eternity-bands": lambda: self.diamond_band("eternity"),
            "anniversary-bands": lambda: self.diamond_band("anniversary"),
            "gemstone-bands": self.gemstone_band,
            "his-and-hers": self.matching_band,
            "semi-mounts": self.semi_mount,
            "stud-earrings": self.studs,
            "diamond-earrings": self.diamond_earrings,
            "mens-diamond-rings": self.mens_diamond_ring,
            "mens-wedding-bands": self.mens_band,
            "pendants": self.pendant,
            "bracelets": self.bracelet,
            "gemstones": self.loose_stone,
        }

    def make(self, category_slug: str) -> Draft:
        return self.makers[category_slug]()

    # -- drawing helpers --

    def pick(self, table: Weighted[T]) -> T:
        return self.rng.choices(table.items, cum_weights=table.cum)[0]

    def metal(self, weights: Weighted[Metal]) -> tuple[Metal, MetalPurity | None]:
        metal = self.pick(weights)
        if metal in GOLDS:
            return metal, self.pick(GOLD_PURITIES)
        purity = {Metal.platinum: MetalPurity.platinum_950, Metal.silver: MetalPurity.sterling_925}
        return metal, purity.get(metal)

    @staticmethod
    def metal_name(metal: Metal, purity: MetalPurity | None) -> str:
        if metal in GOLDS and purity is not None:
            return f"{purity.value} {METAL_NAMES[metal]}"
        return METAL_NAMES[metal]

    @staticmethod
    def metal_factor(metal: Metal, purity: MetalPurity | None) -> float:
        return METAL_FACTORS[purity] if metal in GOLDS and purity else METAL_FACTORS[metal]

    def grades(self) -> Grades:
        return Grades(self.pick(CUT_WEIGHTS), self.pick(COLOR_WEIGHTS), self.pick(CLARITY_WEIGHTS))

    def points(self, low: int, high: int, step: int = 5) -> int:
        return self.rng.randrange(low, high + 1, step)

    @staticmethod
    def diamond_usd(points: int, grades: Grades, *, lab: bool = False) -> float:
        carat = points / 100
        per_carat = 5_200 * carat**0.8  # bigger stones cost more per carat
        return per_carat * carat * grades.factor * (0.22 if lab else 1.0)

    @staticmethod
    def melee_usd(points: int, *, lab: bool = False) -> float:
        """Small accent diamonds, priced by total weight."""
        return points / 100 * (450 if lab else 1_600)

    @staticmethod
    def gem_usd(stone: StoneType, points: int) -> float:
        _, per_carat, growth = GEMS[stone]
        carat = points / 100
        return per_carat * carat ** (1 + growth)

    def ring_options(self, usd: float, low: int, high: int, *, mens: bool = False) -> list[Any]:
        price = retail(usd, low, high)
        sizes = MENS_SIZES if mens else WOMENS_SIZES
        # More metal in the largest sizes: a small surcharge on wide men's bands.
        return [
            (size, None, retail(price * 1.04, low, high) if mens and float(size) >= 11 else price)
            for size in sizes
        ]

    def sentence(self, *choices: str) -> str:
        return self.rng.choice(choices)

    # -- bridal --

    def engagement(self, style: str) -> Draft:
        metal, purity = self.metal(BRIDAL_METALS)
        metal_name = self.metal_name(metal, purity)
        shape = self.pick(SHAPES)
        kind = self.pick(ENGAGEMENT_KINDS)
        setting = {"solitaire": 650, "side-stone": 1_050, "halo": 1_250, "three-stone": 1_150}
        for _ in range(20):  # redraw until the ring fits the store's price range
            center = self.pick(CENTER_POINTS)
            grades = self.grades()
            side = {
                "solitaire": 0,
                "side-stone": self.points(15, 60),
                "halo": self.points(15, 45),
                "three-stone": max(20, round(center * self.rng.uniform(0.4, 0.8) / 10) * 10),
            }[style]
            lab = kind == "lab"
            if kind == "sapphire":
                stone_usd = self.gem_usd(StoneType.sapphire, center)
            elif kind == "moissanite":
                stone_usd = 600 * center / 100
            else:
                stone_usd = self.diamond_usd(center, grades, lab=lab)
            if style == "three-stone":
                side_usd = 2 * self.diamond_usd(side // 2, grades, lab=lab)
            else:
                side_usd = self.melee_usd(side, lab=lab)
            usd = setting[style] * self.metal_factor(metal, purity) + stone_usd + side_usd
            if usd <= 25_000:
                break
        total = center + side
        weight = f"{_ct(total)} {'ct' if style == 'solitaire' else 'ctw'}"
        style_name = {
            "solitaire": "Solitaire",
            "side-stone": "Side-Stone",
            "halo": "Halo",
            "three-stone": "Three-Stone",
        }[style]
        stone_name = {
            "natural": "",
            "lab": "Lab-Grown ",
            "sapphire": "Blue Sapphire ",
            "moissanite": "Moissanite ",
        }[kind]
        if kind == "sapphire" and style != "solitaire":
            stone_name = "Blue Sapphire and Diamond "
        name = f"{weight} {shape} {stone_name}{style_name} Engagement Ring in {metal_name}"
        setting_text = {
            "solitaire": f"held in a classic four-prong {metal_name} solitaire setting",
            "side-stone": f"on a {metal_name} band set with {_ct(side)} ctw of pavé diamonds",
            "halo": f"framed by a halo of {_ct(side)} ctw of round diamonds in {metal_name}",
            "three-stone": f"between two side diamonds totalling {_ct(side)} ct, in {metal_name}",
        }[style]
        draft = Draft(
            name=name,
            description="",
            metal=metal,
            metal_purity=purity,
            stone_type={
                "natural": StoneType.diamond,
                "lab": StoneType.lab_diamond,
                "sapphire": StoneType.sapphire,
                "moissanite": StoneType.moissanite,
            }[kind],
            carat_points=total,
        )
        if kind in ("natural", "lab"):
            draft.cut, draft.color, draft.clarity = grades.cut, grades.color, grades.clarity
            center_text = (
                f"a {_ct(center)} ct {shape.lower()} {'lab-grown ' if lab else ''}diamond of "
                f"{grades.phrase}"
            )
        elif kind == "sapphire":
            center_text = f"a {_ct(center)} ct {shape.lower()} blue sapphire"
        else:
            center_text = f"a {_ct(center)} ct {shape.lower()} moissanite"
        draft.description = " ".join(
            (
                f"{center_text[0].upper()}{center_text[1:]}, {setting_text}.",
                self.sentence(
                    "The low-profile basket sits close to the finger and pairs with most "
                    "straight wedding bands.",
                    "A cathedral setting lifts the center stone to catch the light from "
                    "every side.",
                    "A hidden gallery detail adds sparkle under the stone when seen from the side.",
                    "Comfort-fit inside edges make it easy to wear every day.",
                ),
                "Available in whole and half sizes from 5 to 8.",
            )
        ).strip()
        draft.options = self.ring_options(usd, 1_500, 25_000)
        return draft

    def wedding_set(self) -> Draft:
        metal, purity = self.metal(BRIDAL_METALS)
        metal_name = self.metal_name(metal, purity)
        shape = self.pick(SHAPES)
        lab = self.rng.random() < 0.25
        style = self.rng.choice(("Halo", "Solitaire", "Pavé", "Vintage-Inspired", "Twisted"))
        for _ in range(20):
            center = self.pick(CENTER_POINTS)
            grades = self.grades()
            accents = self.points(20, 80)
            usd = (
                1_700 * self.metal_factor(metal, purity)
                + self.diamond_usd(center, grades, lab=lab)
                + self.melee_usd(accents, lab=lab)
            )
            if usd <= 25_000:
                break
        total = center + accents
        draft = Draft(
            name=f"{_ct(total)} ctw {shape} {'Lab-Grown ' if lab else ''}{style} Bridal Set "
            f"in {metal_name}",
            description=(
                f"An engagement ring with a {_ct(center)} ct {shape.lower()} "
                f"{'lab-grown ' if lab else ''}diamond of {grades.phrase}, and a matching "
                f"band that sits flush against it; {_ct(accents)} ctw of accent diamonds "
                f"across both, in {metal_name}. "
                + self.sentence(
                    "Both rings are sized together, so they always match.",
                    "The contoured band follows the engagement ring's profile with no gap.",
                    "Milgrain edges give the pair a softly vintage finish.",
                )
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.lab_diamond if lab else StoneType.diamond,
            carat_points=total,
            **grades.as_fields(),
        )
        draft.options = self.ring_options(usd, 2_000, 25_000)
        return draft

    def semi_mount(self) -> Draft:
        metal, purity = self.metal(BRIDAL_METALS)
        metal_name = self.metal_name(metal, purity)
        shape = self.pick(SHAPES)
        style = self.rng.choice(("Halo", "Pavé", "Three-Stone", "Split-Shank", "Hidden-Halo"))
        accents = self.points(15, 80)
        center = self.rng.choice((50, 75, 100, 150, 200))
        grades = Grades(DiamondCut.very_good, self.rng.choice("FGH"), DiamondClarity.VS2)
        usd = 750 * self.metal_factor(metal, purity) + self.melee_usd(accents)
        draft = Draft(
            name=f"{_ct(accents)} ctw {style} Semi-Mount for a {_ct(center)} ct {shape} Center "
            f"in {metal_name}",
            description=(
                f"A finished {style.lower()} setting in {metal_name} with {_ct(accents)} ctw "
                f"of accent diamonds ({grades.color} color, {grades.clarity.value} clarity), "
                f"made to hold a {_ct(center)} ct {shape.lower()} center stone. Choose a loose "
                "diamond or gemstone and our bench jewelers set it for you."
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.diamond,
            carat_points=accents,
            color=grades.color,
            clarity=grades.clarity,
        )
        draft.options = self.ring_options(usd, 700, 4_000)
        return draft

    # -- bands --

    def diamond_band(self, kind: str) -> Draft:
        metal, purity = self.metal(BAND_METALS)
        metal_name = self.metal_name(metal, purity)
        lab = kind == "eternity" and self.rng.random() < 0.35
        points = {
            "diamond": self.points(10, 100),
            "eternity": self.points(75, 200, 25),
            "anniversary": self.points(25, 150, 25),
        }[kind]
        setting = self.rng.choice(("Pavé", "Channel-Set", "Prong-Set", "Bezel-Set", "Shared-Prong"))
        grades = Grades(
            self.pick(CUT_WEIGHTS),
            self.rng.choice("FGHI"),
            self.rng.choice((DiamondClarity.VS2, DiamondClarity.SI1)),
        )
        title = {
            "diamond": f"{setting} Diamond Wedding Band",
            "eternity": f"{'Lab-Grown ' if lab else ''}Diamond Eternity Band",
            "anniversary": self.rng.choice(
                ("Five-Stone Diamond Anniversary Band", "Seven-Stone Diamond Anniversary Band")
            ),
        }[kind]
        usd = 450 * self.metal_factor(metal, purity) + self.melee_usd(points, lab=lab)
        draft = Draft(
            name=f"{_ct(points)} ctw {title} in {metal_name}",
            description=(
                f"{_ct(points)} carats total weight of round "
                f"{'lab-grown ' if lab else ''}diamonds, {grades.color} color and "
                f"{grades.clarity.value} clarity, "
                + {
                    "diamond": f"{setting.lower()} across the top of a {metal_name} band.",
                    "eternity": f"set all the way around a {metal_name} band.",
                    "anniversary": f"set across a {metal_name} band to mark the years.",
                }[kind]
                + " "
                + self.sentence(
                    "Wear it alone or stacked with an engagement ring.",
                    "Rounded inside edges make it comfortable for every day.",
                    "Eternity bands cannot be resized; order your exact size."
                    if kind == "eternity"
                    else "Stacks neatly with most engagement rings.",
                )
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.lab_diamond if lab else StoneType.diamond,
            carat_points=points,
            **grades.as_fields(),
        )
        draft.options = self.ring_options(usd, 200, 3_000)
        return draft

    def gold_band(self) -> Draft:
        metal, purity = self.metal(GOLD_BAND_METALS)
        metal_name = self.metal_name(metal, purity)
        width = self.rng.choice((2, 3, 4, 5, 6))
        finish = self.rng.choice(
            ("Polished", "Comfort-Fit", "Milgrain", "Hammered", "Brushed", "Beveled-Edge")
        )
        usd = (120 + width * 95) * self.metal_factor(metal, purity)
        draft = Draft(
            name=f"{width} mm {finish} Wedding Band in {metal_name}",
            description=(
                f"A {width} mm band in solid {metal_name} with a {finish.lower()} finish. "
                + self.sentence(
                    "Simple, solid and made to be worn for a lifetime.",
                    "A slightly domed profile and rounded inner edges for all-day comfort.",
                    "Engrave the inside with a date or a few words at no charge.",
                )
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.none,
        )
        draft.options = self.ring_options(usd, 200, 3_000)
        return draft

    def gemstone_band(self) -> Draft:
        metal, purity = self.metal(BAND_METALS)
        metal_name = self.metal_name(metal, purity)
        stone = self.pick(BAND_GEMS)
        gem = GEMS[stone][0]
        points = self.points(20, 120)
        with_diamonds = self.rng.random() < 0.6
        usd = (
            420 * self.metal_factor(metal, purity)
            + self.gem_usd(stone, points) * 0.6  # calibrated small stones cost less per carat
            + (self.melee_usd(points // 2) if with_diamonds else 0)
        )
        style = "and Diamond Anniversary Band" if with_diamonds else "Eternity Band"
        draft = Draft(
            name=f"{_ct(points)} ctw {gem} {style} in {metal_name}",
            description=(
                f"{_ct(points)} carats of matched {gem.lower()}s"
                + (" alternating with round diamonds" if with_diamonds else "")
                + f", set in {metal_name}. "
                + self.sentence(
                    "A splash of color that stacks with any engagement ring.",
                    "Each stone is hand-matched for an even tone across the band.",
                )
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=stone,
            carat_points=points,
        )
        draft.options = self.ring_options(usd, 200, 3_000)
        return draft

    def matching_band(self) -> Draft:
        metal, purity = self.metal(BAND_METALS)
        metal_name = self.metal_name(metal, purity)
        collection = self.rng.choice(("Heritage", "Aurora", "Everly", "Linden", "Solstice"))
        if self.rng.random() < 0.5:
            width = self.rng.choice((5, 6, 7, 8))
            usd = (200 + width * 110) * self.metal_factor(metal, purity)
            draft = Draft(
                name=f"His {width} mm {collection} Matching Wedding Band in {metal_name}",
                description=(
                    f"The men's band of the {collection} pair: {width} mm of {metal_name} with "
                    "a comfort-fit interior and a satin center between polished edges. Her "
                    "matching band is sold separately in women's sizes."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=StoneType.none,
            )
            draft.options = self.ring_options(usd, 200, 3_000, mens=True)
            return draft
        points = self.points(10, 40)
        usd = 380 * self.metal_factor(metal, purity) + self.melee_usd(points)
        draft = Draft(
            name=f"Hers {_ct(points)} ctw {collection} Matching Diamond Wedding Band "
            f"in {metal_name}",
            description=(
                f"The women's band of the {collection} pair: {_ct(points)} ctw of round "
                f"diamonds across a slim {metal_name} band. His matching band is sold "
                "separately in men's sizes."
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.diamond,
            carat_points=points,
            color=self.rng.choice("GH"),
            clarity=DiamondClarity.SI1,
        )
        draft.options = self.ring_options(usd, 200, 3_000)
        return draft

    # -- men's --

    def mens_band(self) -> Draft:
        metal, purity = self.metal(MENS_METALS)
        metal_name = self.metal_name(metal, purity)
        width = self.rng.choice((6, 7, 8, 9))
        finish = self.rng.choice(
            ("Brushed", "Polished", "Satin-Center", "Hammered", "Grooved", "Beveled")
        )
        if metal in (Metal.tungsten, Metal.titanium):
            usd = 150 + width * 30 + self.rng.randint(0, 120)
            care = (
                f"{metal_name} is harder than gold and keeps its finish, but it cannot be "
                "resized, so please check your size before ordering."
            )
        else:
            usd = (260 + width * 140) * self.metal_factor(metal, purity)
            care = "Can be resized up or down one size by our bench jewelers."
        draft = Draft(
            name=f"Men's {width} mm {finish} Comfort-Fit Wedding Band in {metal_name}",
            description=(
                f"{'An' if width == 8 else 'A'} {width} mm comfort-fit band in {metal_name} "
                f"with a {finish.lower()} finish. {care}"
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.none,
        )
        draft.options = self.ring_options(usd, 200, 3_000, mens=True)
        return draft

    def mens_diamond_ring(self) -> Draft:
        metal, purity = self.metal(MENS_DIAMOND_METALS)
        metal_name = self.metal_name(metal, purity)
        style = self.rng.choice(
            ("Signet", "Channel-Set Band", "Square-Top", "Bezel-Set", "Three-Row Pavé")
        )
        points = self.points(10, 150)
        grades = Grades(
            self.pick(CUT_WEIGHTS),
            self.rng.choice("GHIJ"),
            self.rng.choice((DiamondClarity.SI1, DiamondClarity.SI2)),
        )
        usd = 700 * self.metal_factor(metal, purity) + self.melee_usd(points) * 1.1
        draft = Draft(
            name=f"Men's {_ct(points)} ctw Diamond {style} Ring in {metal_name}",
            description=(
                f"A substantial men's {style.lower()} ring in {metal_name}, set with "
                f"{_ct(points)} ctw of diamonds ({grades.color} color, "
                f"{grades.clarity.value} clarity). Heavy enough to feel solid, with a "
                "comfort-fit interior."
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.diamond,
            carat_points=points,
            **grades.as_fields(),
        )
        draft.options = self.ring_options(usd, 700, 6_000, mens=True)
        return draft

    # -- earrings, pendants, bracelets --

    def studs(self) -> Draft:
        metal, purity = self.metal(FASHION_METALS)
        metal_name = self.metal_name(metal, purity)
        kind = self.pick(STUD_KINDS)
        if kind in ("diamond", "lab") and metal == Metal.silver:
            metal, purity = Metal.white_gold, MetalPurity.k14
            metal_name = self.metal_name(metal, purity)
        if kind in ("diamond", "lab"):
            lab = kind == "lab"
            points = self.rng.choice((25, 33, 50, 75, 100, 150, 200))
            grades = self.grades()
            usd = 120 * self.metal_factor(metal, purity) + 2 * self.diamond_usd(
                points // 2, grades, lab=lab
            )
            draft = Draft(
                name=f"{_ct(points)} ctw Round {'Lab-Grown ' if lab else ''}Diamond Stud "
                f"Earrings in {metal_name}",
                description=(
                    f"A matched pair of round {'lab-grown ' if lab else ''}diamonds, "
                    f"{_ct(points)} carats total weight, {grades.phrase}, in four-prong "
                    f"{metal_name} baskets with secure screw backs."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=StoneType.lab_diamond if lab else StoneType.diamond,
                carat_points=points,
                **grades.as_fields(),
            )
        elif kind == "pearl":
            size = self.rng.choice((6, 7, 8, 9))
            pearl = self.rng.choice(("Freshwater", "Akoya", "South Sea"))
            usd = {"Freshwater": 90, "Akoya": 260, "South Sea": 900}[pearl] * (size / 7) ** 2
            draft = Draft(
                name=f"{size} mm {pearl} Pearl Stud Earrings in {metal_name}",
                description=(
                    f"Two {size} mm {pearl.lower()} cultured pearls with a bright, even luster, "
                    f"on {metal_name} posts with friction backs."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=StoneType.pearl,
            )
        else:
            stone = self.rng.choice(PRECIOUS + SEMIPRECIOUS)
            gem = GEMS[stone][0]
            points = self.rng.choice((50, 75, 100, 150))
            usd = 110 * self.metal_factor(metal, purity) + 2 * self.gem_usd(stone, points // 2)
            draft = Draft(
                name=f"{_ct(points)} ctw {gem} Stud Earrings in {metal_name}",
                description=(
                    f"Two matched {gem.lower()}s, {_ct(points)} carats together, in "
                    f"{metal_name} settings with secure backs."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=stone,
                carat_points=points,
            )
        draft.options = [(None, None, retail(usd, 120, 12_000))]
        return draft

    def diamond_earrings(self) -> Draft:
        metal, purity = self.metal(BAND_METALS)
        metal_name = self.metal_name(metal, purity)
        style = self.rng.choice(
            ("Hoop", "Inside-Out Hoop", "Huggie", "Drop", "Halo Stud", "Cluster", "Chandelier")
        )
        points = self.points(20, 300, 10)
        grades = Grades(
            self.pick(CUT_WEIGHTS),
            self.rng.choice("FGHIJ"),
            self.rng.choice((DiamondClarity.VS2, DiamondClarity.SI1, DiamondClarity.SI2)),
        )
        usd = 260 * self.metal_factor(metal, purity) + self.melee_usd(points) * 1.2
        draft = Draft(
            name=f"{_ct(points)} ctw Diamond {style} Earrings in {metal_name}",
            description=(
                f"{style} earrings in {metal_name} with {_ct(points)} carats total weight of "
                f"round diamonds, {grades.color} color and {grades.clarity.value} clarity. "
                + self.sentence(
                    "Light enough to wear all day.",
                    "Hinged closures click shut securely.",
                    "Made to move and catch the light.",
                )
            ),
            metal=metal,
            metal_purity=purity,
            stone_type=StoneType.diamond,
            carat_points=points,
            **grades.as_fields(),
        )
        draft.options = [(None, None, retail(usd, 250, 12_000))]
        return draft

    def pendant(self) -> Draft:
        metal, purity = self.metal(FASHION_METALS)
        metal_name = self.metal_name(metal, purity)
        kind = self.pick(PENDANT_KINDS)
        if metal == Metal.silver and kind != "gem":
            kind = "gem"
        if kind == "gem":
            stone = self.rng.choice(SEMIPRECIOUS if metal == Metal.silver else PRECIOUS)
            gem = GEMS[stone][0]
            points = self.points(50, 300, 25)
            usd = 140 * self.metal_factor(metal, purity) + self.gem_usd(stone, points)
            draft = Draft(
                name=f"{_ct(points)} ct {gem} Pendant in {metal_name}",
                description=(
                    f"A {_ct(points)} ct {gem.lower()} in a {metal_name} bezel, on a matching "
                    "cable chain with a lobster clasp."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=stone,
                carat_points=points,
            )
        else:
            points = self.rng.choice((10, 15, 25, 33, 50, 75, 100))
            grades = self.grades()
            usd = 180 * self.metal_factor(metal, purity) + (
                self.diamond_usd(points, grades) if kind == "solitaire" else self.melee_usd(points)
            )
            title = {
                "solitaire": "Round Diamond Solitaire",
                "halo": "Diamond Halo",
                "heart": "Diamond Heart",
            }[kind]
            draft = Draft(
                name=f"{_ct(points)} ctw {title} Pendant in {metal_name}",
                description=(
                    f"{_ct(points)} carats of round diamonds, {grades.phrase}, in a "
                    f"{metal_name} {title.lower().replace('round diamond ', '')} pendant on a "
                    "matching cable chain with a lobster clasp."
                ),
                metal=metal,
                metal_purity=purity,
                stone_type=StoneType.diamond,
                carat_points=points,
                **grades.as_fields(),
            )
        price = retail(usd, 120, 8_000)
        chain_step = 10 if metal == Metal.silver else 30
        draft.options = [
            (None, cm, retail(price + i * chain_step, 120, 8_100))
            for i, cm in enumerate(CHAIN_LENGTHS_CM)
        ]
        return draft

    def bracelet(self) -> Draft:
        kind = self.pick(BRACELET_KINDS)
        if kind == "bangle":
            metal, purity = self.metal(BANGLE_METALS)
            metal_name = self.metal_name(metal, purity)
            style = self.rng.choice(
                (
                    "Cuff Bangle",
                    "Hinged Bangle",
                    "Rope Chain Bracelet",
                    "Curb Chain Bracelet",
                    "Paperclip Chain Bracelet",
                )
            )
            usd = 600 * self.metal_factor(metal, purity) + self.rng.randint(0, 300)
            draft = Draft(
                name=f"{style} in {metal_name}",
                description=f"A polished {style.lower()} in solid {metal_name}, 7 inches long.",
                metal=metal,
                metal_purity=purity,
                stone_type=StoneType.none,
            )
        else:
            metal, purity = self.metal(BAND_METALS)
            metal_name = self.metal_name(metal, purity)
            if kind == "tennis":
                lab = self.rng.random() < 0.3
                points = self.rng.choice((100, 200, 300, 400, 500, 700))
                color = self.rng.choice("GHIJ")
                clarity = self.rng.choice(
                    (DiamondClarity.VS2, DiamondClarity.SI1, DiamondClarity.SI2)
                )
                usd = 700 * self.metal_factor(metal, purity) + self.melee_usd(points, lab=lab)
                draft = Draft(
                    name=f"{_ct(points)} ctw {'Lab-Grown ' if lab else ''}Diamond Tennis "
                    f"Bracelet in {metal_name}",
                    description=(
                        f"A 7 inch line of round {'lab-grown ' if lab else ''}diamonds, "
                        f"{_ct(points)} carats total weight, {color} color and "
                        f"{clarity.value} clarity, in four-prong {metal_name} links with a "
                        "box clasp and a safety catch."
                    ),
                    metal=metal,
                    metal_purity=purity,
                    stone_type=StoneType.lab_diamond if lab else StoneType.diamond,
                    carat_points=points,
                    color=color,
                    clarity=clarity,
                )
            else:
                stone = self.rng.choice(PRECIOUS)
                gem = GEMS[stone][0]
                points = self.points(200, 600, 50)
                usd = 650 * self.metal_factor(metal, purity) + self.gem_usd(stone, 50) * (
                    points / 50
                )
                draft = Draft(
                    name=f"{_ct(points)} ctw {gem} and Diamond Line Bracelet in {metal_name}",
                    description=(
                        f"Oval {gem.lower()}s, {_ct(points)} carats in all, alternating with "
                        f"round diamonds in a 7 inch {metal_name} line bracelet."
                    ),
                    metal=metal,
                    metal_purity=purity,
                    stone_type=stone,
                    carat_points=points,
                )
        draft.options = [(None, None, retail(usd, 150, 15_000))]
        return draft

    # -- loose stones --

    def certificate(self, lab: GradingLab, *, lab_grown: bool) -> str:
        while True:
            digits = {
                GradingLab.GIA: 10,
                GradingLab.IGI: 9,
                GradingLab.AGS: 12,
                GradingLab.HRD: 9,
                GradingLab.GCAL: 10,
            }[lab]
            number = str(self.rng.randrange(10 ** (digits - 1), 10**digits))
            if lab == GradingLab.IGI and lab_grown:
                number = f"LG{number}"
            if number not in self.certificates:
                self.certificates.add(number)
                return number

    def loose_stone(self) -> Draft:
        kind = self.pick(LOOSE_KINDS)
        shape = self.pick(SHAPES)
        # A loose stone has no metal; the column is required, so it carries the metal it is
        # most often set in, without a purity.
        metal = Metal.platinum
        if kind == "gem":
            stone = self.rng.choice(PRECIOUS)
            gem = GEMS[stone][0]
            points = self.points(50, 400, 1)
            grading_lab = self.pick(COLORED_STONE_LABS)
            origin = self.rng.choice(
                (
                    "Sri Lanka",
                    "Madagascar",
                    "Colombia",
                    "Mozambique",
                    "Thailand",
                    "Zambia",
                    "Australia",
                )
            )
            usd = self.gem_usd(stone, points)
            draft = Draft(
                name=f"{_ct(points)} ct {shape} Loose {gem} ({grading_lab.value} Certified)",
                description=(
                    f"A {_ct(points)} ct {shape.lower()} {gem.lower()} from {origin}, graded by "
                    f"{grading_lab.value}. One of a kind: this exact stone ships with its "
                    "report, and we can set it in any of our semi-mounts."
                ),
                metal=metal,
                metal_purity=None,
                stone_type=stone,
                carat_points=points,
                grading_lab=grading_lab,
                certificate_number=self.certificate(grading_lab, lab_grown=False),
            )
            draft.options = [(None, None, retail(usd, 150, 60_000))]
            return draft
        lab_grown = kind == "lab"
        points = self.points(30, 300, 1)
        grades = self.grades()
        grading_lab = self.pick(LAB_GROWN_LABS if lab_grown else NATURAL_LABS)
        usd = self.diamond_usd(points, grades, lab=lab_grown)
        draft = Draft(
            name=f"{_ct(points)} ct {shape} Loose {'Lab-Grown ' if lab_grown else ''}Diamond, "
            f"{grades.color} {grades.clarity.value}, {CUT_NAMES[grades.cut]} Cut "
            f"({grading_lab.value})",
            description=(
                f"A {_ct(points)} ct {shape.lower()} {'lab-grown ' if lab_grown else 'natural '}"
                f"diamond of {grades.phrase}, graded by {grading_lab.value}. "
                "One of a kind: this exact stone ships with its grading report, and we can set "
                "it in any of our semi-mounts."
            ),
            metal=metal,
            metal_purity=None,
            stone_type=StoneType.lab_diamond if lab_grown else StoneType.diamond,
            carat_points=points,
            **grades.as_fields(),
            grading_lab=grading_lab,
            certificate_number=self.certificate(grading_lab, lab_grown=lab_grown),
        )
        draft.options = [(None, None, retail(usd, 150, 100_000))]
        return draft


# ---- content pages ----

PAGES: tuple[tuple[str, str, str, str], ...] = (
    (
        "about",
        "About Facet",
        "A fine-jewelry store that ships every order free, in a gift box, and keeps your "
        "data to itself.",
        """\
Facet sells engagement rings, wedding and anniversary bands, earrings, pendants, bracelets and
certified loose gemstones, in gold, platinum, sterling silver, tungsten and titanium.

## What we promise

- **Every order ships free** and arrives in a **free gift box**, whatever it costs.
- **Honest grading.** Every diamond is described by its 4Cs (carat, cut, color, clarity); every
  loose stone comes with its report from an independent lab (GIA, IGI, AGS, HRD or GCAL).
- **Your data stays with us.** We collect only what we need to process your order (your name,
  email, mailing address and phone) and we never sell, share or trade it. Marketing is off
  until you turn it on, and every message has a one-click opt-out.
- **Adults only.** You must be 18 or older to open an account or place an order.

## Questions?

Read the FAQ, or write to us through the contact form: a person answers.
""",
    ),
    (
        "how-to-choose-a-diamond",
        "How to choose a diamond",
        "Set a budget, pick a shape, then spend on cut first, and let color and clarity be "
        "'good enough to look perfect'.",
        """\
Choosing a diamond is mostly about deciding what you will actually see.

## 1. Start with a budget and a shape

Shape (round, oval, cushion, princess, emerald, pear...) is personal taste. Round diamonds
return the most light and cost the most per carat; elongated shapes such as oval and pear look
larger than a round of the same weight.

## 2. Spend on cut first

Cut decides how much a diamond sparkles. A well-cut diamond looks brighter, and often larger,
than a poorly cut one of the same weight. Choose **Excellent** or **Ideal** for round diamonds
and at least **Very Good** for other shapes. See [diamond cut](/pages/diamond-cut).

## 3. Color and clarity: eye-clean and white enough

- **Color:** G or H looks white in a white-gold or platinum setting; in yellow or rose gold,
  I or J looks just as good (see the guide to diamond color).
- **Clarity:** most VS2 and many SI1 diamonds are *eye-clean* (no inclusion visible without
  magnification), at a fraction of the price of VVS or flawless (see the guide to diamond
  clarity).

## 4. Then carat

With the money left, choose the weight. Prices jump at 0.50, 1.00, 1.50 and 2.00 ct, so a
0.90 ct stone can cost noticeably less than a 1.00 ct stone that looks the same on the hand.

## Natural or lab-grown?

Lab-grown diamonds are real diamonds: the same carbon crystal, the same hardness and
sparkle, graded on the same scale, usually by IGI or GIA. They cost far less than natural
diamonds of the same grades. Our listings always say which is which.

## Always ask for the report

Every loose diamond we sell comes with a grading report from an independent lab; the
certificate number is on the product page.
""",
    ),
    (
        "diamond-cut",
        "Diamond cut",
        "Cut is the grade of how well a diamond's facets handle light: the C that matters most "
        "for sparkle.",
        """\
Cut is not the shape of a diamond; it is how well its angles, proportions, symmetry and
polish return light to your eye. Of the 4Cs it has the biggest effect on how a diamond looks.

## The grades we use

| grade | what it means |
| --- | --- |
| **Ideal** | Top proportions for maximum brightness and fire; the rarest cut. |
| **Excellent** | Exceptional brightness and fire; hard to tell from Ideal by eye. |
| **Very Good** | Very bright; a small trade-off that saves money. |
| **Good** | Noticeably less brilliant, chosen to keep carat weight or budget. |

Labs also grade **polish** and **symmetry**; for a round diamond, Excellent in both is
worth having.

## Why it matters

A diamond cut too deep or too shallow leaks light through its bottom and looks dark or
glassy, even with top color and clarity. A well-cut diamond hides small inclusions and a hint
of color, so choosing cut first lets you save on the other Cs.
""",
    ),
    (
        "diamond-color",
        "Diamond color",
        "Color runs from D (colorless) to Z (light yellow); G-H look white in most settings.",
        """\
Diamond color is graded on the absence of color, from **D** (completely colorless) to
**Z** (a light yellow or brown tint), by comparing the stone face-down against master stones.

| grades | description |
| --- | --- |
| D, E, F | Colorless. The rarest and most expensive. |
| G, H, I, J | Near colorless. Color is hard to see face-up, especially once set. |
| K, L, M | Faint color, visible in larger stones. |
| N to Z | Very light to light color. |

## How to choose

- In **white gold or platinum**, G and H are the sweet spot: they face up white and cost
  much less than D-F.
- In **yellow or rose gold**, the warm metal reflects into the stone, so I or J looks just
  as good.
- Color shows more in larger stones and in step cuts (emerald, Asscher) than in brilliant
  cuts (round, oval, cushion).

Fancy colored diamonds (yellow, pink, blue) are graded on a different scale.
""",
    ),
    (
        "diamond-clarity",
        "Diamond clarity",
        "Clarity grades the tiny inclusions in a diamond; VS2 and many SI1 stones are eye-clean.",
        """\
Almost every diamond has tiny internal features (inclusions) or surface marks (blemishes)
from its formation. Clarity grades how many there are, how large, and how visible, at 10x
magnification.

| grade | meaning |
| --- | --- |
| **FL**, **IF** | Flawless / internally flawless: nothing visible at 10x. Very rare. |
| **VVS1**, **VVS2** | Very, very slightly included: hard for a trained grader to find at 10x. |
| **VS1**, **VS2** | Very slightly included: minor inclusions, seen at 10x. |
| **SI1**, **SI2** | Slightly included: noticeable at 10x; SI2 sometimes by eye. |
| **I1**, **I2**, **I3** | Included: visible to the eye and may affect brilliance. |

## How to choose

What matters is whether you can see an inclusion when the ring is on a hand. Most VS2 and many
SI1 diamonds are **eye-clean**, and cost far less than VVS or flawless stones. Step cuts
(emerald, Asscher) show inclusions more than brilliant cuts, so choose VS1 or better for them.
""",
    ),
    (
        "shipping",
        "Shipping and gift box",
        "Every order ships free and tracked, in a free gift box.",
        """\
## Free shipping on every order

There is no minimum: every order ships free, with tracking. A signature may be required on
delivery for high-value pieces.

## A free gift box

Every piece arrives in our gift box, ready to give. Loose stones travel in a sealed gem
case with their grading report.

## Tracking your order

You get an email with the tracking number as soon as your order ships. You can also follow it
under **Orders** in your account, or, without an account, on the order tracking page with your
order number and the email address you used.

## When will it arrive?

Each product page shows, size by size, whether a piece is in stock, low in stock or out of
stock. Pieces in stock ship first; anything else is made or sized to order.
""",
    ),
    (
        "faq",
        "Frequently asked questions",
        "Shipping, sizing, certificates, metals, age limit and your privacy.",
        """\
**Is shipping really free?**
Yes, on every order, with no minimum, and every order comes in a free gift box.

**How do I find my ring size?**
Measure a ring that fits the right finger, or ask a local jeweler to size you. Most women's
rings are between sizes 5 and 8 and men's between 8 and 12. Tungsten and titanium rings and
eternity bands cannot be resized, so check the size before ordering.

**Are your diamonds certified?**
Every loose diamond and gemstone comes with a grading report from an independent lab (GIA,
IGI, AGS, HRD or GCAL); its number is on the product page. Diamonds set in jewelry are
described by their 4Cs.

**What do 10k, 14k, 18k, 925 and 950 mean?**
The share of precious metal in the alloy: 10k is 41.7% gold, 14k is 58.5%, 18k is 75%.
Sterling silver (925) is 92.5% silver and platinum 950 is 95% platinum.

**Are lab-grown diamonds real diamonds?**
Yes. They are the same material as natural diamonds and are graded the same way; they cost
less. Each listing says whether a diamond is natural or lab-grown.

**How do I track my order?**
Sign in and open **Orders**, or use the order tracking page with your order number and email.

**Can I buy if I am under 18?**
No. You must be 18 or older to create an account, place an order, join the newsletter or
refer a friend.

**What do you do with my data?**
We use your name, email, mailing address and phone to process your order. We never sell,
share or trade them, except with the payment processor and the carrier, and only what they
need. You can opt out of marketing at any time, and ask us to correct or erase your data.
""",
    ),
)


# ---- loading ----


@dataclass
class SeedCounts:
    categories: int = 0
    products: int = 0
    published: int = 0
    variants: int = 0
    images: int = 0
    movements: int = 0
    pages: int = 0

    def summary(self) -> str:
        return (
            f"seeded {self.categories:,} categories, {self.products:,} products "
            f"({self.published:,} published), {self.variants:,} variants, "
            f"{self.images:,} images, {self.movements:,} stock movements, {self.pages:,} pages"
        )


@dataclass
class _Batch:
    products: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)


def slugify(text: str, max_length: int = 100) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("&", "and")).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0]
    return slug


def _value(member: Enum | None) -> str | None:
    """Rows carry the stored strings, not enum members: what COPY needs, and what the
    (non-native, validating) enum columns accept from executemany."""
    return None if member is None else str(member.value)


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


SKU_SIZES = {size: f"S{round(float(size) * 10):03d}" for size in WOMENS_SIZES + MENS_SIZES}


class CatalogBuilder:
    """Turns drafts into rows: ids, SKUs, stock, timestamps, publication and curation."""

    def __init__(self, *, products: int, seed: int, now: datetime) -> None:
        self.total = products
        self.rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
        self.ids = random.Random(seed + 1)  # noqa: S311 - ids apart, never shifting the data
        self.maker = Maker(self.rng)
        self.now = now
        self.start = now - timedelta(days=365)
        self.category_ids: dict[str, uuid.UUID] = {}
        self.top_of: dict[str, str] = {}
        self.curated: dict[str, int] = {}
        self.counts = SeedCounts()

    def new_id(self, millis: int) -> uuid.UUID:
        """A UUIDv7 (RFC 9562) stamped with the row's creation time (Unix ms).

        Time-ordered ids keep the primary-key and foreign-key indexes append-mostly, which
        makes a 100,000-product load several times faster on PostgreSQL than random ids.
        """
        rand = self.ids.getrandbits(74)
        value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
        return uuid.UUID(int=value | (rand & ((1 << 62) - 1)))

    def category_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(top-level rows, child rows): parents go in first."""
        tops, children = [], []
        when = self.start - timedelta(days=1)
        for position, top in enumerate(CATEGORY_TREE):
            tops.append(self._category_row(top, None, position, when))
            for child_position, child in enumerate(top.children):
                children.append(
                    self._category_row(child, self.category_ids[top.slug], child_position, when)
                )
        self.counts.categories = len(tops) + len(children)
        return tops, children

    def _category_row(
        self, spec: CategorySpec, parent_id: uuid.UUID | None, position: int, when: datetime
    ) -> dict[str, Any]:
        self.category_ids[spec.slug] = category_id = self.new_id(_millis(when))
        return {
            "id": category_id,
            "slug": spec.slug,
            "name": spec.name,
            "description": spec.description,
            "parent_id": parent_id,
            "position": position,
            "is_published": True,
            "created_at": when,
            "updated_at": when,
        }

    def page_rows(self, skip: set[str]) -> list[dict[str, Any]]:
        when = self.start - timedelta(days=1)
        rows = [
            {
                "id": self.new_id(_millis(when)),
                "slug": slug,
                "title": title,
                "summary": summary,
                "body": body,
                "is_published": True,
                "position": position,
                "created_at": when,
                "updated_at": when,
            }
            for position, (slug, title, summary, body) in enumerate(PAGES)
            if slug not in skip
        ]
        self.counts.pages = len(rows)
        return rows

    def assignments(self) -> list[CategorySpec]:
        """Which leaf category each product goes to, shuffled so the catalog grows evenly."""
        leaves = _leaves()
        for leaf, top in leaves:
            self.top_of[leaf.slug] = top.slug
        shares = allocate(self.total, [leaf.weight for leaf, _ in leaves])
        order = [
            leaf for (leaf, _), share in zip(leaves, shares, strict=True) for _ in range(share)
        ]
        self.rng.shuffle(order)
        return order

    def batches(self) -> Iterator[_Batch]:
        """Yield `_Batch`es of up to BATCH_PRODUCTS products, oldest first."""
        assignment = self.assignments()
        span_us = 365 * 24 * 3600 * 1_000_000
        step_us = max(span_us // max(self.total, 1), 1)
        batch = _Batch()
        for index, leaf in enumerate(assignment):
            # A slot per product, jittered inside it: distinct, increasing, spread over the year.
            created = self.start + timedelta(
                microseconds=index * step_us + self.rng.randrange(step_us)
            )
            self._add(batch, index + 1, leaf, created)
            if len(batch.products) >= BATCH_PRODUCTS:
                yield batch
                batch = _Batch()
        if batch.products:
            yield batch

    def _add(self, batch: _Batch, seq: int, leaf: CategorySpec, created: datetime) -> None:
        draft = self.maker.make(leaf.slug)
        millis = _millis(created)
        product_id = self.new_id(millis)
        base_sku = f"{leaf.sku_prefix}-{seq:06d}"
        if not draft.one_of_a_kind:
            purity = (
                draft.metal_purity.value[:2] if draft.metal in GOLDS and draft.metal_purity else ""
            )
            base_sku += f"-{purity}{METAL_CODES[draft.metal]}"
        published = self.rng.random() >= 0.02
        top = self.top_of[leaf.slug]
        curated_rank = None
        if published and self.curated.get(top, 0) < CURATED_PER_CATEGORY:
            curated_rank = self.curated[top] = self.curated.get(top, 0) + 1

        prices: list[int] = []
        for position, (ring_size, chain_cm, usd) in enumerate(draft.options):
            variant_id = self.new_id(millis)
            if draft.one_of_a_kind:
                stock, active = 1, True
            else:
                stock = self._stock()
                active = position == 0 or self.rng.random() >= 0.015
            sku = base_sku
            if ring_size is not None:
                sku += f"-{SKU_SIZES[ring_size]}"
            elif chain_cm is not None:
                sku += f"-{chain_cm}CM"
            price_minor = usd * 100
            if active:
                prices.append(price_minor)
            batch.variants.append(
                {
                    "id": variant_id,
                    "product_id": product_id,
                    "sku": sku,
                    "ring_size": ring_size,
                    "chain_length_cm": chain_cm,
                    "metal": None if draft.one_of_a_kind else draft.metal.value,
                    "price_minor": price_minor,
                    "currency": "USD",
                    "stock_on_hand": stock,
                    "is_active": active,
                    "position": position,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            if stock > 0:
                self.counts.movements += 1
                batch.movements.append(
                    {
                        "id": self.new_id(millis),
                        "variant_id": variant_id,
                        "delta": stock,
                        "stock_after": stock,
                        "reason": MovementReason.initial.value,
                        "note": "sample catalog",
                        "actor_account_id": None,
                        "created_at": created,
                    }
                )
        slug = f"{slugify(draft.name)}-{seq}"
        batch.products.append(
            {
                "id": product_id,
                "slug": slug,
                "name": draft.name,
                "description": draft.description,
                "category_id": self.category_ids[leaf.slug],
                "metal": draft.metal.value,
                "metal_purity": _value(draft.metal_purity),
                "stone_type": _value(draft.stone_type),
                "carat_points": draft.carat_points,
                "cut": _value(draft.cut),
                "color": draft.color,
                "clarity": _value(draft.clarity),
                "grading_lab": _value(draft.grading_lab),
                "certificate_number": draft.certificate_number,
                "is_published": published,
                "published_at": min(created + timedelta(hours=self.rng.randint(1, 48)), self.now)
                if published
                else None,
                "curated_rank": curated_rank,
                "price_from_minor": min(prices) if prices else None,
                "currency": "USD",
                "units_sold": 0,
                "created_at": created,
                "updated_at": created,
            }
        )
        batch.images.append(
            {
                "id": self.new_id(millis),
                "product_id": product_id,
                "url": f"{IMAGE_HOST}/products/{base_sku.lower()}/main.jpg",
                "alt_text": f"{draft.name}, front view"[:300],
                "position": 0,
            }
        )
        self.counts.products += 1
        self.counts.published += published
        self.counts.variants += len(draft.options)
        self.counts.images += 1

    def _stock(self) -> int:
        """Mostly a healthy count; a few low (1-2) and a few sold out."""
        roll = self.rng.random()
        if roll < 0.02:
            return 0
        if roll < 0.07:
            return 1 + int(roll * 1_000) % 2
        return 3 + int(roll * 1_000_000) % 10


async def catalog_is_empty(session: AsyncSession) -> bool:
    return await session.scalar(select(Category.id).limit(1)) is None


async def load(
    session: AsyncSession,
    *,
    products: int = DEFAULT_PRODUCTS,
    seed: int = RANDOM_SEED,
    now: datetime | None = None,
) -> SeedCounts:
    """Insert the sample catalog into an empty catalog, in the session's transaction."""
    if products < 0:
        raise ValueError("products must not be negative")
    builder = CatalogBuilder(
        products=products, seed=seed, now=(now or datetime.now(UTC)).replace(microsecond=0)
    )
    tops, children = builder.category_rows()
    await _insert(session, Category, tops)
    await _insert(session, Category, children)
    existing_pages = set(await session.scalars(select(Page.slug)))
    await _insert(session, Page, builder.page_rows(existing_pages))
    # The next batch is generated in a thread while the database stores this one.
    batches = builder.batches()
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await upcoming) is not None:
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            await _insert(session, Product, batch.products)
            await _insert(session, ProductImage, batch.images)
            await _insert(session, Variant, batch.variants)
            await _insert(session, InventoryMovement, batch.movements)
    finally:
        if not upcoming.done():
            await asyncio.wait([upcoming])
    # Fresh planner statistics: without them PostgreSQL sorts every matching product for
    # a filtered first page (63 ms instead of 0.4 ms at 100,000 products, measured), and
    # SQLite picks a poor index for category + price filters.
    for model in (Category, Product, Variant, ProductImage, InventoryMovement, Page):
        await session.execute(text(f"ANALYZE {model.__tablename__}"))
    return builder.counts


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = model.__table__
    if session.bind is not None and session.bind.dialect.driver == "asyncpg":
        # COPY on the session's own connection (so inside its transaction): about twice as
        # fast as executemany, which is what keeps 100,000 products under a minute.
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(
            table.name, records=[tuple(row.values()) for row in rows], columns=list(rows[0])
        )
        return
    # Core executemany on the mapped table: the ORM's bulk path adds nothing here (no
    # relationships, every column given) and costs about three times as much per row.
    await session.execute(insert(table), rows)
