from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from app.core.schemas import Email, Flag, InputModel, IsoDay, OutputModel
from app.privacy.consent_models import ConsentSource, Purpose

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


# ---- consent ledger, opt-out, newsletter, campaigns ----

OptOutTokenText = Annotated[str, StringConstraints(min_length=1, max_length=512)]
EmailTokenText = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ConsentStateRead(OutputModel):
    purpose: Purpose
    granted: bool
    since: datetime | None = Field(description="When it was last chosen; null: never chosen.")


class ConsentChoices(InputModel):
    """One or several purposes to grant (true) or withdraw (false); others are unchanged."""

    marketing_email: Flag | None = None
    marketing_mail: Flag | None = None
    marketing_phone: Flag | None = None
    newsletter: Flag | None = None
    testimonial_name: Flag | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ConsentChoices:
        if not self.model_dump(exclude_none=True):
            raise ValueError("choose at least one purpose")
        return self

    def chosen(self) -> dict[Purpose, bool]:
        return {Purpose(k): v for k, v in self.model_dump(exclude_none=True).items()}


class ConsentEventRead(OutputModel):
    purpose: Purpose
    granted: bool
    source: ConsentSource
    policy_version: int | None = Field(description="The privacy policy version then in force.")
    recorded_at: datetime


class OptOutRequest(InputModel):
    token: OptOutTokenText = Field(description="The opt-out code from a marketing email.")
    purpose: (
        Literal["marketing_email", "marketing_mail", "marketing_phone", "newsletter", "all"] | None
    ) = Field(
        default=None,
        description="The link's own purpose (default), or `all` to stop every marketing.",
    )


class NewsletterSubscribe(InputModel):
    email: Email
    is_adult: Flag = Field(description="An 18+ attestation (P9); a minor's request stores nothing.")


class NewsletterConfirm(InputModel):
    token: EmailTokenText


class NewsletterUnsubscribe(InputModel):
    """Either the code of a newsletter email (withdraws at once) or an address (a link is
    mailed to it if it is subscribed; the answer is the same either way)."""

    token: OptOutTokenText | None = None
    email: Email | None = None

    @model_validator(mode="after")
    def _one_of(self) -> NewsletterUnsubscribe:
        if (self.token is None) == (self.email is None):
            raise ValueError("send either token or email")
        return self


class CampaignCreate(InputModel):
    purpose: Literal["marketing_email", "newsletter", "marketing_mail", "marketing_phone"] = Field(
        description="The consent recipients must hold; it also picks the channel. Only the "
        "email purposes can be sent: postal mail and phone are refused (422)."
    )
    subject_line: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]


class CampaignRead(OutputModel):
    id: uuid.UUID
    purpose: Purpose
    subject_line: str
    body: str
    created_at: datetime
    queued: int = Field(description="Messages queued: one per consenting subject.")
