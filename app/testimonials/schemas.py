from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.core.schemas import Flag, InputModel, OutputModel, examples, trimmed_text
from app.testimonials.models import TestimonialStatus

_CREATE = {
    "title": "Exactly the ring she wanted",
    "body": "The halo ring arrived in two days, in a lovely box, and fits perfectly.",
    "rating": 5,
    "product_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "show_name": True,
    "is_adult": True,
}
_MINE = {
    "id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
    "title": _CREATE["title"],
    "body": _CREATE["body"],
    "rating": 5,
    "product_id": _CREATE["product_id"],
    "verified_purchase": True,
    "status": "approved",
    "created_at": "2026-11-27T19:03:00Z",
}
_READ = {
    **{k: v for k, v in _MINE.items() if k != "status"},
    "author": "Ada L.",
}
_ADMIN = {**_MINE, "account_id": "5b0e6a52-3f0e-4a43-9d36-1c3a8f0b7e21"}


class TestimonialCreate(InputModel):
    """A review of the store or of a product, from a signed-in customer, 18 or over. It is published
    once staff approve it; the name is shown only with consent (P5)."""

    model_config = examples(_CREATE)

    title: trimmed_text(min_length=1, max_length=120)  # type: ignore[valid-type]
    """A headline, plain text, 1-120 characters."""
    body: trimmed_text(min_length=1, max_length=4000)  # type: ignore[valid-type]
    """The review, plain text, 1-4,000 characters."""
    rating: int = Field(ge=1, le=5, strict=True)
    """Stars, from 1 to 5 (an integer)."""
    product_id: uuid.UUID | None = None
    """The product reviewed, if any; a review of a product the customer bought is marked
    `verified_purchase`."""
    show_name: Flag = Field(
        default=False,
        description="Show your name with it: recorded as the `testimonial_name` consent "
        "(P5), which you can withdraw at any time to hide it.",
    )
    is_adult: Flag = Field(
        description="An 18+ attestation (P9); a minor's submission stores nothing."
    )


class TestimonialRead(OutputModel):
    """Plain text: clients render title and body as text, never as HTML."""

    model_config = examples(_READ)

    id: uuid.UUID
    """The testimonial's id."""
    title: str
    """The headline."""
    body: str
    """The review."""
    rating: int
    """Stars, from 1 to 5."""
    product_id: uuid.UUID | None
    """The product reviewed, or null for the store."""
    verified_purchase: bool
    """Whether the author bought the product reviewed."""
    author: str = Field(description="The customer's name while they consent, else a label.")
    created_at: datetime
    """When it was written (UTC)."""


class MyTestimonial(OutputModel):
    """A testimonial the signed-in customer wrote, whatever its moderation status."""

    model_config = examples(_MINE)

    id: uuid.UUID
    """The testimonial's id."""
    title: str
    """The headline."""
    body: str
    """The review."""
    rating: int
    """Stars, from 1 to 5."""
    product_id: uuid.UUID | None
    """The product reviewed, or null."""
    verified_purchase: bool
    """Whether the author bought the product reviewed."""
    status: TestimonialStatus
    """Where moderation stands."""
    created_at: datetime
    """When it was written (UTC)."""


class TestimonialDecision(InputModel):
    """A moderation decision (staff): `approved` publishes the testimonial, `rejected` keeps it
    hidden."""

    model_config = examples({"status": "approved"})

    status: Literal["approved", "rejected"]
    """`approved` or `rejected`."""


class AdminTestimonial(MyTestimonial):
    """A testimonial as staff see it in moderation, with its author's account."""

    model_config = examples(_ADMIN)

    account_id: uuid.UUID
    """The author's account id."""
