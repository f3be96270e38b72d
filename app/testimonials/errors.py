from __future__ import annotations

from app.core.errors import AppError, NotFound


class UnknownProduct(AppError):
    status = 422
    type = "unknown-product"
    title = "No product has this id"
    description = "No product has the `product_id` given."


class TestimonialNotFound(NotFound):
    type = "testimonial-not-found"
    title = "No such testimonial"
    description = "No testimonial has this id, or it is not the caller's."
