"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.core.errors import AppError

T = TypeVar("T")


class InvalidCursor(AppError):
    status = 422
    type = "invalid-cursor"
    title = "Invalid cursor"
    description = "The `cursor` is not one this API issued for this list."
    extension_members = {
        "parameter": {
            "type": "string",
            "description": "The parameter at fault.",
            "examples": ["cursor"],
        }
    }


def _foreign_cursor() -> InvalidCursor:
    return InvalidCursor("The cursor is not one this API issued.", parameter="cursor")


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise _foreign_cursor() from exc
    if not isinstance(values, list) or len(values) != arity:
        raise _foreign_cursor()
    return values


Limit = Annotated[int, Query(ge=1, le=100, description="Page size (at most 100).")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="`next_cursor` from the previous page."),
]


async def paginate_by_creation(
    session: AsyncSession,
    query: Select[tuple[T]],
    *,
    created_at: InstrumentedAttribute[datetime],
    id_: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> tuple[list[T], str | None]:
    """Keyset pagination on (created_at, id): stable under concurrent inserts."""
    if cursor:
        raw_created, raw_id = decode_cursor(cursor, arity=2)
        try:
            after_created = datetime.fromisoformat(str(raw_created))
            after_id = uuid.UUID(str(raw_id))
        except ValueError as exc:
            raise InvalidCursor(
                "The cursor is not one this API issued.", parameter="cursor"
            ) from exc
        if after_created.tzinfo is None:
            raise InvalidCursor("The cursor is not one this API issued.", parameter="cursor")
        if newest_first:
            query = query.where(tuple_(created_at, id_) < tuple_(after_created, after_id))
        else:
            query = query.where(tuple_(created_at, id_) > tuple_(after_created, after_id))
    order = (created_at.desc(), id_.desc()) if newest_first else (created_at, id_)
    rows = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(
        [getattr(last, created_at.key).isoformat(), str(getattr(last, id_.key))]
    )
