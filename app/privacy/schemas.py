from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.core.schemas import Flag, InputModel, IsoDay, OutputModel

PolicyText = Annotated[str, StringConstraints(min_length=100, max_length=200_000)]
NoticeText = Annotated[str, StringConstraints(min_length=10, max_length=500)]


class PolicyNotice(OutputModel):
    """A material change, to be shown on the home page until `until` (P12)."""

    version: int
    text: str
    effective_on: date
    until: date


class PolicyVersionRead(OutputModel):
    version: int
    effective_on: date
    material: bool
    text_markdown: str
    notice_until: date | None
    notice_text: str | None
    published_at: datetime


class PolicyRead(OutputModel):
    """The policy in force, and the home-page notice while a material change's notice runs."""

    version: int
    effective_on: date
    material: bool
    text_markdown: str
    notice: PolicyNotice | None = Field(
        description="Show this on the home page while present; null when no notice runs."
    )


class PolicyPublish(InputModel):
    text_markdown: PolicyText
    material: Flag = Field(
        description="A material change emails every account and raises the home-page notice."
    )
    effective_on: IsoDay | None = Field(
        default=None, description="When the version takes effect (today if omitted)."
    )
    notice_days: Annotated[int, Field(strict=True, ge=1, le=365)] = Field(
        default=30,
        description="A material change's notice runs from publication until this many days "
        "after it takes effect.",
    )
    notice_text: NoticeText | None = Field(
        default=None, description="Home-page notice; a default sentence when omitted."
    )


class PolicyPublished(PolicyVersionRead):
    notices_queued: int = Field(description="Notice emails queued (one per active account).")


class PolicyAcceptanceRead(OutputModel):
    version: int
    accepted_at: datetime


class TechnicalDataRead(OutputModel):
    """Requests counted for one day and one combination of coarse traits (P4)."""

    day: date
    method: str
    route: str = Field(description="The route template, never the requested path.")
    status: int
    browser: str
    os: str
    referrer_host: str = Field(description='The referring site\'s host; "" when none.')
    ip_prefix: str = Field(description='The client network (/24 or /48); "" when unknown.')
    requests: int
