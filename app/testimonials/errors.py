from __future__ import annotations

from app.core.errors import AppError, NotFound


class TestimonialAgeRestricted(AppError):
    status = 422
    type = "age-restricted"
    title = "Facet does not collect testimonials from persons under 18"


class UnknownProduct(AppError):
    status = 422
    type = "unknown-product"
    title = "No product has this id"


class TestimonialNotFound(NotFound):
    type = "testimonial-not-found"
    title = "No such testimonial"
