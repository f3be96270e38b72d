"""Shared building blocks for request and response models."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Generic, TypeVar, get_args

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
from pydantic_core import PydanticCustomError, to_jsonable_python

T = TypeVar("T")


# Each field is documented by the docstring on the line after it; that text becomes the
# property's description in the published schema.
DOCUMENTED = ConfigDict(use_attribute_docstrings=True)


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid", **DOCUMENTED)

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
        from_attributes=True, json_schema_serialization_defaults_required=True, **DOCUMENTED
    )


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """Published examples of a body; a test checks each one validates."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


def _page_schema(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    # Parametrised pages (Page[OrderSummary]) are new classes without the docstring,
    # and their example is one page holding the example of the item type.
    schema.setdefault("description", Page.__doc__)
    (item_type,) = get_args(cls.model_fields["items"].annotation) or (None,)
    extra = getattr(item_type, "model_config", {}).get("json_schema_extra")
    if isinstance(extra, dict) and extra.get("examples"):
        schema["examples"] = [
            {"items": [extra["examples"][0]], "next_cursor": "eyJpZCI6IDQyfQ"},
        ]


def _subclasses(cls: type[BaseModel]) -> set[type[BaseModel]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def restore_example_nulls(schemas: dict[str, Any]) -> None:
    """Put back the nulls FastAPI strips from examples.

    The spec is encoded with `exclude_none`, which also drops every `null` inside an
    example, so a required nullable field (`"paid_at": null`) disappears and the example
    no longer validates. Each model's examples are taken again from its own schema.
    """
    by_title: dict[str, list[type[BaseModel]]] = {}
    for model in _subclasses(BaseModel):
        by_title.setdefault(model.__name__, []).append(model)
    for schema in schemas.values():
        models = by_title.get(schema.get("title", ""), [])
        if "examples" not in schema or len(models) != 1:
            continue
        extra = models[0].model_config.get("json_schema_extra")
        if isinstance(extra, dict):
            # As written, fields in the schema's order (the generated schema sorts keys).
            schema["examples"] = to_jsonable_python(extra["examples"])
        else:
            own = models[0].model_json_schema()
            # A recursive model (a category tree) is a reference into its own $defs.
            schema["examples"] = own.get("$defs", {}).get(models[0].__name__, own)["examples"]


class Page(OutputModel, Generic[T]):
    """One page of a list, in a stable order. Ask for the next page with `next_cursor`."""

    model_config = ConfigDict(json_schema_extra=_page_schema)

    items: list[T]
    """The entries of this page, at most `limit` of them."""
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
