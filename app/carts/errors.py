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


class CartCheckedOut(Conflict):
    type = "cart-checked-out"
    title = "This cart has already been turned into an order"


class CartLineLimit(Conflict):
    type = "cart-line-limit"
    title = "The cart holds as many different items as it may"


class CurrencyMismatch(Conflict):
    type = "currency-mismatch"
    title = "The cart holds items priced in another currency"
    # Raised when a cart is priced, which also answers line edits: a removal that leaves
    # other foreign-currency lines must still stick, or the cart could never be fixed.
    commit_changes = True
