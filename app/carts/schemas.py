from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field

from app.carts.models import MAX_LINE_QUANTITY
from app.catalog.schemas import Availability
from app.core.schemas import InputModel, OutputModel

Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_LINE_QUANTITY)]


class CartLineCreate(InputModel):
    variant_id: uuid.UUID
    quantity: Quantity = 1


class CartLineUpdate(InputModel):
    quantity: Quantity


class TotalsRead(OutputModel):
    currency: str
    subtotal_minor: int
    shipping_minor: int = Field(description="Always 0: every order ships free.")
    gift_box_minor: int = Field(description="Always 0: every order comes in a free gift box.")
    gift_box: bool = True
    tax_minor: int
    total_minor: int


class CartLineRead(OutputModel):
    id: uuid.UUID
    variant_id: uuid.UUID
    product_slug: str
    product_name: str
    sku: str
    ring_size: str | None
    chain_length_cm: int | None
    unit_price_minor: int
    quantity: int
    line_total_minor: int
    currency: str
    availability: Availability


class CartRead(OutputModel):
    id: uuid.UUID
    items: list[CartLineRead]
    totals: TotalsRead


class CartClaim(InputModel):
    cart_id: uuid.UUID
