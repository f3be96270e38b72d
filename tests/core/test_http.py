"""What every client sees at the HTTP layer: problems, limits, ids, headers, CORS, health."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.core.db import create_engine, create_sessionmaker
from app.core.logging import JsonFormatter
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD

PROBLEM = "https://facet.example/problems/"
PROBLEM_JSON = "application/problem+json"
LIMIT = 1_000_000
ALLOWED_ORIGIN = "http://localhost:3000"
EVIL_ORIGIN = "https://evil.example"
SECRET_IN_MESSAGE = "ada.lovelace@example.com card 4242424242424242"
PRODUCTION_OVERRIDES: dict[str, object] = {
    "env": "production",
    "jwt_secret": "production-secret-that-is-long-enough-0123456789",
    "privacy_hash_secret": "production-privacy-hash-key-long-enough-9876543210",
    "payment_provider": "stripe",
    "stripe_api_key": "sk_test_example",
    "stripe_webhook_secret": "whsec_example",
}


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    assert body["title"]
    return body


def registration_json(email: str = "grace.hopper@example.com") -> bytes:
    return json.dumps(
        {
            "email": email,
            "password": DEFAULT_PASSWORD,
            "full_name": "Grace Hopper",
            "date_of_birth": "1980-12-09",
        }
    ).encode()


def padded_registration(size: int) -> bytes:
    """A valid registration padded with JSON whitespace to `size` bytes."""
    body = registration_json()
    return body + b" " * (size - len(body))


async def count_accounts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


class _JsonLines(logging.Handler):
    """Keeps each record as the JSON line the service would write (request id included)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@contextmanager
def log_lines(name: str) -> Iterator[list[dict[str, Any]]]:
    logger = logging.getLogger(name)
    handler = _JsonLines()
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


