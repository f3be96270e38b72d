"""Every problem a test receives must be one its operation declares in the OpenAPI document.

The `client` fixture runs this on each response, so the whole suite checks that the
declared statuses and problem types cover what the app really answers.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.core.errors import PROBLEM_MEDIA_TYPE

METHODS = ("get", "put", "post", "delete", "patch")
# Answers about the request line itself rather than an operation: a path that does not
# exist, a method the path lacks, and the unexpected-failure safety net.
UNDECLARED_STATUSES = {404: "not-found", 405: "method-not-allowed", 500: "internal-error"}


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    ref = item.get("$ref")
    if ref is None:
        return item
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def declared_problems(spec: dict[str, Any], response: dict[str, Any]) -> set[str]:
    resolved = _resolve(spec, response)
    schema = resolved["content"][PROBLEM_MEDIA_TYPE]["schema"]
    return set(schema["allOf"][1]["properties"]["type"]["enum"])


class DeclaredProblems:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.operations: list[tuple[re.Pattern[str], bool, str, dict[str, Any]]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
            for method in METHODS:
                if method in item:
                    self.operations.append((pattern, "{" not in template, method, item[method]))

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        matches = [
            (concrete, op)
            for pattern, concrete, m, op in self.operations
            if m == method.lower() and pattern.match(path)
        ]
        matches.sort(key=lambda match: not match[0])  # a concrete path shadows templates
        return matches[0][1] if matches else None

    def violation(self, method: str, path: str, status: int, body: Any) -> str | None:
        """Why this answer is not declared, or None when it is."""
        operation = self.operation(method, path)
        if operation is None or status < 400:
            return None
        problem_type = body.get("type") if isinstance(body, dict) else None
        where = f"{operation['operationId']} ({method} {path})"
        declared = operation["responses"].get(str(status))
        if declared is None:
            if problem_type and problem_type.endswith("/" + UNDECLARED_STATUSES.get(status, "")):
                return None
            return f"{where} answered an undeclared {status} ({problem_type})"
        if problem_type not in declared_problems(self.spec, declared):
            return f"{where} answered {status} {problem_type}, not among its declared types"
        return None


async def check_response(checker: DeclaredProblems, response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    await response.aread()
    try:
        body = response.json()
    except ValueError:
        body = None
    problem = checker.violation(
        response.request.method, response.request.url.path, response.status_code, body
    )
    assert problem is None, problem
