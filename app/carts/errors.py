from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class CartNotFound(NotFound):
    type = "cart-not-found"
    title = "Cart not found"


class CartLineNotFound(NotFound):
    type = "cart-line-not-found"
    title = "Cart line not found"


class VariantUnavailable(Conflict):
    type = "variant-unavailable"
    title = "This item is not for sale"


class InsufficientStock(Conflict):
    type = "insufficient-stock"
    title = "Not enough stock"


class QuantityLimit(AppError):
    status = 422
    type = "quantity-limit"
    title = "Quantity out of range"


class CartEmpty(Conflict):
    type = "cart-empty"
    title = "The cart is empty"
