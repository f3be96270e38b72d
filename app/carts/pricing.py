"""Totals for a set of lines: subtotal, free shipping, free gift box, tax, total."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.core.settings import Settings


class TaxCalculator(Protocol):
    def tax_for(self, subtotal_minor: int, *, country: str | None) -> int: ...


@dataclass(frozen=True)
class FlatRateTax:
    rate_bps: int  # basis points: 825 = 8.25 %

    def tax_for(self, subtotal_minor: int, *, country: str | None) -> int:
        # Round half up on integer minor units: no floats anywhere in money.
        return (subtotal_minor * self.rate_bps + 5_000) // 10_000


def tax_calculator(settings: Settings) -> TaxCalculator:
    return FlatRateTax(settings.tax_rate_bps)


@dataclass(frozen=True)
class CartRules:
    """What the store's settings say about carts: how they are priced and how big they
    may grow."""

    tax: TaxCalculator
    currency: str
    max_lines: int
    max_units: int


def cart_rules(settings: Settings) -> CartRules:
    return CartRules(
        tax=tax_calculator(settings),
        currency=settings.currency,
        max_lines=settings.cart_max_lines,
        max_units=settings.order_max_units,
    )


@dataclass(frozen=True)
class Totals:
    currency: str
    subtotal_minor: int
    shipping_minor: int
    gift_box_minor: int
    tax_minor: int
    total_minor: int


def compute_totals(
    line_totals: list[int], *, currency: str, tax: TaxCalculator, country: str | None = None
) -> Totals:
    subtotal = sum(line_totals)
    tax_minor = tax.tax_for(subtotal, country=country)
    # Every order ships free and comes in a free gift box.
    return Totals(
        currency=currency,
        subtotal_minor=subtotal,
        shipping_minor=0,
        gift_box_minor=0,
        tax_minor=tax_minor,
        total_minor=subtotal + tax_minor,
    )
