"""The published OpenAPI documents.

FastAPI describes each operation from its route; this module adds what it cannot infer
(response headers, optional and alternative credentials, who the operation is for) and
splits the result in two documents: the storefront's and the staff's.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi

from app.core.errors import CATALOGUE, FieldProblem, Problem
from app.core.problems import document_problems
from app.core.schemas import restore_example_nulls

ADMIN_TAG = "admin"
BEARER_SCHEME = "OAuth2PasswordBearer"
ORDER_TOKEN_SCHEME = "OrderToken"  # noqa: S105 - a scheme name, not a secret
ORDER_TOKEN_HEADER = "X-Order-Token"  # noqa: S105 - a header name
IDEMPOTENCY_HEADER = "Idempotency-Key"

CONTACT = {"name": "Facet API support", "email": "api@facet.example"}
# An SPDX expression for a license of one's own: the API is not open source.
LICENSE = {"name": "Proprietary: all rights reserved", "identifier": "LicenseRef-Facet-Proprietary"}
# Relative: the docs and generated clients call the host they got the document from
# (`python3 tasks.py serve` locally: http://127.0.0.1:8000).
SERVERS = [{"url": "/", "description": "The host that serves this document"}]

_METHODS = ("get", "put", "post", "delete", "patch")


def _header(
    description: str, schema: dict[str, Any], example: Any, *, required: bool
) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema, "example": example}


# Every response header the API sends on purpose, once, in components/headers.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": _header(
        "The request's id: the one sent in `X-Request-ID` if it was valid, else a new one. "
        "Quote it when reporting a problem.",
        {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
        "5f0c6c0e2b9d4f7e8a1b3c4d5e6f7a8b",
        required=True,
    ),
    "ETag": _header(
        "A weak validator of this representation; send it back as `If-None-Match` to get "
        "304 while it is current.",
        {"type": "string"},
        'W/"0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"',
        required=True,
    ),
    "Cache-Control": _header(
        "How caches may keep the answer. Catalog reads say `public, no-cache`: any cache "
        "may store the answer but must revalidate it with `If-None-Match` before each use, "
        "so a staff change shows on the very next read; other cacheable reads say "
        "`public, max-age=N` (N seconds).",
        {"type": "string"},
        "public, no-cache",
        required=True,
    ),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key` and body; absent on the first answer.",
        {"type": "string", "enum": ["true"]},
        "true",
        required=False,
    ),
    "Retry-After": _header(
        "Seconds to wait before trying again.", {"type": "integer", "minimum": 1}, 30, required=True
    ),
    "WWW-Authenticate": _header(
        "The authentication scheme to use.", {"type": "string"}, "Bearer", required=True
    ),
    "Set-Cookie": _header(
        "The cart session cookie: a random cart id, no personal data, no expiry (it ends "
        "with the browser session), `HttpOnly`, `SameSite=Lax`, `Secure` in production.",
        {"type": "string"},
        "facet_cart=3f1d6f0e-8c2b-4a8e-9d3c-2b7e1f0a9c4d; HttpOnly; Path=/; SameSite=lax",
        required=True,
    ),
}
# What browser code may read across origins (Cache-Control is readable anyway; a
# Set-Cookie never is).
EXPOSED_HEADERS = [
    "X-Request-ID",
    "ETag",
    "Idempotent-Replayed",
    "Retry-After",
    "WWW-Authenticate",
]

IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The `ETag` of a copy you hold: while it is current the answer is an empty 304.",
    "schema": {"type": "string"},
    "example": 'W/"0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"',
}

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    ORDER_TOKEN_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": ORDER_TOKEN_HEADER,
        "description": "The `order_token` a guest checkout returned, shown once: it lets "
        "its holder view, pay or cancel that one order.",
    },
}


def sets_cookie(status: int) -> dict[str, Any]:
    """`openapi_extra` for an operation that sets the cart session cookie."""
    return {"responses": {str(status): {"headers": {"Set-Cookie": _ref("Set-Cookie")}}}}


def _ref(header: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{header}"}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _credentials_required(app: FastAPI, requires_credentials: Any) -> dict[tuple[str, str], bool]:
    """For each operation: does a dependency refuse callers without a bearer token?"""
    required: dict[tuple[str, str], bool] = {}
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, routing.APIRoute) or not context.include_in_schema:
            continue
        needs = any(call is requires_credentials for call in _calls(context.dependant))
        for method in context.methods or ():
            required[(context.path_format, method.lower())] = needs
    return required


def _header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}


def _declare_security(
    operation: dict[str, Any], *, credentials_required: bool, guest_token: bool
) -> None:
    """FastAPI marks every route that reads the bearer as requiring it; say what is enforced.

    Bearer required: `[{bearer}]`. Bearer optional: `[{}, {bearer}]`, or with the order
    token, `[{bearer}, {order token}]` (an order is reachable with one of the two). No
    bearer read at all: `[]`, a public operation.
    """
    reads_bearer = any(BEARER_SCHEME in req for req in operation.get("security", []))
    if not reads_bearer:
        operation["security"] = []
    elif credentials_required:
        operation["security"] = [{BEARER_SCHEME: []}]
    elif guest_token:
        operation["security"] = [{BEARER_SCHEME: []}, {ORDER_TOKEN_SCHEME: []}]
    else:
        operation["security"] = [{}, {BEARER_SCHEME: []}]


def _response_headers(status: str, *, cacheable: bool, idempotent: bool) -> dict[str, Any]:
    headers: dict[str, Any] = {"X-Request-ID": _ref("X-Request-ID")}
    if cacheable and status in ("200", "304"):
        headers["ETag"] = _ref("ETag")
        headers["Cache-Control"] = _ref("Cache-Control")
    if idempotent and status.startswith("2"):
        headers["Idempotent-Replayed"] = _ref("Idempotent-Replayed")
    if status == "401":
        headers["WWW-Authenticate"] = _ref("WWW-Authenticate")
    if status == "429":
        headers["Retry-After"] = _ref("Retry-After")
    if status == "503":  # sent when the outage is expected to be brief
        headers["Retry-After"] = {**RESPONSE_HEADERS["Retry-After"], "required": False}
    return headers


def _declare_headers(operation: dict[str, Any]) -> None:
    responses: dict[str, dict[str, Any]] = operation["responses"]
    cacheable = "304" in responses
    idempotent = IDEMPOTENCY_HEADER in _header_names(operation)
    if cacheable and "If-None-Match" not in _header_names(operation):
        operation.setdefault("parameters", []).append(dict(IF_NONE_MATCH))
    for status, response in responses.items():
        if "$ref" in response:  # a shared problem response: declared in components
            continue
        headers = _response_headers(status, cacheable=cacheable, idempotent=idempotent)
        headers.update(response.get("headers", {}))  # what the route declared itself
        response["headers"] = headers


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                yield path, method, operation


def build_openapi(app: FastAPI, *, requires_credentials: Callable[..., Any]) -> dict[str, Any]:
    """Every operation, storefront and staff, completed. `requires_credentials` is the
    dependency that refuses a caller without a valid bearer token."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        contact=CONTACT,
        license_info=LICENSE,
        servers=SERVERS,
    )
    # Before the headers: it rewrites every error response from the problem catalogue.
    document_problems(spec, app.routes)
    required = _credentials_required(app, requires_credentials)
    for path, method, operation in _operations(spec):
        _declare_security(
            operation,
            credentials_required=required[(path, method)],
            guest_token=ORDER_TOKEN_HEADER in _header_names(operation),
        )
        _declare_headers(operation)
    components = spec.setdefault("components", {})
    for slug, response in components.get("responses", {}).items():
        status = str(CATALOGUE[slug].status)
        response["headers"] = _response_headers(status, cacheable=False, idempotent=False)
    schemas = components.setdefault("schemas", {})
    ref = "#/components/schemas/{model}"
    schemas["FieldProblem"] = FieldProblem.model_json_schema(ref_template=ref)
    problem = Problem.model_json_schema(ref_template=ref)
    problem.pop("$defs", None)
    schemas["Problem"] = problem
    restore_example_nulls(schemas)
    components.setdefault("securitySchemes", {}).update(copy.deepcopy(SECURITY_SCHEMES))
    components["headers"] = copy.deepcopy(RESPONSE_HEADERS)
    return spec


