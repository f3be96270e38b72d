from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import admin, repository
from app.catalog.errors import CategoryNotFound, PageNotFound, ProductNotFound, VariantNotFound
from app.catalog.models import Category, Page, Product, Variant
from app.catalog.repository import CategoryTree
from app.catalog.schemas import Slug
from app.catalog.service import RecentSales
from app.core.deps import ReadSessionDep, SessionDep
from app.core.http_cache import (
    REVALIDATE,
    AnswerCache,
    conditional_response,
    etag_of,
    json_bytes,
)
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


async def get_recent_sales(request: Request) -> RecentSales:
    """The sales query the application wired in (the orders domain's)."""
    recent_sales: RecentSales = request.app.state.recent_sales
    return recent_sales


RecentSalesDep = Annotated[RecentSales, Depends(get_recent_sales)]


@dataclass(frozen=True, slots=True)
class CatalogReader:
    """A public catalog read: a read-only session, and the answers cache (None when
    switched off) keyed by the catalog version, the path and the query string."""

    request: Request
    session: AsyncSession
    cache: AnswerCache | None

    async def respond(
        self, build: Callable[[CategoryTree], Awaitable[BaseModel | list[Any]]]
    ) -> Response:
        """The answer `build` makes from the published category tree, from the cache when
        this version already made it; a matching If-None-Match gets 304."""
        if self.cache is None:
            body = json_bytes(await build(await self._load_tree()))
            etag = etag_of(body)
        else:
            # Read the version first: whatever is built after it is at least that new.
            version = await repository.catalog_version(self.session)
            scope = self.request.scope
            key = (version, scope["path"], scope["query_string"])
            answer = self.cache.get(key)
            if answer is None:
                tree = await self._tree(self.cache, version)
                answer = self.cache.put(key, json_bytes(await build(tree)))
            body, etag = answer.body, answer.etag
        return conditional_response(self.request, body, etag, cache_control=REVALIDATE)

    async def _tree(self, cache: AnswerCache, version: int) -> CategoryTree:
        """The published tree of this catalog version, loaded once per process."""
        key = ("published-category-tree", version)
        tree = cache.get_value(key)
        if not isinstance(tree, CategoryTree):
            tree = cache.put_value(key, await self._load_tree())
        return tree

    async def _load_tree(self) -> CategoryTree:
        return await repository.load_category_tree(self.session, published_only=True)


async def get_catalog_reader(request: Request, session: ReadSessionDep) -> CatalogReader:
    cache: AnswerCache | None = request.app.state.catalog_cache
    return CatalogReader(request, session, cache)


CatalogReaderDep = Annotated[CatalogReader, Depends(get_catalog_reader)]
