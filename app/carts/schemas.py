from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from app.carts.models import MAX_LINE_QUANTITY
from app.catalog.schemas import Availability
from app.core.schemas import InputModel, OutputModel, examples

Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)]

_CART_ID = "9f1c4e2a-7b3d-4c5e-8f60-1a2b3c4d5e6f"
_VARIANT_ID = "3e8a1f0c-5d2b-4a7e-9c61-0b2d4f6a8c90"


class CartLineCreate(InputModel):
    """A variant to put in the cart (`POST /v1/carts/{cart_id}/items`).

    Adding a variant already in the cart adds to that line's quantity.
    """

    model_config = examples({"variant_id": _VARIANT_ID, "quantity": 1})

    variant_id: uuid.UUID
    """The variant (metal, size...) to buy, from a product's `variants[].id`."""
    quantity: Quantity = 1
    """How many pieces, 1-10 per line, and never more than are available; an integer
    (`"2"` or `2.0` are refused)."""


class CartLineUpdate(InputModel):
    """A line's new quantity (`PATCH /v1/carts/{cart_id}/items/{item_id}`)."""

    model_config = examples({"quantity": 2})

    quantity: Quantity
    """The new number of pieces, 1-10; remove the line with `DELETE` instead of sending 0."""


_TOTALS = {
    "currency": "USD",
    "subtotal_minor": 189900,
    "shipping_minor": 0,
    "gift_box_minor": 0,
    "gift_box": True,
    "tax_minor": 0,
    "total_minor": 189900,
}


class TotalsRead(OutputModel):
    """What a cart or order costs. Amounts are integers in minor units (cents for USD)."""

    model_config = examples(_TOTALS)

    currency: str
    """ISO 4217 code of every amount here; the store has one currency (e.g. `USD`)."""
    subtotal_minor: int
    """The sum of the lines' totals, in minor units."""
    shipping_minor: int = Field(description="Always 0: every order ships free.")
    gift_box_minor: int = Field(description="Always 0: every order comes in a free gift box.")
    gift_box: bool = True
    """Always true: every order is packed in a gift box."""
    tax_minor: int
    """Sales tax at the store's flat rate, in minor units (0 where no tax is charged)."""
    total_minor: int
    """What the customer pays: subtotal + shipping + gift box + tax, in minor units."""


_LINE = {
    "id": "b7d3e1f2-4a5c-4e6f-8a9b-0c1d2e3f4a5b",
    "variant_id": _VARIANT_ID,
    "product_slug": "halo-engagement-ring-14k-white-gold",
    "product_name": "Halo Engagement Ring, 14k White Gold",
    "sku": "ENG-HALO-14KW-065",
    "ring_size": "6.5",
    "chain_length_cm": None,
    "unit_price_minor": 189900,
    "quantity": 1,
    "line_total_minor": 189900,
    "currency": "USD",
    "availability": "in_stock",
}


class CartLineRead(OutputModel):
    """One line of a cart: a variant, its current price and how many pieces."""

    model_config = examples(_LINE)

    id: uuid.UUID
    """The line's id, used in `/v1/carts/{cart_id}/items/{item_id}`."""
    variant_id: uuid.UUID
    """The variant in this line."""
    product_slug: str
    """The product's slug, for a link to `GET /v1/products/{slug}`."""
    product_name: str
    """The product's display name."""
    sku: str
    """The variant's stock-keeping unit code."""
    ring_size: str | None
    """The ring size (US sizes, e.g. `6.5`), or null when the piece is not a ring."""
    chain_length_cm: int | None
    """The chain length in centimetres, or null when the piece has no chain."""
    unit_price_minor: int
    """The price of one piece now, in minor units; refreshed from the catalog on every read."""
    quantity: int
    """How many pieces, 1-10."""
    line_total_minor: int
    """`unit_price_minor` x `quantity`, in minor units."""
    currency: str
    """ISO 4217 currency code of the amounts."""
    availability: Availability
    """How much of the variant is left; checkout fails while a line asks for more pieces
    than are available."""


class CartRead(OutputModel):
    """A shopping cart with its lines and totals. Guests keep its `id` (and the session
    cookie set on creation); a signed-in customer has one cart of their own."""

    model_config = examples({"id": _CART_ID, "items": [_LINE], "totals": _TOTALS})

    id: uuid.UUID
    """The cart's id, used in `/v1/carts/{cart_id}` and sent to checkout."""
    items: list[CartLineRead]
    """The lines, oldest first; empty for a new cart."""
    totals: TotalsRead
    """What the cart costs now."""


class CartClaim(InputModel):
    """A guest cart to merge into the signed-in customer's cart, e.g. right after login."""

    model_config = examples({"cart_id": _CART_ID})

    cart_id: uuid.UUID
    """The guest cart's id; the guest cart is deleted once merged."""
