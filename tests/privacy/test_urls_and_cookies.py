"""No personal data in URLs, headers or cookies; one session cookie only (P11, DESIGN §4)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.main import create_app
from tests.factories import DEFAULT_PASSWORD, bearer, login, signed_in
from tests.orders.conftest import pay, place_order

METHODS = ("get", "put", "post", "patch", "delete")
# Parameter names that would carry an email, a name, a phone or an address (P1 fields).
PERSONAL_NAME = re.compile(
    r"e-?mail|name|phone|mobile|tel(ephone)?$|address|street|line_?[12]|city|region|postal|zip"
    r"|birth|dob",
    re.IGNORECASE,
)
PERSONAL_FORMATS = {"email", "idn-email", "phone"}
CART_COOKIE = "facet_cart"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().state.complete_openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def schema_formats(schema: dict[str, Any]) -> set[str]:
    found = {schema["format"]} if "format" in schema else set()
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found |= schema_formats(part)
    if "items" in schema:
        found |= schema_formats(schema["items"])
    return found


def test_no_parameter_outside_the_body_carries_personal_data(spec: dict[str, Any]) -> None:
    offending = []
    for path, method, op in operations(spec):
        for parameter in op.get("parameters", []):
            name, where = parameter["name"], parameter["in"]
            formats = schema_formats(parameter.get("schema", {}))
            if formats == {"uuid"}:
                continue  # a random id (`address_id`), whatever its name says
            if PERSONAL_NAME.search(name) or formats & PERSONAL_FORMATS:
                offending.append(f"{method.upper()} {path}: {where} parameter {name!r}")
    assert offending == []


def test_the_walk_would_catch_an_email_in_a_query(spec: dict[str, Any]) -> None:
    """Guard the guard: the old `GET /v1/orders/track?number=&email=` shape is refused."""
    bad = {"name": "email", "in": "query", "schema": {"type": "string", "format": "email"}}
    assert PERSONAL_NAME.search(bad["name"])
    assert schema_formats(bad["schema"]) & PERSONAL_FORMATS
    assert "get" not in spec["paths"]["/v1/orders/track"]


def check_cookies(response: httpx.Response) -> None:
    """The only cookie is the cart session cookie: a random id, no expiry, HttpOnly, Lax."""
    where = f"{response.request.method} {response.request.url.path}"
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = name_value.partition("=")
        flags = {a.split("=", 1)[0].lower(): a.partition("=")[2].lower() for a in attributes}
        assert name == CART_COOKIE, where
        uuid.UUID(value)  # a random id, nothing personal
        assert "expires" not in flags, where
        assert "max-age" not in flags, where
        assert "httponly" in flags, where
        assert flags.get("samesite") == "lax", where


def fill_path(path: str) -> str:
    return re.sub(
        r"\{([^}]+)\}",
        lambda m: "no-such-slug" if m.group(1) == "slug" else str(uuid.uuid4()),
        path,
    )


async def test_every_operation_sets_no_cookie_but_the_cart_session_cookie(
    client: httpx.AsyncClient, session: AsyncSession, spec: dict[str, Any]
) -> None:
    responses: list[httpx.Response] = []

    # The operations that do work: a guest cart (the one cookie), an account, a purchase.
    created = await client.post("/v1/carts")
    assert created.headers.get_list("set-cookie"), "creating a guest cart sets the cookie"
    responses.append(created)
    register = {
        "email": "ada.sweep@example.com", "password": DEFAULT_PASSWORD,
        "full_name": "Ada Lovelace", "phone": "+1 555 0100", "date_of_birth": "1985-06-15",
    }  # fmt: skip
    responses.append(await client.post("/v1/accounts", json=register))
    tokens = await login(client, "ada.sweep@example.com")
    customer = bearer(tokens["access_token"])
    responses.append(
        await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    )
    responses.append(await client.get("/v1/me", headers=customer))
    responses.append(await client.post("/v1/me/privacy/policy-acceptance", headers=customer))
    responses.append(await client.get("/v1/me/cart", headers=customer))
    order = await place_order(client, session)
    responses.append(await pay(client, order))
    responses.append(
        await client.post(
            "/v1/orders/track",
            json={"number": order.body["number"], "email": "ada@example.com"},
        )
    )
    _, staff = await signed_in(client, session, role=Role.staff)
    responses.append(await client.post(f"/v1/admin/orders/{order.id}/ship", headers=staff))

    # Then every operation in the contract, as a guest, a customer and staff (most answer
    # 401, 403, 404 or 422 here; the point is what they set, whatever they answer).
    for path, method, _ in operations(spec):
        for headers in ({}, customer, staff):
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("post", "put", "patch"):
                kwargs["json"] = {}
            responses.append(await client.request(method.upper(), fill_path(path), **kwargs))
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz", "/v1/no-such-path"):
        responses.append(await client.get(path))

    for response in responses:
        assert response.status_code < 500, (response.request.url.path, response.text)
        check_cookies(response)
    set_by = {
        f"{r.request.method} {r.request.url.path}"
        for r in responses
        if r.headers.get_list("set-cookie")
    }
    assert set_by == {"POST /v1/carts"}