def client_for(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# --- problem documents for framework errors --------------------------------------------


async def test_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")
    assert_problem(response, 404, "not-found")


async def test_wrong_method_is_a_405_problem_with_allow_header(client: httpx.AsyncClient) -> None:
    response = await client.delete("/healthz")
    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET"


async def test_wrong_method_allow_header_lists_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/v1/me")
    assert_problem(response, 405, "method-not-allowed")
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed == {"GET", "PATCH"}


async def test_invalid_json_body_is_a_422_problem_with_field_errors(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/accounts", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 422, "validation-error")
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}
    assert body["errors"][0]["loc"][0] == "body"
    assert body["errors"][0]["type"] == "json_invalid"


# --- body size limit -------------------------------------------------------------------


async def test_declared_body_over_one_megabyte_is_413_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        "/v1/accounts",
        content=padded_registration(LIMIT + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(response, 413, "payload-too-large")
    assert await count_accounts(session) == 0


async def test_body_of_exactly_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts",
        content=padded_registration(LIMIT),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def _chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_streamed_body_over_the_limit_without_length_is_413_and_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    request = client.build_request(
        "POST",
        "/v1/accounts",
        content=_chunks(padded_registration(LIMIT + 64 * 1024)),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await client.send(request)
    assert_problem(response, 413, "payload-too-large")
    assert await count_accounts(session) == 0


async def test_streamed_body_under_the_limit_is_accepted(client: httpx.AsyncClient) -> None:
    request = client.build_request(
        "POST",
        "/v1/accounts",
        content=_chunks(padded_registration(200_000), size=10_000),
        headers={"Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    response = await client.send(request)
    assert response.status_code == 201, response.text


# --- media types -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("text/plain", registration_json()),
        ("application/x-www-form-urlencoded", b"email=grace%40example.com&password=x"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\n\r\n--xyz--\r\n"),
    ],
    ids=["text-plain", "urlencoded-form", "multipart-form"],
)
async def test_json_route_refuses_other_media_types_with_415(
    client: httpx.AsyncClient, session: AsyncSession, content_type: str, content: bytes
) -> None:
    response = await client.post(
        "/v1/accounts", content=content, headers={"Content-Type": content_type}
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert await count_accounts(session) == 0


async def test_json_route_accepts_a_json_suffix_media_type(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts",
        content=registration_json(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 201, response.text


async def test_token_route_refuses_a_json_body_with_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/token", json={"username": "ada@example.com", "password": DEFAULT_PASSWORD}
    )
    assert_problem(response, 415, "unsupported-media-type")


# --- unexpected errors -----------------------------------------------------------------


@pytest.fixture
async def crashing_app(database_url: str) -> AsyncIterator[FastAPI]:
    """A fresh app with one route that fails with an exception nobody handles."""
    application = create_app(make_settings(database_url))

    async def explode() -> None:
        raise RuntimeError(SECRET_IN_MESSAGE)

    application.add_api_route("/v1/explode", explode, methods=["GET"])
    async with application.router.lifespan_context(application):
        yield application


async def test_unexpected_exception_is_a_500_problem_that_leaks_nothing(
    crashing_app: FastAPI,
) -> None:
    async with client_for(crashing_app, raise_app_exceptions=False) as c:
        response = await c.get("/v1/explode")
    assert_problem(response, 500, "internal-error")
    assert "ada.lovelace" not in response.text
    assert "4242" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert "explode" not in response.text


async def test_unexpected_exception_keeps_request_id_and_security_headers(
    crashing_app: FastAPI,
) -> None:
    async with client_for(crashing_app, raise_app_exceptions=False) as c:
        response = await c.get("/v1/explode", headers={"X-Request-ID": "support-case-42"})
    body = assert_problem(response, 500, "internal-error")
    assert response.headers["x-request-id"] == "support-case-42"
    assert body["request_id"] == "support-case-42"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_unexpected_exception_is_logged_with_request_id_and_no_message_text(
    crashing_app: FastAPI,
) -> None:
    with log_lines("facet.errors") as lines:
        async with client_for(crashing_app, raise_app_exceptions=False) as c:
            response = await c.get("/v1/explode", headers={"X-Request-ID": "crash-trace-7"})
    assert response.status_code == 500
    errors = [line for line in lines if line["level"] == "error"]
    assert len(errors) == 1
    record = errors[0]
    assert record["request_id"] == "crash-trace-7"
    assert record["error_type"] == "RuntimeError"
    assert "ada.lovelace" not in json.dumps(record)
    assert "4242" not in json.dumps(record)


# --- request ids -----------------------------------------------------------------------


async def test_valid_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "edge-01.abc_DEF-9"})
    assert response.headers["x-request-id"] == "edge-01.abc_DEF-9"


async def test_request_id_is_generated_when_missing(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "incoming",
    ["has spaces in it", "x" * 129, "semi;colon", "new\tline", "ümlaut", "abc\n", ""],
    ids=["spaces", "too-long", "semicolon", "tab", "non-ascii", "trailing-newline", "empty"],
)
async def test_invalid_request_id_is_replaced_by_a_generated_one(
    client: httpx.AsyncClient, incoming: str
) -> None:
    response = await client.get("/healthz", headers=[(b"X-Request-ID", incoming.encode("utf-8"))])
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_request_id_of_exactly_128_characters_is_echoed(client: httpx.AsyncClient) -> None:
    incoming = "a" * 128
    response = await client.get("/healthz", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming


async def test_problem_body_carries_the_request_id_of_the_response(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/no-such-thing")
    body = assert_problem(response, 404, "not-found")
    assert body["request_id"] == response.headers["x-request-id"]


async def test_access_log_names_the_route_template_not_the_raw_path_or_query(
    client: httpx.AsyncClient,
) -> None:
    address_id = uuid.uuid4()
    with log_lines("facet.access") as lines:
        await client.patch(f"/v1/me/addresses/{address_id}?email=ada@example.com", json={})
        await client.get("/v1/admin/accounts?cursor=ada@example.com")
    routes = [line["route"] for line in lines]
    assert routes == ["/v1/me/addresses/{address_id}", "/v1/admin/accounts"]
    text = json.dumps(lines)
    assert str(address_id) not in text
    assert "ada@example.com" not in text
    assert [line["status"] for line in lines] == [401, 401]


# --- security headers ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/v1/no-such-thing", "/v1/me"])
async def test_api_responses_carry_strict_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


async def test_docs_get_a_relaxed_csp_that_still_forbids_framing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "script-src" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_no_hsts_outside_production(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert "strict-transport-security" not in response.headers


async def test_hsts_is_sent_in_production(database_url: str) -> None:
    application = create_app(make_settings(database_url, **PRODUCTION_OVERRIDES))
    async with client_for(application) as c:
        response = await c.get("/healthz")
    assert response.status_code == 200
    hsts = response.headers["strict-transport-security"]
    assert re.search(r"max-age=\d{8,}", hsts)  # at least a year
    assert "includeSubDomains" in hsts


# --- CORS ------------------------------------------------------------------------------


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "Authorization, Content-Type",
    }


async def test_preflight_from_allowed_origin_is_granted_with_credentials(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/v1/me", headers=preflight_headers(ALLOWED_ORIGIN))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "PATCH" in response.headers["access-control-allow-methods"]


async def test_request_from_allowed_origin_may_read_the_response(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "X-Request-ID" in response.headers["access-control-expose-headers"]


async def test_preflight_from_unlisted_origin_gets_no_allow_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options("/v1/me", headers=preflight_headers(EVIL_ORIGIN))
    assert "access-control-allow-origin" not in response.headers


async def test_request_from_unlisted_origin_gets_no_allow_origin(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"Origin": EVIL_ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def wildcard_cors_app(database_url: str) -> FastAPI:
    return create_app(make_settings(database_url, cors_origins=["*"]))


async def test_wildcard_cors_preflight_never_allows_credentials(
    wildcard_cors_app: FastAPI,
) -> None:
    async with client_for(wildcard_cors_app) as c:
        response = await c.options("/v1/me", headers=preflight_headers(EVIL_ORIGIN))
    assert response.headers.get("access-control-allow-credentials") != "true"
    assert response.headers.get("access-control-allow-origin") != EVIL_ORIGIN


async def test_wildcard_cors_request_with_cookie_never_allows_credentials(
    wildcard_cors_app: FastAPI,
) -> None:
    async with client_for(wildcard_cors_app) as c:
        response = await c.get(
            "/healthz", headers={"Origin": EVIL_ORIGIN, "Cookie": "session=stolen"}
        )
    assert response.status_code == 200
    assert response.headers.get("access-control-allow-credentials") != "true"


# --- health and documentation ----------------------------------------------------------


async def test_healthz_reports_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


@pytest.mark.parametrize(
    "unreachable_url",
    [
        "postgresql+asyncpg://postgres@127.0.0.1:1/nope",
        "sqlite+aiosqlite:////nonexistent-dir/facet.db",
    ],
    ids=["postgres-refused", "sqlite-missing-dir"],
)
async def test_readyz_is_a_503_problem_when_the_database_is_unreachable(
    client: httpx.AsyncClient, bound_app: FastAPI, unreachable_url: str
) -> None:
    engine = create_engine(unreachable_url)
    saved = bound_app.state.sessionmaker
    bound_app.state.sessionmaker = create_sessionmaker(engine)
    try:
        response = await client.get("/readyz")
    finally:
        bound_app.state.sessionmaker = saved
        await engine.dispose()
    assert_problem(response, 503, "service-unavailable")
    assert "127.0.0.1" not in response.text
    assert "nonexistent-dir" not in response.text
    # The process itself is still alive.
    assert (await client.get("/healthz")).status_code == 200


async def test_openapi_document_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Facet"
    assert "/v1/me" in spec["paths"]


async def test_interactive_docs_are_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
