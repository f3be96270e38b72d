"""The response headers the API sends are the ones the spec declares, and browsers may read them.

Each scenario drives the app and compares the answer with its operation's declared
response: every header of interest that was sent is declared for that status, and every
header declared required was sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_category, make_product
from tests.orders.conftest import checkout_body, fill_cart, new_key, pay, place_order, variant_ids

# The headers the API sets on purpose (security headers aside).
OF_INTEREST = (
    "X-Request-ID",
    "ETag",
    "Cache-Control",
    "Idempotent-Replayed",
    "Retry-After",
    "WWW-Authenticate",
    "Set-Cookie",
)
# A browser reads these without being told; Set-Cookie it never shows to scripts.
READABLE_ANYWAY = {"cache-control", "set-cookie"}


@pytest.fixture
def spec(bound_app: FastAPI) -> dict[str, Any]:
    return bound_app.state.complete_openapi()


def declared_headers(
    spec: dict[str, Any], method: str, path: str, status: int
) -> dict[str, dict[str, Any]]:
    response = spec["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:  # a shared problem response
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    headers = {}
    for name, header in response.get("headers", {}).items():
        if "$ref" in header:
            header = spec["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
        headers[name.lower()] = header
    return headers


def assert_headers_match(
    spec: dict[str, Any], method: str, path: str, response: httpx.Response
) -> None:
    declared = declared_headers(spec, method, path, response.status_code)
    where = f"{method.upper()} {path} {response.status_code}"
    for name in OF_INTEREST:
        if name in response.headers:
            assert name.lower() in declared, f"{where} sends {name} undeclared"
    for name, header in declared.items():
        if header.get("required"):
            assert name in response.headers, f"{where} declares {name} required, sent none"


async def test_catalog_reads_declare_etag_cache_control_and_if_none_match(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    category = await make_category(session, "header-rings")
    product = await make_product(session, category)
    for path, url in [
        ("/v1/categories", "/v1/categories"),
        ("/v1/products", "/v1/products"),
        ("/v1/products/{slug}", f"/v1/products/{product.slug}"),
        ("/v1/privacy/processors", "/v1/privacy/processors"),
    ]:
        fresh = await client.get(url)
        assert fresh.status_code == 200, fresh.text
        assert_headers_match(spec, "get", path, fresh)
        parameters = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert "If-None-Match" in parameters, path
        unchanged = await client.get(url, headers={"If-None-Match": fresh.headers["ETag"]})
        assert unchanged.status_code == 304
        assert_headers_match(spec, "get", path, unchanged)


async def test_cart_creation_declares_its_session_cookie(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    response = await client.post("/v1/carts")
    assert response.status_code == 201
    assert "set-cookie" in response.headers
    assert_headers_match(spec, "post", "/v1/carts", response)


async def test_an_idempotent_replay_declares_idempotent_replayed(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    category = await make_category(session, "header-bands")
    product = await make_product(session, category)
    (variant_id,) = (await variant_ids(session, product))[:1]
    cart_id = await fill_cart(client, [(variant_id, 1)])
    key = {"Idempotency-Key": new_key()}
    first = await client.post("/v1/checkout", json=checkout_body(cart_id), headers=key)
    again = await client.post("/v1/checkout", json=checkout_body(cart_id), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    for response in (first, again):
        assert_headers_match(spec, "post", "/v1/checkout", response)


async def test_a_throttled_request_declares_retry_after(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    body = {"number": "FCT-NOPE", "email": "nobody@example.com"}
    for _ in range(40):
        response = await client.post("/v1/orders/track", json=body)
        if response.status_code == 429:
            break
    assert response.status_code == 429
    assert_headers_match(spec, "post", "/v1/orders/track", response)


async def test_a_processor_outage_declares_retry_after(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    order = await place_order(client, session)
    response = await pay(client, order, "pm_card_timeout")
    assert response.status_code == 503
    assert "retry-after" in response.headers
    assert_headers_match(spec, "post", "/v1/orders/{order_id}/payments", response)


async def test_a_missing_token_declares_www_authenticate(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert_headers_match(spec, "get", "/v1/me", response)


async def test_cors_exposes_every_declared_header_a_script_may_read(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    response = await client.get("/v1/categories", headers={"Origin": "http://localhost:3000"})
    exposed = {
        name.strip().lower()
        for name in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    declared = {name.lower() for name in spec["components"]["headers"]}
    assert {"idempotent-replayed", "retry-after", "etag", "x-request-id"} <= declared
    assert declared - READABLE_ANYWAY <= exposed
