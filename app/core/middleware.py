"""Pure ASGI middleware: request ids and access logs, security headers, body limits."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import MalformedRequest, PayloadTooLarge, problem_response
from app.core.logging import reset_request_id, set_request_id

access_log = logging.getLogger("facet.access")

# fullmatch: `$` alone would also accept a trailing newline.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


UNMATCHED_ROUTE = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's template (`/v1/orders/{order_id}`), never the requested path.

    Read after the app has run. FastAPI keeps included routers nested: the effective
    context (kept under scope["fastapi"]) has the full template; scope["route"] lacks
    the prefixes.
    """
    fastapi_scope = scope.get("fastapi")
    effective = (
        fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    )
    route = effective or scope.get("route")
    return getattr(route, "path_format", None) or UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Echo or generate `X-Request-ID`, and log one access line per request.

    The access line holds the route template, never the raw path or query string,
    which can carry an email or a token.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        token = set_request_id(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route_template(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            reset_request_id(token)


API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Exactly what the docs pages need, all from this origin: the bundles' scripts (no inline
# script), data: icons, the spec fetched (and "Try it out"), ReDoc's search worker started
# from a blob, and inline styles (ReDoc injects its styles at run time: without
# 'unsafe-inline' it renders nothing).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc", "/admin/docs", "/admin/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["X-Frame-Options"] = "DENY"
                headers["Content-Security-Policy"] = csp
                headers["Cross-Origin-Resource-Policy"] = "same-site"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes` with a 413 problem, declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, receive, send, 400, "Invalid Content-Length")
                return
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send, 413)
                return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the body read, so the framework's handler renders it.
                    raise HTTPException(413, self._too_large_detail)
            return message

        await self.app(scope, counting_receive, send)

    @property
    def _too_large_detail(self) -> str:
        return f"The request body must not exceed {self.max_bytes} bytes."

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, detail: Any = None
    ) -> None:
        problem = PayloadTooLarge if status == PayloadTooLarge.status else MalformedRequest
        if problem is PayloadTooLarge:
            detail = self._too_large_detail
        response = problem_response(status, type_=problem.type, title=problem.title, detail=detail)
        await response(scope, receive, send)
