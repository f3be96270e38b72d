"""Check recorded HTTP exchanges against an OpenAPI 3.1 document: the operation exists, the
status is declared for it, the body is valid against the declared schema (JSON Schema 2020-12,
with the document's own components), declared headers are present when required and valid when
present, and the headers a client relies on are declared once the document declares any."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:facet:openapi"
NO_BODY_STATUSES = {204, 304}


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the client saw it."""

    method: str
    path: str  # the spec's path template, e.g. /v1/products/{slug}
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: str
    set_cookie: list[str] = field(default_factory=list)
    read_headers: list[str] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Exchange:
        return cls(
            method=record["method"],
            path=record["path"],
            status=record["status"],
            headers={name.lower(): value for name, value in record["headers"].items()},
            body=record["body"],
            set_cookie=list(record.get("set_cookie", [])),
            read_headers=list(record.get("read_headers", [])),
        )

    @property
    def operation(self) -> str:
        return f"{self.method.upper()} {self.path} -> {self.status}"


def json_pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _closed(schema: Any) -> Any:
    """`schema` with every object that lists its properties closed to others, so a field the
    document does not declare is reported (the document leaves objects open by default)."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = dict(schema)
    if isinstance(schema.get("properties"), dict):
        closed["properties"] = {name: _closed(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and "unevaluatedProperties" not in schema:
            closed["unevaluatedProperties"] = False
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(keyword), dict):
            closed[keyword] = _closed(schema[keyword])
    for keyword in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if isinstance(schema.get(keyword), list):
            closed[keyword] = _closed(schema[keyword])
    return closed


def _with_closed_schemas(node: Any) -> Any:
    """The document with every schema in it closed (see `_closed`)."""
    if isinstance(node, list):
        return [_with_closed_schemas(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _with_closed_schemas(value) for key, value in node.items()}
    if isinstance(node.get("schema"), dict):
        copied["schema"] = _closed(node["schema"])
    if isinstance(node.get("schemas"), dict):  # components/schemas
        copied["schemas"] = {name: _closed(sub) for name, sub in node["schemas"].items()}
    return copied


class SpecChecker:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self._registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, Resource(contents=_with_closed_schemas(spec), specification=DRAFT202012)
        )
        self.declares_response_headers = any(
            response.get("headers")
            for operation in self._operations()
            for response in operation.get("responses", {}).values()
        )

    def _operations(self) -> Iterable[Mapping[str, Any]]:
        for item in self.spec.get("paths", {}).values():
            for method, operation in item.items():
                if method in {"get", "put", "post", "patch", "delete", "head", "options"}:
                    yield operation

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in node:
            resolved = self._registry.resolver(SPEC_URI).lookup(node["$ref"]).contents
            node = resolved
        return node

    def validate(self, pointer: str, instance: object) -> list[str]:
        """What makes `instance` invalid against the schema at `pointer` in the document."""
        validator = Draft202012Validator(
            {"$ref": f"{SPEC_URI}#{pointer}"},
            registry=self._registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(instance)
        ]

    def problems(self, exchange: Exchange) -> list[str]:
        """What in `exchange` the document does not declare (empty when all is as declared)."""
        method = exchange.method.lower()
        operation = self.spec.get("paths", {}).get(exchange.path, {}).get(method)
        if operation is None:
            return [f"{exchange.operation}: no such operation in the spec"]
        responses = operation.get("responses", {})
        status = str(exchange.status)
        for key in (status, f"{status[0]}XX", "default"):
            if key in responses:
                break
        else:
            return [f"{exchange.operation}: status not declared (declared: {sorted(responses)})"]
        response_pointer = json_pointer("paths", exchange.path, method, "responses", key)
        response = responses[key]
        while isinstance(response.get("$ref"), str):  # a shared one, under components/responses
            response_pointer = response["$ref"].removeprefix("#")
            response = self._registry.resolver(SPEC_URI).lookup(response["$ref"]).contents
        found = self._body_problems(exchange, response, response_pointer)
        found += self._header_problems(exchange, response, response_pointer)
        return [f"{exchange.operation}: {problem}" for problem in found]

    def _body_problems(
        self, exchange: Exchange, response: Mapping[str, Any], response_pointer: str
    ) -> list[str]:
        content: Mapping[str, Any] = response.get("content", {})
        if not exchange.body:
            if content and exchange.status not in NO_BODY_STATUSES:
                return [f"empty body, but {sorted(content)} declared"]
            return []
        media_type = exchange.headers.get("content-type", "").split(";")[0].strip()
        if media_type not in content:
            return [f"content type {media_type!r} not declared (declared: {sorted(content)})"]
        if "json" not in media_type:
            return []
        try:
            body = json.loads(exchange.body)
        except ValueError as exc:
            return [f"the body is not JSON: {exc}"]
        if "schema" not in content[media_type]:
            return []
        pointer = response_pointer + json_pointer("content", media_type, "schema")
        return self.validate(pointer, body)

    def _header_problems(
        self, exchange: Exchange, response: Mapping[str, Any], response_pointer: str
    ) -> list[str]:
        found: list[str] = []
        declared = {name.lower(): name for name in response.get("headers", {})}
        for lower, name in declared.items():
            header = self._resolve(response["headers"][name])
            values = exchange.set_cookie if lower == "set-cookie" else []
            if lower != "set-cookie" and lower in exchange.headers:
                values = [exchange.headers[lower]]
            if not values:
                if header.get("required"):
                    found.append(f"required header {name} is missing")
                continue
            schema = header.get("schema")
            if schema is None:
                continue
            reference = response["headers"][name].get("$ref")
            if isinstance(reference, str) and reference.startswith("#"):
                pointer = reference[1:] + "/schema"  # a shared header (components/headers)
            else:
                pointer = response_pointer + json_pointer("headers", name, "schema")
            for value in values:
                instance = _typed(value, self._resolve(schema))
                found += [f"header {name}: {error}" for error in self.validate(pointer, instance)]
        if self.declares_response_headers:
            found += [
                f"the client reads header {name}, which is not declared"
                for name in exchange.read_headers
                if name.lower() not in declared
            ]
        return found


def _typed(value: str, schema: Mapping[str, Any]) -> object:
    """A header value (always text on the wire) as the JSON type its schema declares."""
    try:
        if schema.get("type") == "integer":
            return int(value)
        if schema.get("type") == "number":
            return float(value)
    except ValueError:
        pass  # left as text, so the validator reports the wrong type
    return value