def is_admin(operation: dict[str, Any]) -> bool:
    return ADMIN_TAG in operation.get("tags", ())


_REF = re.compile(r'"\$ref": "#/components/(\w+)/([^"]+)"')


def _referenced(spec: dict[str, Any]) -> dict[str, set[str]]:
    """The components the paths reach, following references between components."""
    components = spec.get("components", {})
    seen: dict[str, set[str]] = {}
    pending = [json.dumps(spec["paths"])]
    while pending:
        for kind, name in _REF.findall(pending.pop()):
            if name not in seen.setdefault(kind, set()):
                seen[kind].add(name)
                pending.append(json.dumps(components.get(kind, {}).get(name, {})))
    return seen


def audience_document(full: dict[str, Any], *, admin: bool) -> dict[str, Any]:
    """The storefront's operations (`admin=False`) or the staff's, with only the
    components, security schemes and tags they use."""
    spec = copy.deepcopy(full)
    for path in list(spec["paths"]):
        item = spec["paths"][path]
        for method in [m for m in item if m in _METHODS]:
            if is_admin(item[method]) != admin:
                del item[method]
        if not any(m in item for m in _METHODS):
            del spec["paths"][path]
    used = _referenced(spec)
    components = spec.get("components", {})
    for kind in ("schemas", "headers", "parameters", "responses"):
        if kind in components:
            components[kind] = {
                k: v for k, v in components[kind].items() if k in used.get(kind, ())
            }
            if not components[kind]:
                del components[kind]
    schemes = {name for _, _, op in _operations(spec) for req in op["security"] for name in req}
    components["securitySchemes"] = {
        k: v for k, v in components.get("securitySchemes", {}).items() if k in schemes
    }
    tags = {tag for _, _, op in _operations(spec) for tag in op.get("tags", ())}
    spec["tags"] = [tag for tag in spec.get("tags", []) if tag["name"] in tags]
    if admin:
        spec["info"]["title"] += " staff API"
    return spec
