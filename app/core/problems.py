"""Which problem types each operation can answer, in the OpenAPI document and as pages.

A route declares the problems its own code raises next to it
(`responses=problem_responses(OutOfStock, QuantityLimit)`); a dependency declares its
own with `@raises(...)` (a bearer-token check, a rate limit, an entity loader), and
every route using it inherits them. What the framework answers is derived from the
route: a body brings 400/413/415, any parameter or body the 422 `validation-error`,
a path parameter the generic `not-found`. `document_problems` then writes one response
per status, whose `type` is an enum of exactly those types, with an example of each.

Every type URI (`https://facet.example/problems/<slug>`) is served by the API itself as
a page generated from the catalogue (`GET /problems/<slug>`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.routing import BaseRoute

from app.core.errors import (
    CATALOGUE,
    PROBLEM_BASE,
    PROBLEM_MEDIA_TYPE,
    AppError,
    MalformedRequest,
    NotFound,
    PayloadTooLarge,
    ProblemType,
    UnsupportedMediaType,
    ValidationFailed,
)

F = TypeVar("F", bound=Callable[..., Any])

_RAISES_ATTR = "__facet_problems__"
# Marks the slugs a route declared inside its `responses=` entries (rewritten away by
# `document_problems`).
DECLARED_KEY = "x-facet-problem-types"
PROBLEM_REF = "#/components/schemas/Problem"
EXAMPLES_REF = "#/components/examples/"
RESPONSES_REF = "#/components/responses/"

# What a body brings, before the operation runs.
BODY_PROBLEMS = (MalformedRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed)


def raises(*errors: type[AppError]) -> Callable[[F], F]:
    """Declare the problems a dependency can raise: every route depending on it answers them."""

    def mark(dependency: F) -> F:
        known: tuple[str, ...] = getattr(dependency, _RAISES_ATTR, ())
        setattr(dependency, _RAISES_ATTR, known + tuple(e.type for e in errors))
        return dependency

    return mark


def problem_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for the problems a route's own code raises, by status."""
    by_status: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = by_status.setdefault(error.status, {"description": "", DECLARED_KEY: []})
        entry[DECLARED_KEY].append(error.type)
    return by_status


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def route_problem_types(route: RouteContext) -> set[str]:
    """Every problem type the route can answer: declared, inherited, and the framework's."""
    slugs: set[str] = set()
    for entry in route.responses.values():
        slugs.update(entry.get(DECLARED_KEY, ()))
    for dependant in _dependants(route.dependant):
        slugs.update(getattr(dependant.call, _RAISES_ATTR, ()))
        if dependant.path_params or dependant.query_params or dependant.header_params:
            slugs.add(ValidationFailed.type)
        if dependant.path_params:
            # A value that is empty or holds a `/` makes a path no route serves.
            slugs.add(NotFound.type)
        if dependant.cookie_params:
            slugs.add(ValidationFailed.type)
    if route.body_field is not None:
        slugs.update(problem.type for problem in BODY_PROBLEMS)
    return slugs


def _example(problem: ProblemType) -> dict[str, Any]:
    body: dict[str, Any] = {"type": problem.uri, "title": problem.title, "status": problem.status}
    for name, schema in problem.extensions.items():
        if examples := schema.get("examples"):
            body[name] = examples[0]
    if problem.slug == ValidationFailed.type:
        body["detail"] = "The request has invalid fields; see `errors`."
        body["errors"] = [{"loc": ["body", "quantity"], "msg": "Field required", "type": "missing"}]
    body["request_id"] = "0f6e1c2b9a8d4e7f8a1b2c3d4e5f6a7b"
    return body


