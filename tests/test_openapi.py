"""The committed contract equals what the app generates, and documents every operation."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.cli import OPENAPI_PATHS, render_openapi
from app.core.docs import published_document
from app.main import create_app
from tests.declared_problems import declared_problems

METHODS = {"get", "post", "put", "patch", "delete"}


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


@pytest.mark.parametrize("audience", ["storefront", "admin"])
def test_committed_openapi_matches_the_app(audience: str) -> None:
    path = OPENAPI_PATHS[audience]
    assert path.read_text() == render_openapi(audience), "run `uv run facet openapi`"


def test_the_apps_own_document_is_the_committed_storefront_document() -> None:
    # What `app.openapi()` (and so `/openapi.json`) gives a generator is the committed file.
    assert create_app().openapi() == json.loads(OPENAPI_PATHS["storefront"].read_text())


def test_every_operation_has_id_tag_summary_description_and_typed_problems(
    spec: dict[str, Any],
) -> None:
    seen_ids = set()
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), where
        assert op["operationId"] not in seen_ids, where
        seen_ids.add(op["operationId"])
        assert op.get("tags"), where
        assert op.get("description"), where
        for code, response in op["responses"].items():
            if code.startswith(("4", "5")):
                assert declared_problems(spec, response), (where, code)


def test_every_operation_has_a_summary_written_for_humans(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        summary = op.get("summary", "")
        # Not FastAPI's default, the function name in title case ("Healthz", "Add Item").
        assert len(summary.split()) > 1, (method, path, summary)
        assert summary != summary.title(), (method, path, summary)


def test_defaulted_fields_are_optional_in_requests_and_required_in_responses(
    spec: dict[str, Any],
) -> None:
    schemas = spec["components"]["schemas"]

    def required(name: str) -> set[str]:
        return set(schemas[name].get("required", []))

    assert "quantity" not in required("CartLineCreate")
    assert "marketing_opt_in" not in required("AccountCreate")
    assert "marketing_opt_in" not in required("CheckoutRequest")
    token_form = spec["paths"]["/v1/auth/token"]["post"]["requestBody"]["content"]
    form_schema = token_form["application/x-www-form-urlencoded"]["schema"]
    assert "scope" not in required(form_schema["$ref"].rsplit("/", 1)[1])
    assert "token_type" in required("TokenResponse")
    assert {"gift_box", "gift_box_minor"} <= required("TotalsRead")
    assert {"items", "next_cursor"} <= required("ProductPage")


def test_orders_are_typed_down_to_addresses_and_line_options(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    order = schemas["OrderRead"]["properties"]
    assert order["shipping_address"]["$ref"] == "#/components/schemas/PostalAddress"
    line = schemas["OrderLineRead"]["properties"]
    assert line["options"]["$ref"] == "#/components/schemas/OrderLineOptions"
    options = schemas["OrderLineOptions"]
    assert set(options["required"]) == {"ring_size", "chain_length_cm", "metal"}
    payment = schemas["PaymentRead"]["properties"]
    assert payment["provider"]["$ref"] == "#/components/schemas/PaymentProviderName"
    assert payment["capture_mode"]["$ref"] == "#/components/schemas/CaptureSetting"


def test_enums_are_unambiguous_and_shared(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "yellow_gold" in schemas["Metal"]["enum"]
    assert "gold" not in schemas["Metal"]["enum"]
    color_ref = {"$ref": "#/components/schemas/DiamondColor"}
    assert color_ref in schemas["Attributes"]["properties"]["color"]["anyOf"]
    params = spec["paths"]["/v1/products"]["get"]["parameters"]
    color = next(p for p in params if p["name"] == "color")
    assert color_ref == color["schema"]["anyOf"][0]["items"]


def test_checkout_states_the_age_rule_in_its_schema(spec: dict[str, Any]) -> None:
    checkout = spec["components"]["schemas"]["CheckoutRequest"]
    alternatives = [set(option["required"]) for option in checkout["anyOf"]]
    assert alternatives == [{"date_of_birth"}, {"is_adult"}]


def test_private_operations_declare_bearer_security(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        if path.startswith(("/v1/me", "/v1/admin")):
            assert op.get("security") == [{"OAuth2PasswordBearer": []}], f"{method} {path}"
            assert "401" in op["responses"]
        if path.startswith("/v1/admin"):
            assert "403" in op["responses"]
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"
    assert scheme["flows"]["password"]["refreshUrl"] == "/v1/auth/refresh"
    order_token = spec["components"]["securitySchemes"]["OrderToken"]
    assert order_token == {**order_token, "type": "apiKey", "in": "header", "name": "X-Order-Token"}


def test_problem_schema_is_published(spec: dict[str, Any]) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    json.dumps(spec)  # serialisable as committed


def test_every_operation_carries_one_tag(spec: dict[str, Any]) -> None:
    """Generated SDKs emit an operation once per tag (the webhooks carried two)."""
    for path, method, op in operations(spec):
        assert len(op["tags"]) == 1, f"{method.upper()} {path}: {op['tags']}"


def test_info_names_contact_license_and_servers(spec: dict[str, Any]) -> None:
    assert spec["info"]["contact"]["email"]
    assert spec["info"]["license"]["name"]
    assert spec["servers"]
    assert all(server["url"] and server["description"] for server in spec["servers"])


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_storefront_and_staff_documents_split_the_api() -> None:
    app = create_app()
    full = app.state.complete_openapi()
    storefront = published_document(app, "storefront")
    admin = published_document(app, "admin")
    ids = {name: {op["operationId"] for _, _, op in operations(doc)} for name, doc in
           [("full", full), ("storefront", storefront), ("admin", admin)]}  # fmt: skip
    assert ids["storefront"].isdisjoint(ids["admin"])
    assert ids["storefront"] | ids["admin"] == ids["full"]
    for path, method, op in operations(admin):
        assert path.startswith("/v1/admin/"), f"{method.upper()} {path}"
        assert op["security"] == [{"OAuth2PasswordBearer": []}]
    assert not [path for path in storefront["paths"] if path.startswith("/v1/admin")]
    assert "stripeWebhook" in ids["storefront"]
    for doc in (storefront, admin):
        # Self-contained: every reference resolves inside the document, nothing unused is kept.
        used = set()
        for ref in _refs(doc):
            kind, name = ref.removeprefix("#/components/").split("/", 1)
            assert name in doc["components"][kind], ref
            used.add((kind, name))
        schemas = {("schemas", name) for name in doc["components"]["schemas"]}
        assert schemas <= used
    assert "AdminOrderRead" in admin["components"]["schemas"]
    assert "AdminOrderRead" not in storefront["components"]["schemas"]


@pytest.mark.parametrize(("url", "audience"), [
    ("/openapi.json", "storefront"), ("/admin/openapi.json", "admin"),
])  # fmt: skip
async def test_each_document_is_served(url: str, audience: str) -> None:
    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.json() == json.loads(OPENAPI_PATHS[audience].read_text())
