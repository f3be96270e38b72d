"""The problem-type catalogue: every problem the code raises is listed, explained, declared
by the operations that answer it, and its type URI resolves to a page."""

from __future__ import annotations

import ast
import copy
import html
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from app.core.errors import CATALOGUE, PROBLEM_BASE, AppError
from app.core.problems import document_problems
from app.main import create_app
from tests.declared_problems import DeclaredProblems, declared_problems

APP_DIR = Path(__file__).resolve().parents[2] / "app"
# Answered for the request line itself, by any path: not declared per operation.
REQUEST_LINE_TYPES = {"not-found", "method-not-allowed", "internal-error"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().state.complete_openapi()


def _error_classes() -> dict[str, type[AppError]]:
    found: dict[str, type[AppError]] = {}
    pending = [AppError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found[sub.__name__] = sub
            pending.append(sub)
    return found


def _raised_names() -> set[str]:
    """Every class name after `raise` (or passed as the error to raise) in the app."""
    names: set[str] = set()
    for path in APP_DIR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name):
                    names.add(exc.id)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                names.update(
                    a.func.id
                    for a in node.args
                    if isinstance(a, ast.Call) and isinstance(a.func, ast.Name)
                )
    return names


def _declared_types(spec: dict[str, Any]) -> set[str]:
    return {
        problem_type
        for item in spec["paths"].values()
        for op in item.values()
        for code, response in op["responses"].items()
        if code.startswith(("4", "5"))
        for problem_type in declared_problems(spec, response)
    }


def test_every_raised_problem_is_in_the_catalogue_and_declared_by_an_operation(
    spec: dict[str, Any],
) -> None:
    classes = _error_classes()
    raised = {classes[name] for name in _raised_names() if name in classes}
    assert len(raised) > 40  # the scan found the domain errors
    declared = _declared_types(spec)
    for error in raised:
        entry = CATALOGUE.get(error.type)
        assert entry is not None, error
        assert (entry.status, entry.title) == (error.status, error.title), error
        assert entry.description, error
        if error.type not in REQUEST_LINE_TYPES:
            assert entry.uri in declared, f"no operation declares {error.type}"


def test_under_18_refusals_share_one_problem_type() -> None:
    refusals = {slug for slug, entry in CATALOGUE.items() if "18" in entry.title}
    assert refusals == {"age-restricted"}


def test_every_declared_type_is_in_the_catalogue_with_an_example(spec: dict[str, Any]) -> None:
    uris = {entry.uri for entry in CATALOGUE.values()}
    examples = spec["components"]["examples"]
    for problem_type in _declared_types(spec):
        assert problem_type in uris
        slug = problem_type.removeprefix(PROBLEM_BASE)
        assert examples[slug]["value"]["type"] == problem_type


async def test_every_type_uri_resolves_to_a_page_explaining_it(
    client: httpx.AsyncClient,
) -> None:
    assert len(CATALOGUE) >= 49
    for entry in CATALOGUE.values():
        page = await client.get(urlparse(entry.uri).path)
        assert page.status_code == 200, entry.slug
        assert page.headers["content-type"].startswith("text/html")
        assert entry.slug in page.text
        assert html.escape(entry.description) in page.text
    index = await client.get("/problems")
    assert all(f'href="/problems/{slug}"' in index.text for slug in CATALOGUE)


async def test_an_unknown_problem_type_page_is_a_404_problem(client: httpx.AsyncClient) -> None:
    answer = await client.get("/problems/no-such-problem")
    assert (answer.status_code, answer.json()["type"]) == (404, PROBLEM_BASE + "not-found")


def test_operations_declare_only_statuses_they_can_answer(spec: dict[str, Any]) -> None:
    def statuses(path: str, method: str) -> set[str]:
        return set(spec["paths"][path][method]["responses"])

    assert statuses("/healthz", "get") == {"200"}
    assert statuses("/v1/carts", "post") == {"201"}
    assert statuses("/readyz", "get") == {"200", "503"}
    # Signed-in reads: only the token can be wrong.
    assert statuses("/v1/me", "get") == {"200", "401"}
    # A public, bodiless read with a path parameter: not 401, 413 or 415.
    assert statuses("/v1/products/{slug}", "get") == {"200", "304", "404", "422"}


def test_each_status_lists_its_types_and_a_402_carries_its_decline_code(
    spec: dict[str, Any],
) -> None:
    responses = spec["paths"]["/v1/orders/{order_id}/payments"]["post"]["responses"]
    conflict = declared_problems(spec, responses["409"])
    assert {PROBLEM_BASE + "illegal-transition", PROBLEM_BASE + "payment-under-review"} <= conflict
    declined = spec["components"]["responses"]["payment-declined"]
    schema = declined["content"]["application/problem+json"]["schema"]["allOf"][1]
    assert "decline_code" in schema["required"]
    assert schema["properties"]["decline_code"]["type"] == "string"
    add_item = spec["paths"]["/v1/carts/{cart_id}/items"]["post"]["responses"]
    assert PROBLEM_BASE + "insufficient-stock" in declared_problems(spec, add_item["409"])
    assert PROBLEM_BASE + "quantity-limit" in declared_problems(spec, add_item["422"])


def test_an_undeclared_problem_is_caught(spec: dict[str, Any]) -> None:
    checker = DeclaredProblems(spec)
    out_of_stock = {"type": PROBLEM_BASE + "out-of-stock", "status": 409}
    assert checker.violation("POST", "/v1/checkout", 409, out_of_stock) is None
    assert checker.violation("POST", "/v1/carts", 409, out_of_stock) is not None
    assert checker.violation("GET", "/healthz", 422, {"type": "x"}) is not None


def test_a_document_holding_some_operations_only_gets_their_problems(
    spec: dict[str, Any],
) -> None:
    app = create_app()
    partial = {"paths": {"/readyz": copy.deepcopy(spec["paths"]["/readyz"])}, "components": {}}
    document_problems(partial, app.routes)
    assert set(partial["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(partial["components"]["responses"]) == {"service-unavailable"}
