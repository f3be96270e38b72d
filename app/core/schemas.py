"""Shared building blocks for request and response models."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

T = TypeVar("T")


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL; refuse it as bad input rather than fail later.
        if isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("string_nul", "NUL characters are not allowed")
        return value


class OutputModel(BaseModel):
    """Response bodies. A field with a default is still always present in an answer, so
    the response schema marks it required (request schemas keep it optional)."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


class Page(OutputModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )


# Lax mode would take 0/1 or "yes" for a boolean and "3" for an integer.
Flag = Annotated[bool, Field(strict=True)]

Email = Annotated[EmailStr, StringConstraints(max_length=254)]


def _trimmed(value: str) -> str:
    # Lengths are checked on the text as sent (what the schema promises), then it is
    # trimmed; text that is only spaces is refused.
    trimmed = value.strip()
    if value and not trimmed:
        raise PydanticCustomError("string_blank", "must not be blank")
    return trimmed


def trimmed_text(*, min_length: int = 0, max_length: int) -> Any:
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(_trimmed),
    ]


Name = trimmed_text(min_length=1, max_length=200)
Phone = Annotated[
    str,
    StringConstraints(min_length=5, max_length=32, pattern=r"^\+?[0-9 ()./-]{5,32}$"),
]
CountryCode = Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$")]


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    # Lax mode would read 0 or "1700000000" as a Unix time: a day is "YYYY-MM-DD" only.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value)):
        return value
    raise PydanticCustomError("iso_day", "expected a day as YYYY-MM-DD")


IsoDay = Annotated[date, BeforeValidator(_iso_day)]
