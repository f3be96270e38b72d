from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class CartNotFound(NotFound):
    type = "cart-not-found"
    title = "Cart not found"
    description = (
        "No cart has this id, or it belongs to another customer (carts are reported "
        "alike, so ids leak nothing)."
    )


class CartLineNotFound(NotFound):
    type = "cart-line-not-found"
    title = "Cart line not found"
    description = "The cart has no line with this id."


class VariantUnavailable(Conflict):
    type = "variant-unavailable"
    title = "This item is not for sale"
    description = "The variant is not for sale (inactive, or its product is unpublished)."


class InsufficientStock(Conflict):
    type = "insufficient-stock"
    title = "Not enough stock"
    description = (
        "The quantity asked is more than the stock on hand; `detail` says how many are left."
    )


class QuantityLimit(AppError):
    status = 422
    type = "quantity-limit"
    title = "Quantity out of range"
    description = "A line's quantity is outside the allowed range (1 to the per-line maximum)."


class CartEmpty(Conflict):
    type = "cart-empty"
    title = "The cart is empty"
    description = "An empty cart cannot be checked out."


class CartCheckedOut(Conflict):
    type = "cart-checked-out"
    title = "This cart has already been turned into an order"
    description = "The cart has already become an order; create a new cart."


class CartLineLimit(Conflict):
    type = "cart-line-limit"
    title = "The cart holds as many different items as it may"
    description = "The cart holds as many different items as it may; remove one first."


class CurrencyMismatch(Conflict):
    type = "currency-mismatch"
    title = "The cart holds items priced in another currency"
    description = (
        "The cart holds items priced in a currency other than the store's; remove them to go on."
    )
    # Raised when a cart is priced, which also answers line edits: a removal that leaves
    # other foreign-currency lines must still stick, or the cart could never be fixed.
    commit_changes = True
