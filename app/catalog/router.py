from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BeforeValidator

from app.accounts.deps import StaffAccount
from app.catalog import admin, service
from app.catalog.deps import (
    CatalogReaderDep,
    CategoryDep,
    PageDep,
    ProductDep,
    RecentSalesDep,
    VariantDep,
)
from app.catalog.errors import (
    CategoryCycle,
    CategoryInUse,
    CategoryNotFound,
    CurrencyNotAccepted,
    ImageNotFound,
    InvalidFilter,
    NotPublishable,
    PageNotFound,
    ProductNotFound,
    ProductOrdered,
    SkuTaken,
    SlugTaken,
    VariantNotFound,
)
from app.catalog.models import DiamondClarity, DiamondColor, DiamondCut, Metal, StoneType
from app.catalog.schemas import (
    CategoryAdminRead,
    CategoryCreate,
    CategoryDetail,
    CategoryNode,
    CategoryUpdate,
    ImageCreate,
    ImageRead,
    InventoryMovementRead,
    PageAdminRead,
    PageCreate,
    PageRead,
    PageSummary,
    PageUpdate,
    ProductAdminRead,
    ProductCreate,
    ProductDetail,
    ProductPage,
    ProductSlug,
    ProductSort,
    ProductSummary,
    ProductUpdate,
    Slug,
    StockSet,
    VariantAdminRead,
    VariantCreate,
    VariantUpdate,
)
from app.core.deps import SessionDep, SettingsDep
from app.core.http_cache import NOT_MODIFIED
from app.core.pagination import Cursor, InvalidCursor
from app.core.problems import problem_responses
from app.core.routing import FacetRoute
from app.core.schemas import Page

public_router = APIRouter(tags=["catalog"], route_class=FacetRoute)
admin_router = APIRouter(prefix="/admin", tags=["admin"], route_class=FacetRoute)


def _former_metal_name(value: object) -> object:
    return Metal.yellow_gold.value if value == "gold" else value


MetalFilter = Annotated[Metal, BeforeValidator(_former_metal_name)]


# Dependencies here are `async def`: FastAPI runs a plain `def` one in its thread pool,
# a hop that cost more than the rest of a cached catalog read.
async def product_filters(
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Text search.")
    ] = None,
    category: Annotated[
        Slug | None, Query(description="Category slug; includes its subcategories.")
    ] = None,
    metal: Annotated[
        list[MetalFilter] | None,
        Query(description="`yellow_gold` was once `gold`; that value is still taken."),
    ] = None,
    stone: Annotated[list[StoneType] | None, Query()] = None,
    cut: Annotated[list[DiamondCut] | None, Query()] = None,
    color: Annotated[list[DiamondColor] | None, Query()] = None,
    clarity: Annotated[list[DiamondClarity] | None, Query()] = None,
    min_price: Annotated[int | None, Query(ge=0, le=10**10, description="Minor units.")] = None,
    max_price: Annotated[int | None, Query(ge=0, le=10**10, description="Minor units.")] = None,
    min_carat: Annotated[Decimal | None, Query(ge=0, le=100, decimal_places=2)] = None,
    max_carat: Annotated[Decimal | None, Query(ge=0, le=100, decimal_places=2)] = None,
    in_stock: Annotated[bool | None, Query(description="Only products with stock.")] = None,
) -> service.ProductFilters:
    return service.ProductFilters(
        q=q,
        category=category,
        metal=metal or [],
        stone=stone or [],
        cut=cut or [],
        color=list(color or []),
        clarity=clarity or [],
        min_price=min_price,
        max_price=max_price,
        min_carat=min_carat,
        max_carat=max_carat,
        in_stock=in_stock,
    )


# ---- public ----


@public_router.get(
    "/categories",
    operation_id="listCategories",
    summary="List categories",
    response_model=list[CategoryNode],
    responses=NOT_MODIFIED,
)
async def list_categories(catalog: CatalogReaderDep) -> Response:
    """The category tree, each node with its published product count (subcategories included)."""
    return await catalog.respond(lambda tree: service.category_tree(catalog.session, tree))


