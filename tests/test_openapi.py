"""The committed contract equals what the app generates, and documents every operation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.cli import OPENAPI_PATH, render_openapi
from app.main import create_app

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_committed_openapi_matches_the_app() -> None:
    assert OPENAPI_PATH.read_text() == render_openapi(), "run `uv run facet openapi`"


def test_every_operation_has_id_tag_description_and_problem_responses(
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
        errors = {code: r for code, r in op["responses"].items() if code.startswith(("4", "5"))}
        assert errors, where
        for code, response in errors.items():
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, (where, code)


def test_private_operations_declare_bearer_security(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        if path.startswith(("/v1/me", "/v1/admin")):
            assert op.get("security") == [{"OAuth2PasswordBearer": []}], f"{method} {path}"
            assert "401" in op["responses"]
        if path.startswith("/v1/admin"):
            assert "403" in op["responses"]
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "/v1/auth/token"


def test_problem_schema_is_published(spec: dict[str, Any]) -> None:
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    json.dumps(spec)  # serialisable as committed
