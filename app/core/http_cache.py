"""ETag and Cache-Control for public reads: a matching If-None-Match gets 304; and a
bounded in-process store of serialized answers, for reads keyed by a shared version."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter

PUBLIC_MAX_AGE = 60
# Clients and proxies may store the answer but must revalidate it: a 304 is cheap, and a
# staff change then shows on the very next read.
REVALIDATE = "public, no-cache"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `If-None-Match` ETag is still current."}
}
_ANY_LIST = TypeAdapter(list[Any])
T = TypeVar("T")


def json_bytes(payload: BaseModel | list[Any]) -> bytes:
    """The JSON body of a response model (or a list of them), straight to bytes."""
    if isinstance(payload, BaseModel):
        return payload.__pydantic_serializer__.to_json(payload)
    return _ANY_LIST.dump_json(payload)


def etag_of(body: bytes) -> str:
    """A weak ETag from the body: it changes exactly when the answer does."""
    return f'W/"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag.removeprefix("W/") in candidates


def conditional_response(
    request: Request, body: bytes, etag: str, *, cache_control: str
) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def cached_json(
    request: Request, payload: BaseModel | list[Any], *, max_age: int = PUBLIC_MAX_AGE
) -> Response:
    body = json_bytes(payload)
    return conditional_response(
        request, body, etag_of(body), cache_control=f"public, max-age={max_age}"
    )


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    body: bytes
    etag: str


class AnswerCache:
    """Serialized answers by key: at most `entries`, the least recently used dropped first,
    each kept `seconds` at most. Per process; callers put a shared version in the key."""

    def __init__(self, *, entries: int, seconds: float) -> None:
        self._entries = entries
        self._seconds = seconds
        self._answers: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    def get(self, key: Hashable) -> StoredAnswer | None:
        answer = self.get_value(key)
        return answer if isinstance(answer, StoredAnswer) else None

    def put(self, key: Hashable, body: bytes) -> StoredAnswer:
        return self.put_value(key, StoredAnswer(body, etag_of(body)))

    def get_value(self, key: Hashable) -> Any:
        """Anything else worth keeping beside the answers (e.g. what builds them)."""
        entry = self._answers.get(key)
        if entry is None:
            return None
        expires_at, value = entry
        if expires_at <= time.monotonic():
            del self._answers[key]
            return None
        self._answers.move_to_end(key)
        return value

    def put_value(self, key: Hashable, value: T) -> T:
        self._answers[key] = (time.monotonic() + self._seconds, value)
        self._answers.move_to_end(key)
        while len(self._answers) > self._entries:
            self._answers.popitem(last=False)
        return value

    def clear(self) -> None:
        self._answers.clear()
