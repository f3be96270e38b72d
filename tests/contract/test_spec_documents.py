"""The published OpenAPI documents are valid OpenAPI, pass Redocly's recommended ruleset
(redocly.yaml) with no errors, and every example in them is valid against its schema."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.cli import PROJECT_ROOT
from tests.contract.conftest import PUBLISHED_SPECS, node_env, run
from tests.contract.spec_check import SpecChecker, json_pointer


@pytest.mark.parametrize("document", PUBLISHED_SPECS, ids=lambda path: path.name)
def test_published_document_is_valid_openapi(document: Path) -> None:
    validate(json.loads(document.read_text()))


@pytest.mark.parametrize("document", PUBLISHED_SPECS, ids=lambda path: path.name)
def test_published_documents_pass_redocly_recommended_rules(node_bin: Path, document: Path) -> None:
    linted = run(
        [node_bin / "redocly", "lint", "--config", "redocly.yaml", "--format", "json",
         "--max-problems", "100000", document],
        cwd=PROJECT_ROOT, env=node_env(),
    )  # fmt: skip
    report = json.loads(linted.stdout)
    errors = Counter(p["ruleId"] for p in report["problems"] if p["severity"] == "error")
    assert errors == {}, linted.stderr


def _examples(spec: dict[str, Any]) -> Iterator[tuple[str, object]]:
    """(pointer of the schema, example) for every example of a request or response body."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            bodies = [("requestBody",), *(("responses", s) for s in operation.get("responses", {}))]
            for where in bodies:
                node = operation
                for key in where:
                    node = node.get(key, {})
                for media_type, content in node.get("content", {}).items():
                    schema = json_pointer("paths", path, method, *where, "content", media_type)
                    if "example" in content:
                        yield schema + "/schema", content["example"]
                    for example in content.get("examples", {}).values():
                        if "value" in example:
                            yield schema + "/schema", example["value"]


@pytest.mark.parametrize("document", PUBLISHED_SPECS, ids=lambda path: path.name)
def test_every_body_example_matches_its_schema(document: Path) -> None:
    spec = json.loads(document.read_text())
    checker = SpecChecker(spec)
    invalid = [
        f"{pointer}: {error}"
        for pointer, example in _examples(spec)
        for error in checker.validate(pointer, example)
    ]
    assert invalid == []
