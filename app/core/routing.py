"""The route class every router uses: refuses bodies of the wrong media type with 415."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in request.headers


class FacetRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        is_form = isinstance(self.body_field.field_info, params.Form)
        accepted = FORM_TYPES if is_form else JSON_TYPES

        async def checked_handler(request: Request) -> Response:
            media_type = _media_type(request)
            if _has_body(request) and not (
                media_type in accepted or (not is_form and media_type.endswith("+json"))
            ):
                raise HTTPException(415, f"Send the body as {' or '.join(accepted)}.")
            return await handler(request)

        return checked_handler
