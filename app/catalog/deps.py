from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from app.catalog import admin
from app.catalog.errors import CategoryNotFound, PageNotFound, ProductNotFound, VariantNotFound
from app.catalog.models import Category, Page, Product, Variant
from app.catalog.schemas import Slug
from app.catalog.service import RecentSales
from app.core.deps import SessionDep
from app.core.problems import raises


@raises(CategoryNotFound)
async def get_category(session: SessionDep, slug: Annotated[Slug, Path()]) -> Category:
    return await admin.get_category_by_slug(session, slug)


@raises(ProductNotFound)
async def get_product(session: SessionDep, product_id: uuid.UUID) -> Product:
    return await admin.load_product(session, product_id)


@raises(VariantNotFound)
async def get_variant(session: SessionDep, variant_id: uuid.UUID) -> Variant:
    return await admin.get_variant(session, variant_id)


@raises(PageNotFound)
async def get_page(session: SessionDep, slug: Annotated[Slug, Path()]) -> Page:
    return await admin.get_page(session, slug)


CategoryDep = Annotated[Category, Depends(get_category)]
ProductDep = Annotated[Product, Depends(get_product)]
VariantDep = Annotated[Variant, Depends(get_variant)]
PageDep = Annotated[Page, Depends(get_page)]


def get_recent_sales(request: Request) -> RecentSales:
    """The sales query the application wired in (the orders domain's)."""
    recent_sales: RecentSales = request.app.state.recent_sales
    return recent_sales


RecentSalesDep = Annotated[RecentSales, Depends(get_recent_sales)]
