from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class CategoryNotFound(NotFound):
    type = "category-not-found"
    title = "Category not found"
    description = "No category has this slug or id (or it is not published)."


class ProductNotFound(NotFound):
    type = "product-not-found"
    title = "Product not found"
    description = "No published product has this slug or id; staff see unpublished ones too."


class VariantNotFound(NotFound):
    type = "variant-not-found"
    title = "Variant not found"
    description = (
        "No variant (a purchasable size or option of a product) has this id, or it is not for sale."
    )


class ImageNotFound(NotFound):
    type = "image-not-found"
    title = "Image not found"
    description = "The product has no image with this id."


class PageNotFound(NotFound):
    type = "page-not-found"
    title = "Page not found"
    description = "No content page (FAQ, guide) has this slug."


class SlugTaken(Conflict):
    type = "slug-taken"
    title = "This slug is already used"
    description = "Another category, product or page already uses this slug; slugs are unique."


class SkuTaken(Conflict):
    type = "sku-taken"
    title = "This SKU is already used"
    description = "Another variant already uses this SKU; SKUs are unique."


class InvalidFilter(AppError):
    status = 422
    type = "invalid-filter"
    title = "Invalid filter value"
    description = (
        "A catalog filter is inconsistent or names nothing: a minimum above its maximum, "
        "an unknown category, or a cursor from another sort order. `parameter` names it."
    )
    extension_members = {
        "parameter": {
            "type": "string",
            "description": "The parameter at fault.",
            "examples": ["min_price"],
        }
    }


class CategoryCycle(Conflict):
    type = "category-cycle"
    title = "A category cannot be its own ancestor"
    description = "Moving the category under this parent would make it its own ancestor."


class CategoryInUse(Conflict):
    type = "category-in-use"
    title = "The category still has products or subcategories"
    description = (
        "A category that still holds products or subcategories cannot be deleted; move them first."
    )


class NotPublishable(Conflict):
    type = "not-publishable"
    title = "The product needs an active variant with a price before it can be published"
    description = "A product is published only once it has an active variant with a price."


class ProductOrdered(Conflict):
    type = "product-ordered"
    title = "A product that has been ordered is unpublished, never deleted"
    description = (
        "A product that has been ordered is kept for the order records: unpublish it "
        "instead of deleting it."
    )


class CurrencyNotAccepted(AppError):
    status = 422
    type = "currency-not-accepted"
    title = "Prices must be in the store's currency"
    description = "Prices are in the store's single currency (`currency` names it)."
    extension_members = {
        "currency": {
            "type": "string",
            "description": "The store's currency (ISO 4217).",
            "examples": ["USD"],
        }
    }
