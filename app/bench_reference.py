"""The reference of `facet bench`: a bare FastAPI app answering a fixed list of 20
product-sized JSON objects, served under the same uvicorn settings as Facet. Its
requests/s is what a route costs when the framework does all the work."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

REFERENCE_PATH = "/products"


def _product(n: int) -> dict[str, Any]:
    # The shape and size of a product list item: ids, names, attributes, a price, an image.
    return {
        "id": f"01933f0e-7c4b-7d3a-9f1e-{n:012d}",
        "slug": f"round-brilliant-solitaire-engagement-ring-{n}",
        "name": f"Round Brilliant Solitaire Engagement Ring {n}",
        "category": "solitaire-engagement-rings",
        "metal": "white_gold",
        "attributes": {
            "stone": "diamond",
            "shape": "round",
            "carat": "1.00",
            "cut": "excellent",
            "color": "F",
            "clarity": "VS1",
        },
        "price_from_minor": 349_000 + n * 1_000,
        "currency": "USD",
        "image": {
            "url": f"https://images.facet.example/products/round-brilliant-{n}.jpg",
            "alt": f"Round Brilliant Solitaire Engagement Ring {n}, white gold",
        },
        "in_stock": True,
    }


PRODUCTS = [_product(n) for n in range(20)]


def create_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get(REFERENCE_PATH)
    async def products() -> dict[str, Any]:
        return {"items": PRODUCTS, "next_cursor": None}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
