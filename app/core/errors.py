"""Problem details (RFC 9457) for every error the API can answer."""

from __future__ import annotations

import logging
import re
import traceback
from dataclasses import dataclass, field
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
    """An RFC 9457 problem document: the body of every 4xx and 5xx answer. `type`
    identifies the problem: each operation lists the types it can answer, and each type's
    URI serves a page explaining it.

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
    errors: list[FieldProblem] | None = Field(
        default=None, description="`validation-error` only: each invalid field."
    )
    parameter: str | None = Field(
        default=None,
        description="The request field or parameter at fault, when there is one "
        "(`invalid-cursor`, `invalid-filter`, `age-restricted`, ...).",
    )
    decline_code: str | None = Field(
        default=None,
        description="`payment-declined` only: the processor's reason, e.g. `card_declined`, "
        "`insufficient_funds`, `expired_card`.",
    )
    currency: str | None = Field(
        default=None, description="`currency-not-accepted` only: the store's currency."
    )
    order_number: str | None = Field(
        default=None,
        description="`erasure-blocked-by-open-order` only: the order that must complete first.",
    )


@dataclass(frozen=True)
class ProblemType:
    """One entry of the problem-type catalogue: what a `type` URI means."""

    slug: str
    status: int
    title: str
    description: str
    # Extension members this type always carries, as JSON Schema properties.
    extensions: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return problem_type(self.slug)


# Every problem type the API can answer, by slug: each AppError subclass that names its
# own `type` registers itself when its module is imported.
CATALOGUE: dict[str, ProblemType] = {}


class AppError(Exception):
    """A domain error that renders as a problem. Subclasses set the class attributes.

    A subclass naming its own `type` adds it to the catalogue, so it must also say
    what it means (`description`) for the type's page and the OpenAPI document.
    """

    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = ""
    # Extension members this type always carries (JSON Schema properties), e.g. the
    # `decline_code` of a `payment-declined`.
    extension_members: ClassVar[dict[str, dict[str, Any]]] = {}
    headers: dict[str, str] | None = None
    # When true, the request's transaction is committed before the problem is sent
    # (e.g. a security revocation that must stick even though the request fails).
    commit_changes: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return
        if not cls.description:
            raise TypeError(
                f"{cls.__qualname__} names the problem type {cls.type!r} without a description"
            )
        entry = ProblemType(
            cls.type, cls.status, cls.title, cls.description, dict(cls.extension_members)
        )  # fmt: skip
        known = CATALOGUE.setdefault(cls.type, entry)
        if known != entry:
            raise TypeError(f"{cls.__qualname__} redefines the problem type {cls.type!r}")

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class NotFound(AppError):
    status = 404
    type = "not-found"
    title = "Not found"
    description = (
        "Nothing answers at this path. Operations that load something by id answer a more "
        "specific type (`order-not-found`, `product-not-found`, ...); an object that exists "
        "but belongs to someone else is reported the same way, so ids leak nothing."
    )


class Conflict(AppError):
    status = 409
    type = "conflict"
    title = "Conflict"
    description = "The request conflicts with the current state of the resource."


class Unauthorized(AppError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"
    description = "The operation needs credentials: send `Authorization: Bearer <token>`."
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status = 403
    type = "forbidden"
    title = "Forbidden"
    description = "The credentials are valid but do not allow this operation."


class TooManyRequests(AppError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"
    description = (
        "A rate limit was reached (per client address, account or order, depending on the "
        "operation). Wait the number of seconds in the `Retry-After` header, then retry."
    )

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class ServiceUnavailable(AppError):
    status = 503
    type = "service-unavailable"
    title = "Service unavailable"
    description = "A service the API depends on (e.g. the database) does not answer; retry later."


class AgeRestricted(AppError):
    """P9: the store collects nothing from, and sells nothing to, persons under 18; a
    refused submission stores nothing."""

    status = 422
    type = "age-restricted"
    title = "Only persons aged 18 or over may do this"
    description = (
        "The date of birth given makes the person under 18, or the 18+ attestation "
        "(`is_adult`) is missing or false. Registration, checkout, referrals, testimonials, "
        "the newsletter, contact and privacy inquiries all refuse minors, and store nothing "
        "of a refused request. `parameter` names the field at fault when there is one."
    )


# Problems the framework and middleware answer (they are never raised as AppError): their
# classes give the handlers their type and title, and routes declare them like any other.
class MalformedRequest(AppError):
    status = 400
    type = "malformed-request"
    title = "Bad Request"
    description = (
        "The request could not be read: a body that is not valid UTF-8 JSON or form data, "
        "or an invalid `Content-Length`."
    )


class MethodNotAllowed(AppError):
    status = 405
    type = "method-not-allowed"
    title = "Method Not Allowed"
    description = (
        "The path exists but not with this method; the `Allow` header lists those it takes."
    )


class PayloadTooLarge(AppError):
    status = 413
    type = "payload-too-large"
    title = "Content Too Large"
    description = "The request body is larger than the API accepts (`detail` gives the limit)."


class UnsupportedMediaType(AppError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported Media Type"
    description = (
        "The body's `Content-Type` is not one the operation takes: `application/json` for "
        "JSON bodies, `application/x-www-form-urlencoded` for the token endpoint's form."
    )


class ValidationFailed(AppError):
    status = 422
    type = "validation-error"
    title = "Validation failed"
    description = (
        "Some fields, parameters or headers are missing or invalid. `errors` lists each "
        'one with its location (`loc`, e.g. `["body", "quantity"]`), a message and a '
        "machine-readable `type` (e.g. `missing`, `less_than_equal`, `extra_forbidden`)."
    )
    extension_members = {
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}}
    }


class InternalError(AppError):
    status = 500
    type = "internal-error"
    title = "Internal server error"
    description = (
        "An unexpected failure. Nothing is revealed; quote the `request_id` when reporting it."
    )


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


_HTTP_PROBLEMS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        MalformedRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, PayloadTooLarge,
        UnsupportedMediaType,
    )
}  # fmt: skip


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
        for template, item in request.app.state.complete_openapi()["paths"].items():
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
    known = _HTTP_PROBLEMS.get(status)
    return problem_response(
        status,
        type_=known.type if known else "about:blank",
        title=known.title if known else None,
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
        ValidationFailed.status,
        type_=ValidationFailed.type,
        title=ValidationFailed.title,
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
    return problem_response(
        InternalError.status, type_=InternalError.type, title=InternalError.title
    )


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
