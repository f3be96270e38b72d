"""Each operation's declared `security` is what the API enforces.

Every operation of the app is called without credentials: one that declares a required
bearer token answers 401, one that declares none (`[]`) or an optional one (`[{}, ...]`)
never does. The operations that take the order token as an alternative refuse a caller
holding neither, and serve a guest holding only the token.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.core.openapi import BEARER_SCHEME, ORDER_TOKEN_SCHEME
from tests.factories import signed_in
from tests.orders.conftest import place_order

METHODS = ("get", "put", "post", "delete", "patch")
BEARER_ONLY = [{BEARER_SCHEME: []}]
BEARER_OR_ORDER_TOKEN = [{BEARER_SCHEME: []}, {ORDER_TOKEN_SCHEME: []}]
# Bodies that pass validation, so a refusal cannot hide behind a 422.
VALID_BODIES = {"payOrder": {"payment_method": "pm_card_visa"}}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Each operation, its `security` resolved (absent, the document's default applies)."""
    default = spec.get("security", [])
    return [
        (path, method, {"security": default, **op})
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def concrete(path: str, spec_item: dict[str, Any], **values: str) -> str:
    """The template with its parameters filled: a given value, else a well-formed unknown."""
    formats = {
        p["name"]: p["schema"].get("format")
        for op in spec_item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p["in"] == "path"
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        return str(uuid.uuid4()) if formats.get(name) == "uuid" else "no-such-slug"

    return re.sub(r"\{(\w+)\}", fill, path)


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    if body is None and method in ("post", "put", "patch"):
        body = {}
    return await client.request(method.upper(), url, json=body, headers=headers or {})


@pytest.fixture
def spec(bound_app: FastAPI) -> dict[str, Any]:
    return bound_app.state.complete_openapi()


async def test_every_operation_declares_the_credentials_it_enforces(
    client: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    wrong = []
    for path, method, op in operations(spec):
        security = op["security"]
        response = await call(client, method, concrete(path, spec["paths"][path]))
        refused = response.status_code == 401
        if security == BEARER_ONLY and not refused:
            wrong.append(f"{method.upper()} {path}: declares a bearer, answers {response}")
        if (security == [] or {} in security) and refused:
            wrong.append(f"{method.upper()} {path}: declares {security}, answers 401")
    assert not wrong, "\n".join(wrong)


async def test_declared_security_is_one_of_the_known_shapes(spec: dict[str, Any]) -> None:
    shapes = ([], BEARER_ONLY, [{}, {BEARER_SCHEME: []}], BEARER_OR_ORDER_TOKEN)
    for path, method, op in operations(spec):
        assert op["security"] in shapes, f"{method.upper()} {path}"
        if path.startswith("/v1/admin"):
            assert op["security"] == BEARER_ONLY, f"{method.upper()} {path}"


async def test_a_bearer_token_passes_every_operation_that_requires_one(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    _, staff = await signed_in(client, session, role=Role.staff)
    for path, method, op in operations(spec):
        if op["security"] == BEARER_ONLY:
            response = await call(client, method, concrete(path, spec["paths"][path]), staff)
            assert response.status_code != 401, f"{method.upper()} {path}: {response.text}"


async def test_the_order_token_is_an_alternative_to_the_bearer(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    order = await place_order(client, session)
    guarded = [
        (path, method)
        for path, method, op in operations(spec)
        if op["security"] == BEARER_OR_ORDER_TOKEN
    ]
    assert {(p, m) for p, m in guarded} >= {
        ("/v1/orders/{order_id}", "get"),
        ("/v1/orders/{order_id}/payments", "post"),
        ("/v1/orders/{order_id}/cancel", "post"),
    }
    for path, method in guarded:
        url = concrete(path, spec["paths"][path], order_id=order.id)
        # Neither credential: refused as if the order did not exist (no leak).
        body = VALID_BODIES.get(spec["paths"][path][method]["operationId"])
        response = await call(client, method, url, body=body)
        assert response.status_code in (401, 404), f"{method} {path}: {response.text}"
    # The token alone is enough (read-only, so the order stays as it is for the others).
    shown = await client.get(f"/v1/orders/{order.id}", headers=order.token)
    assert shown.status_code == 200, shown.text
    assert shown.json()["id"] == order.id
