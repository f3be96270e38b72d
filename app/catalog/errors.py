from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class CategoryNotFound(NotFound):
    type = "category-not-found"
    title = "Category not found"


class ProductNotFound(NotFound):
    type = "product-not-found"
    title = "Product not found"


class VariantNotFound(NotFound):
    type = "variant-not-found"
    title = "Variant not found"


class ImageNotFound(NotFound):
    type = "image-not-found"
    title = "Image not found"


class PageNotFound(NotFound):
    type = "page-not-found"
    title = "Page not found"


class SlugTaken(Conflict):
    type = "slug-taken"
    title = "This slug is already used"


class SkuTaken(Conflict):
    type = "sku-taken"
    title = "This SKU is already used"


class InvalidFilter(AppError):
    status = 422
    type = "invalid-filter"
    title = "Invalid filter value"


class CategoryCycle(Conflict):
    type = "category-cycle"
    title = "A category cannot be its own ancestor"


class CategoryInUse(Conflict):
    type = "category-in-use"
    title = "The category still has products or subcategories"


class NotPublishable(Conflict):
    type = "not-publishable"
    title = "The product needs an active variant with a price before it can be published"


class ProductOrdered(Conflict):
    type = "product-ordered"
    title = "A product that has been ordered is unpublished, never deleted"


class CurrencyNotAccepted(AppError):
    status = 422
    type = "currency-not-accepted"
    title = "Prices must be in the store's currency"