@public_router.get(
    "/categories/{slug}",
    operation_id="getCategory",
    summary="Get a category",
    response_model=CategoryDetail,
    responses={**problem_responses(CategoryNotFound), **NOT_MODIFIED},
)
async def get_category(catalog: CatalogReaderDep, slug: Annotated[Slug, Path()]) -> Response:
    """One category with its breadcrumbs and subcategories."""
    return await catalog.respond(lambda tree: service.category_detail(catalog.session, tree, slug))


@public_router.get(
    "/products",
    operation_id="listProducts",
    summary="List products",
    response_model=ProductPage,
    responses={**problem_responses(InvalidCursor, InvalidFilter), **NOT_MODIFIED},
)
async def list_products(
    catalog: CatalogReaderDep,
    filters: Annotated[service.ProductFilters, Depends(product_filters)],
    sort: ProductSort = ProductSort.newest,
    limit: Annotated[int, Query(ge=1, le=100)] = 24,
    cursor: Cursor = None,
) -> Response:
    """Search and filter published products; cursor-paginated and stable under inserts."""
    return await catalog.respond(
        lambda tree: service.search_products(
            catalog.session, tree, filters, sort=sort, limit=limit, cursor=cursor
        )
    )


@public_router.get(
    "/products/top",
    operation_id="listTopProducts",
    summary="List top-selling products",
    response_model=list[ProductSummary],
    responses={**problem_responses(InvalidFilter), **NOT_MODIFIED},
)
async def list_top_products(
    catalog: CatalogReaderDep,
    recent_sales: RecentSalesDep,
    category: Annotated[Slug | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """The store's top sellers, falling back to the staff-curated ranking."""
    return await catalog.respond(
        lambda tree: service.top_products(
            catalog.session, tree, category=category, limit=limit, recent_sales=recent_sales
        )
    )


@public_router.get(
    "/products/{slug}",
    operation_id="getProduct",
    summary="Get a product",
    response_model=ProductDetail,
    responses={**problem_responses(ProductNotFound), **NOT_MODIFIED},
)
async def get_product(catalog: CatalogReaderDep, slug: Annotated[ProductSlug, Path()]) -> Response:
    """A published product with its variants' availability, images and breadcrumbs."""
    return await catalog.respond(lambda tree: service.product_detail(catalog.session, tree, slug))


@public_router.get(
    "/pages",
    operation_id="listPages",
    summary="List content pages",
    response_model=list[PageSummary],
    responses=NOT_MODIFIED,
)
async def list_pages(catalog: CatalogReaderDep) -> Response:
    """Guides and help pages (diamond 4Cs, FAQ, shipping, about)."""
    return await catalog.respond(lambda _: service.list_pages(catalog.session))


@public_router.get(
    "/pages/{slug}",
    operation_id="getPage",
    summary="Get a content page",
    response_model=PageRead,
    responses={**problem_responses(PageNotFound), **NOT_MODIFIED},
)
async def get_page(catalog: CatalogReaderDep, slug: Annotated[Slug, Path()]) -> Response:
    """One published guide or help page."""
    return await catalog.respond(lambda _: service.page_detail(catalog.session, slug))


# ---- staff ----


@admin_router.post(
    "/categories",
    status_code=201,
    operation_id="adminCreateCategory",
    summary="Create a category",
    responses=problem_responses(CategoryNotFound, SlugTaken),
)
async def admin_create_category(
    session: SessionDep, _: StaffAccount, body: CategoryCreate
) -> CategoryAdminRead:
    """Create a category, optionally under a parent."""
    return CategoryAdminRead.model_validate(await admin.create_category(session, body))


@admin_router.patch(
    "/categories/{slug}",
    operation_id="adminUpdateCategory",
    summary="Update a category",
    responses=problem_responses(CategoryCycle, CategoryNotFound),
)
async def admin_update_category(
    session: SessionDep, _: StaffAccount, category: CategoryDep, body: CategoryUpdate
) -> CategoryAdminRead:
    """Rename, move, reorder, publish or unpublish a category."""
    return CategoryAdminRead.model_validate(await admin.update_category(session, category, body))


@admin_router.delete(
    "/categories/{slug}",
    status_code=204,
    operation_id="adminDeleteCategory",
    summary="Delete a category",
    responses=problem_responses(CategoryInUse),
)
async def admin_delete_category(
    session: SessionDep, _: StaffAccount, category: CategoryDep
) -> Response:
    """Delete an empty category (no products, no subcategories)."""
    await admin.delete_category(session, category)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.get(
    "/products",
    operation_id="adminListProducts",
    summary="List products, published or not",
    responses=problem_responses(InvalidCursor),
)
async def admin_list_products(
    session: SessionDep,
    _: StaffAccount,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> Page[ProductAdminRead]:
    """Every product, published or not, oldest first."""
    rows, next_cursor = await admin.list_products(session, limit=limit, cursor=cursor)
    return Page[ProductAdminRead](
        items=[await admin.admin_view(session, p) for p in rows], next_cursor=next_cursor
    )


@admin_router.post(
    "/products",
    status_code=201,
    operation_id="adminCreateProduct",
    summary="Create a product",
    responses=problem_responses(CategoryNotFound, CurrencyNotAccepted, SkuTaken, SlugTaken),
)
async def admin_create_product(
    session: SessionDep, settings: SettingsDep, staff: StaffAccount, body: ProductCreate
) -> ProductAdminRead:
    """Create an unpublished product, with its variants and initial stock. Prices are in
    the store's currency (`FACET_CURRENCY`); any other currency is refused (422)."""
    product = await admin.create_product(session, staff, body, currency=settings.currency)
    return await admin.admin_view(session, product)


@admin_router.get(
    "/products/{product_id}",
    operation_id="adminGetProduct",
    summary="Get a product, published or not",
)
async def admin_get_product(
    session: SessionDep, _: StaffAccount, product: ProductDep
) -> ProductAdminRead:
    """A product with its exact stock counts."""
    return await admin.admin_view(session, product)


@admin_router.patch(
    "/products/{product_id}",
    operation_id="adminUpdateProduct",
    summary="Update a product",
    responses=problem_responses(CategoryNotFound),
)
async def admin_update_product(
    session: SessionDep, _: StaffAccount, product: ProductDep, body: ProductUpdate
) -> ProductAdminRead:
    """Edit a product's text, category, metal, attributes or curated rank."""
    await admin.update_product(session, product, body)
    return await admin.admin_view(session, product)


@admin_router.post(
    "/products/{product_id}/publish",
    operation_id="adminPublishProduct",
    summary="Publish a product",
    responses=problem_responses(NotPublishable),
)
async def admin_publish_product(
    session: SessionDep, _: StaffAccount, product: ProductDep
) -> ProductAdminRead:
    """Publish a product (it needs an active variant)."""
    await admin.set_published(session, product, True)
    return await admin.admin_view(session, product)


@admin_router.post(
    "/products/{product_id}/unpublish",
    operation_id="adminUnpublishProduct",
    summary="Unpublish a product",
)
async def admin_unpublish_product(
    session: SessionDep, _: StaffAccount, product: ProductDep
) -> ProductAdminRead:
    """Hide a product from the public catalog."""
    await admin.set_published(session, product, False)
    return await admin.admin_view(session, product)


@admin_router.delete(
    "/products/{product_id}",
    status_code=204,
    operation_id="adminDeleteProduct",
    summary="Delete a product",
    responses=problem_responses(ProductOrdered),
)
async def admin_delete_product(
    session: SessionDep, _: StaffAccount, product: ProductDep
) -> Response:
    """Delete a product never ordered; an ordered one can only be unpublished (409)."""
    await admin.delete_product(session, product)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.post(
    "/products/{product_id}/variants",
    status_code=201,
    operation_id="adminCreateVariant",
    summary="Add a variant to a product",
    responses=problem_responses(CurrencyNotAccepted, SkuTaken),
)
async def admin_create_variant(
    session: SessionDep,
    settings: SettingsDep,
    staff: StaffAccount,
    product: ProductDep,
    body: VariantCreate,
) -> VariantAdminRead:
    """Add a variant (size, length or metal option) with its price and initial stock, in
    the store's currency (`FACET_CURRENCY`); any other currency is refused (422)."""
    variant = await admin.add_variant(session, staff, product, body, currency=settings.currency)
    return VariantAdminRead.model_validate(variant)


@admin_router.patch(
    "/variants/{variant_id}",
    operation_id="adminUpdateVariant",
    summary="Update a variant",
)
async def admin_update_variant(
    session: SessionDep, _: StaffAccount, variant: VariantDep, body: VariantUpdate
) -> VariantAdminRead:
    """Change a variant's options, price or active flag (stock has its own operation)."""
    return VariantAdminRead.model_validate(await admin.update_variant(session, variant, body))


@admin_router.put(
    "/variants/{variant_id}/stock",
    operation_id="adminSetVariantStock",
    summary="Set a variant's stock",
    responses=problem_responses(VariantNotFound),
)
async def admin_set_stock(
    session: SessionDep, staff: StaffAccount, variant_id: uuid.UUID, body: StockSet
) -> VariantAdminRead:
    """Set a variant's stock on hand, with a reason recorded in the inventory ledger."""
    return VariantAdminRead.model_validate(await admin.set_stock(session, staff, variant_id, body))


@admin_router.get(
    "/variants/{variant_id}/movements",
    operation_id="adminListInventoryMovements",
    summary="List a variant's stock movements",
)
async def admin_list_movements(
    session: SessionDep, _: StaffAccount, variant: VariantDep
) -> list[InventoryMovementRead]:
    """The variant's inventory ledger, newest first (at most 200 entries)."""
    movements = await admin.list_movements(session, variant)
    return [InventoryMovementRead.model_validate(m) for m in movements]


@admin_router.post(
    "/products/{product_id}/images",
    status_code=201,
    operation_id="adminAddProductImage",
    summary="Add an image to a product",
)
async def admin_add_image(
    session: SessionDep, _: StaffAccount, product: ProductDep, body: ImageCreate
) -> ImageRead:
    """Attach an image (HTTPS URL, alt text, position)."""
    return ImageRead.model_validate(await admin.add_image(session, product, body))


@admin_router.delete(
    "/images/{image_id}",
    status_code=204,
    operation_id="adminDeleteProductImage",
    summary="Delete a product image",
    responses=problem_responses(ImageNotFound),
)
async def admin_delete_image(session: SessionDep, _: StaffAccount, image_id: uuid.UUID) -> Response:
    """Remove an image."""
    await admin.delete_image(session, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@admin_router.post(
    "/pages",
    status_code=201,
    operation_id="adminCreatePage",
    summary="Create a content page",
    responses=problem_responses(SlugTaken),
)
async def admin_create_page(
    session: SessionDep, _: StaffAccount, body: PageCreate
) -> PageAdminRead:
    """Create a content page (unpublished unless `is_published`)."""
    return PageAdminRead.model_validate(await admin.create_page(session, body))


@admin_router.patch(
    "/pages/{slug}",
    operation_id="adminUpdatePage",
    summary="Update a content page",
)
async def admin_update_page(
    session: SessionDep, _: StaffAccount, page: PageDep, body: PageUpdate
) -> PageAdminRead:
    """Edit or publish a content page."""
    return PageAdminRead.model_validate(await admin.update_page(session, page, body))


@admin_router.delete(
    "/pages/{slug}",
    status_code=204,
    operation_id="adminDeletePage",
    summary="Delete a content page",
)
async def admin_delete_page(session: SessionDep, _: StaffAccount, page: PageDep) -> Response:
    """Delete a content page."""
    await admin.delete_page(session, page)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