def _status_response(status: int, problems: list[ProblemType]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "type": {"type": "string", "enum": [p.uri for p in problems]},
        "status": {"type": "integer", "enum": [status]},
    }
    required = ["type", "title", "status"]
    for problem in problems:
        for name, schema in problem.extensions.items():
            properties.setdefault(name, {k: v for k, v in schema.items() if k != "examples"})
    # A member every possible type carries is always present.
    for name in properties:
        if name not in required and all(name in p.extensions for p in problems):
            required.append(name)
    listing = "\n".join(f"- [`{p.slug}`]({p.uri}): {p.title}" for p in problems)
    return {
        "description": f"{HTTPStatus(status).phrase}. Problem types:\n{listing}",
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {
                    "allOf": [
                        {"$ref": PROBLEM_REF},
                        {"type": "object", "properties": properties, "required": required},
                    ]
                },
                "examples": {p.slug: {"$ref": EXAMPLES_REF + p.slug} for p in problems},
            }
        },
    }


def document_problems(spec: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    """Rewrite each operation's error responses from the problem types it can answer.

    A status with a single possible type refers to a shared response (`components/
    responses/<slug>`); every type's example is written once (`components/examples`)."""
    components = spec.setdefault("components", {})
    used: dict[str, ProblemType] = {}
    # Included routers stay nested: each context is a route as mounted (full path, and
    # the dependencies of every router it sits in).
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        by_status: dict[int, list[ProblemType]] = {}
        for slug in sorted(route_problem_types(route)):
            problem = CATALOGUE[slug]
            by_status.setdefault(problem.status, []).append(problem)
        for method in route.methods:
            # A document may hold only some operations (e.g. the storefront's alone).
            operation = spec["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation["responses"]
            for code in [c for c in responses if c.startswith(("4", "5"))]:
                del responses[code]
            for status in sorted(by_status):
                problems = by_status[status]
                used.update((p.slug, p) for p in problems)
                if len(problems) == 1:
                    responses[str(status)] = {"$ref": RESPONSES_REF + problems[0].slug}
                else:
                    responses[str(status)] = _status_response(status, problems)
    ordered = sorted(used.values(), key=lambda p: p.slug)
    components["responses"] = {p.slug: _status_response(p.status, [p]) for p in ordered}
    components["examples"] = {p.slug: {"summary": p.title, "value": _example(p)} for p in ordered}
    schemas = components.get("schemas", {})
    # FastAPI's own 422 body is never answered: every 422 is a problem.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


# The pages every type URI resolves to.
pages = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main>
{body}
</main></body></html>
"""


def _section(problem: ProblemType) -> str:
    members = "".join(
        f"<li><code>{html.escape(name)}</code>: {html.escape(schema.get('description', ''))}</li>"
        for name, schema in problem.extensions.items()
    )
    extra = f"<p>Extension members:</p><ul>{members}</ul>" if members else ""
    return (
        f'<section id="{problem.slug}"><h2><code>{problem.slug}</code></h2>'
        f"<p><strong>{problem.status} {html.escape(HTTPStatus(problem.status).phrase)}"
        f"</strong>: {html.escape(problem.title)}</p>"
        f"<p>{html.escape(problem.description)}</p>{extra}"
        f"<p>Type URI: <code>{html.escape(problem.uri)}</code></p></section>"
    )


@pages.get("/problems", response_class=HTMLResponse)
async def problem_index() -> HTMLResponse:
    items = "".join(
        f'<li><a href="/problems/{p.slug}"><code>{p.slug}</code></a> ({p.status}): '
        f"{html.escape(p.title)}</li>"
        for p in sorted(CATALOGUE.values(), key=lambda p: (p.status, p.slug))
    )
    body = (
        "<h1>Problem types</h1><p>Every error is an RFC 9457 problem "
        "(<code>application/problem+json</code>) whose <code>type</code> is one of these "
        f"URIs, under <code>{PROBLEM_BASE}</code>.</p><ul>{items}</ul>"
    )
    return HTMLResponse(_PAGE.format(title="Problem types", body=body))


@pages.get("/problems/{slug}", response_class=HTMLResponse)
async def problem_page(slug: str) -> HTMLResponse:
    problem = CATALOGUE.get(slug)
    if problem is None:
        raise NotFound("No problem type has this name.")
    body = f'<p><a href="/problems">All problem types</a></p>{_section(problem)}'
    return HTMLResponse(_PAGE.format(title=html.escape(problem.title), body=body))
