"""Problem details (RFC 9457) for every error the API can answer."""

from __future__ import annotations

import logging
import re
import traceback
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import get_request_id

log = logging.getLogger("facet.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://facet.example/problems/"


class FieldProblem(BaseModel):
    """One invalid part of a request, in a 422 problem's `errors` list."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    loc: list[str | int]
    """Where the problem is: the request part (`body`, `query`, `path`, `header`) then the
    field names and list indexes, e.g. `["body", "shipping_address", "postal_code"]`."""
    msg: str
    """What is wrong, in English, for a developer (show your own wording to shoppers)."""
    type: str
    """A stable machine code for the kind of problem, e.g. `missing`, `string_too_long`,
    `extra_forbidden`; map these to UI messages."""


class Problem(BaseModel):
    """An RFC 9457 problem document: the body of every 4xx and 5xx answer.

    Branch on `type` (stable), never on `title` or `detail` (wording may change).
    Some types add extension fields (e.g. `decline_code` on a declined payment).
    """

    model_config = ConfigDict(extra="allow", use_attribute_docstrings=True)

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    """A URI naming the kind of problem; stable, the key to map an error to UI."""
    title: str
    """A short English summary of the problem type; the same for every occurrence."""
    status: int
    """The HTTP status code of the answer, repeated for convenience."""
    detail: str | None = None
    """An English explanation of this occurrence, for developers; never holds personal data."""
    instance: str | None = None
    """A URI identifying this occurrence, when one is given (RFC 9457)."""
    request_id: str | None = None
    """The request's id, also sent as the `X-Request-ID` header; quote it to support."""
    errors: list[FieldProblem] | None = None
    """On a 422, every invalid field of the request; absent otherwise."""


class AppError(Exception):
    """A domain error that renders as a problem. Subclasses set the class attributes."""

    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    headers: dict[str, str] | None = None
    # When true, the request's transaction is committed before the problem is sent
    # (e.g. a security revocation that must stick even though the request fails).
    commit_changes: ClassVar[bool] = False

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class NotFound(AppError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    type = "conflict"
    title = "Conflict"


class Unauthorized(AppError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status = 403
    type = "forbidden"
    title = "Forbidden"


class TooManyRequests(AppError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class ServiceUnavailable(AppError):
    status = 503
    type = "service-unavailable"
    title = "Service unavailable"


def problem_type(slug: str) -> str:
    return slug if slug == "about:blank" else PROBLEM_BASE + slug


def problem_response(
    status: int,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(type_),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    request_id = get_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return JSONResponse(body, status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_DEFAULT_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing or invalid credentials",
    403: "Not allowed for this account",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflicts with the current state",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    503: "Service unavailable",
}

# Every operation can answer these, whatever it does.
COMMON_STATUSES = (400, 413, 415, 422, 429)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries rendering each status as a Problem."""
    return {
        status: {
            "description": _DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in sorted({*statuses, *COMMON_STATUSES})
    }


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AppError):
        raise exc
    return problem_response(
        exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        **exc.extensions,
    )


_HTTP_TYPES = {
    400: "malformed-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
}


_OPERATION_METHODS = ("get", "put", "post", "delete", "patch")


def _allowed_methods(request: Request) -> str | None:
    """Every method the path answers to; the router reports only the first route it tried.

    A concrete path (`/v1/orders/track`) shadows the templates it also matches
    (`/v1/orders/{order_id}`), as OpenAPI matches them.
    """
    table: list[tuple[re.Pattern[str], bool, list[str]]] | None = getattr(
        request.app.state, "allowed_methods", None
    )
    if table is None:
        table = []
        for template, item in request.app.openapi()["paths"].items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            methods = [m.upper() for m in _OPERATION_METHODS if m in item]
            table.append((re.compile(f"^{pattern}$"), "{" not in template, methods))
        request.app.state.allowed_methods = table
    matches = [(concrete, ms) for pattern, concrete, ms in table if pattern.match(request.url.path)]
    if any(concrete for concrete, _ in matches):
        matches = [(concrete, ms) for concrete, ms in matches if concrete]
    allowed = sorted({m for _, ms in matches for m in ms})
    return ", ".join(allowed) or None


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail == HTTPStatus(status).phrase:
        detail = None
    headers = dict(exc.headers) if exc.headers else {}
    if status == 405 and (allow := _allowed_methods(request)):
        headers["Allow"] = allow
    return problem_response(
        status,
        type_=_HTTP_TYPES.get(status, "about:blank"),
        detail=detail,
        headers=headers or None,
    )


def _field_problem(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "loc": [p if isinstance(p, int) else str(p) for p in error["loc"]],
        "msg": error["msg"],
        "type": error["type"],
    }


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    # Echoing `input` back could reflect personal data or secrets: only loc/msg/type.
    errors = [_field_problem(e) for e in exc.errors()]
    return problem_response(
        422,
        type_="validation-error",
        title="Validation failed",
        detail="The request has invalid fields; see `errors`.",
        errors=errors,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The exception's message can quote personal data (a driver error echoing a
    # value), so only its type and the frames are logged.
    frames = [
        f"{f.filename}:{f.lineno} {f.name}"
        for f in traceback.extract_tb(exc.__traceback__)
        if "site-packages" not in f.filename
    ]
    log.error(
        "unhandled error",
        extra={"error_type": type(exc).__qualname__, "stack": frames[-8:]},
    )
    return problem_response(500, type_="internal-error", title="Internal server error")


class UnexpectedErrorMiddleware:
    """Answer an exception no handler claimed with a 500 problem, inside the other middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for a problem document: let the server end the response
                raise
            response = await _unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # Starlette runs the `Exception` handler in ServerErrorMiddleware, outside every user
    # middleware: that 500 would lose its request id (in the log and the body) and its
    # X-Request-ID, security and CORS headers. So a crash below the middleware is rendered
    # by the innermost user middleware (added first, so it wraps only the router); the
    # handler still covers a crash inside a middleware.
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_exception_handler(Exception, _unexpected_error)
