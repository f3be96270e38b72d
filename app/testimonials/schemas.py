from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from app.core.schemas import Flag, InputModel, OutputModel, trimmed_text
from app.testimonials.models import TestimonialStatus


class TestimonialCreate(InputModel):
    title: trimmed_text(min_length=1, max_length=120)  # type: ignore[valid-type]
    body: trimmed_text(min_length=1, max_length=4000)  # type: ignore[valid-type]
    rating: int = Field(ge=1, le=5, strict=True)
    product_id: uuid.UUID | None = None
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

    id: uuid.UUID
    title: str
    body: str
    rating: int
    product_id: uuid.UUID | None
    verified_purchase: bool
    author: str = Field(description="The customer's name while they consent, else a label.")
    created_at: datetime


class MyTestimonial(OutputModel):
    id: uuid.UUID
    title: str
    body: str
    rating: int
    product_id: uuid.UUID | None
    verified_purchase: bool
    status: TestimonialStatus
    created_at: datetime


class TestimonialDecision(InputModel):
    status: Literal["approved", "rejected"]


class AdminTestimonial(MyTestimonial):
    account_id: uuid.UUID
