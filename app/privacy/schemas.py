from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from app.core.schemas import Email, Flag, InputModel, IsoDay, OutputModel
from app.privacy.consent_models import ConsentSource, Purpose
from app.privacy.models import InquiryStatus, RequestKind, RequestStatus

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


# -- Access and erasure (issue 9) -----------------------------------------------------------


class ExportAccount(OutputModel):
    id: uuid.UUID
    email: str
    full_name: str
    phone: str | None
    role: str
    created_at: datetime
    adult_verified_at: datetime


class ExportAddress(OutputModel):
    id: uuid.UUID
    full_name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None
    is_default: bool


class ExportLoginSession(OutputModel):
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class ExportCartLine(OutputModel):
    variant_id: uuid.UUID
    quantity: int
    added_at: datetime


class ExportOrderLine(OutputModel):
    product_name: str
    sku: str
    options: dict[str, Any]
    quantity: int
    unit_price_minor: int


class ExportOrderEvent(OutputModel):
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    at: datetime


class ExportShipment(OutputModel):
    carrier: str
    service: str
    tracking_number: str
    created_at: datetime


class ExportProcessor(OutputModel):
    """A processor that received some of this order's data, and which."""

    processor: str
    role: str = Field(description="`payment` or `shipping`.")
    data: list[str]


class ExportOrder(OutputModel):
    id: uuid.UUID
    number: str
    status: str
    email: str
    phone: str | None
    shipping_address: dict[str, Any]
    referral_code: str | None
    currency: str
    total_minor: int
    created_at: datetime
    lines: list[ExportOrderLine]
    events: list[ExportOrderEvent]
    shipments: list[ExportShipment]
    processors: list[ExportProcessor]


class ExportPolicyAcceptance(OutputModel):
    version: int
    accepted_at: datetime


class ExportMessage(OutputModel):
    kind: str
    recipient: str
    subject: str
    body: str
    status: str
    created_at: datetime
    sent_at: datetime | None
    headers: dict[str, str] | None = Field(
        default=None, description="Extra mail headers (a marketing email's opt-out link)."
    )


class ExportEmailVerificationLink(OutputModel):
    email: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


class ExportEmailVerification(OutputModel):
    verified_at: datetime | None = Field(description="Null: the account's email is unverified.")
    links: list[ExportEmailVerificationLink]


class ExportConsentState(OutputModel):
    purpose: Purpose
    granted: bool
    since: datetime | None


class ExportConsentEvent(OutputModel):
    subject: str = Field(
        description="`account:<id>`, or `email:<keyed hash>` for a choice made with a "
        "verified address before it joined the account."
    )
    purpose: Purpose
    granted: bool
    source: ConsentSource
    policy_version: int | None
    recorded_at: datetime


class ExportNewsletterLink(OutputModel):
    email: str = Field(description='"" once confirmed (the address then lives with the grant).')
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None


class ExportNewsletter(OutputModel):
    subscribed: bool
    contact_addresses: list[str] = Field(
        description="Addresses kept to deliver what was asked for without an account."
    )
    confirmation_links: list[ExportNewsletterLink]


class ExportCampaign(OutputModel):
    subject: str
    purpose: Purpose
    subject_line: str
    queued_at: datetime


class ExportStoredAnswer(OutputModel):
    """An answer kept so a retried request (same `Idempotency-Key`) gets it again."""

    operation: str
    key: str
    answer: str | None
    created_at: datetime


class ExportInventoryNote(OutputModel):
    at: datetime
    reason: str
    note: str | None


class ExportReferralSent(OutputModel):
    """A referral the customer sent: its status only (the friend's data is the friend's)."""

    status: str
    created_at: datetime
    converted_at: datetime | None


class ExportInvitation(OutputModel):
    """A tell-a-friend referral of one of the customer's addresses, with the name and
    address its referrer gave (several referrers may name one address; it is emailed
    once, ever)."""

    name: str | None
    email: str | None
    created_at: datetime


class ExportTestimonial(OutputModel):
    title: str
    body: str
    rating: int
    product_id: uuid.UUID | None
    status: str
    created_at: datetime


class ExportSupportRequest(OutputModel):
    reference: str
    name: str
    email: str
    topic: str
    message: str
    answer: str | None
    created_at: datetime
    answered_at: datetime | None


class PersonalDataExport(OutputModel):
    """Every personal datum Facet holds about the signed-in customer (P8)."""

    generated_at: datetime
    account: ExportAccount | None = None
    addresses: list[ExportAddress] = []
    login_sessions: list[ExportLoginSession] = []
    email_verification: ExportEmailVerification | None = None
    cart: list[ExportCartLine] = []
    orders: list[ExportOrder] = Field(
        default=[],
        description="The account's orders; guest orders placed with a verified email too.",
    )
    policy_acceptances: list[ExportPolicyAcceptance] = []
    consents: list[ExportConsentState] = Field(
        default=[], description="The account's consent now, every purpose."
    )
    consent_history: list[ExportConsentEvent] = Field(
        default=[], description="Every recorded grant and withdrawal, oldest first."
    )
    newsletter: ExportNewsletter | None = None
    campaigns: list[ExportCampaign] = Field(
        default=[], description="Marketing campaigns queued for the customer."
    )
    messages: list[ExportMessage] = []
    stored_answers: list[ExportStoredAnswer] = []
    inventory_notes: list[ExportInventoryNote] = []
    privacy_requests: list[ExportPrivacyRequest] = []
    privacy_inquiries: list[ExportInquiry] = []
    legal_disclosures: list[ExportDisclosure] = Field(
        default=[], description="Disclosures to authorities required by law (P10)."
    )
    referral_code: str | None = Field(
        default=None, description="The customer's own tell-a-friend code."
    )
    referrals_sent: list[ExportReferralSent] = []
    invitations_received: list[ExportInvitation] = []
    testimonials: list[ExportTestimonial] = []
    support_requests: list[ExportSupportRequest] = []


class ErasureRequest(InputModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class ErasureKept(OutputModel):
    what: str
    why: str


class ErasureReceipt(OutputModel):
    """What an erasure deleted, anonymized, and kept (and why); also emailed to the
    account's address before that address is erased."""

    erased_at: datetime
    deleted: dict[str, int] = Field(description="Rows deleted, by table.")
    anonymized: dict[str, int] = Field(description="Rows anonymized, by table.")
    kept: list[ErasureKept]


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


# -- Requests without an account, inquiries, legal disclosures (issue 9) --------------------

RequestDetails = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
InquiryMessage = Annotated[str, StringConstraints(min_length=1, max_length=5000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class PrivacyRequestCreate(InputModel):
    email: Email
    type: RequestKind
    details: RequestDetails | None = Field(
        default=None, description="For a rectification: what is wrong and what it should say."
    )


class PrivacyRequestAccepted(OutputModel):
    """The same answer whether or not the address is known to the store."""

    id: uuid.UUID
    status: str = Field(description="`awaiting_verification`: a code was mailed to the address.")
    verify_by: datetime


class PrivacyRequestVerify(InputModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class PrivacyRequestResult(OutputModel):
    id: uuid.UUID
    type: RequestKind = Field(validation_alias="kind")
    status: RequestStatus
    receipt: ErasureReceipt | None = Field(
        default=None, description="For an erasure: what was deleted, anonymized and kept."
    )


class PrivacyRequestRead(OutputModel):
    """A request as staff see it; `email` is null once its subject was erased."""

    id: uuid.UUID
    type: RequestKind = Field(validation_alias="kind")
    status: RequestStatus
    email: str | None
    details: str | None
    created_at: datetime
    verify_by: datetime
    verified_at: datetime | None
    completed_at: datetime | None
    due_on: date = Field(description="One month from receipt.")


class InquiryCreate(InputModel):
    email: Email
    message: InquiryMessage
    is_adult: Flag = Field(description="Attests the sender is 18 or over (P9).")


class InquiryAcknowledged(OutputModel):
    reference: str
    due_on: date
    escalation: str = Field(description="Where to escalate if unresolved by `due_on`.")


class InquiryRead(OutputModel):
    id: uuid.UUID
    reference: str
    status: InquiryStatus
    email: str | None
    message: str | None
    answer: str | None
    created_at: datetime
    due_on: date
    answered_at: datetime | None
    closed_at: datetime | None
    overdue: bool


class InquiryAnswer(InputModel):
    answer: InquiryMessage


class DisclosureCreate(InputModel):
    subject_email: Email | None = None
    account_id: uuid.UUID | None = None
    data_categories: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    recipient: ShortText
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    reference: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    disclosed_on: IsoDay


class DisclosureRead(OutputModel):
    id: uuid.UUID
    subject_email: str | None
    account_id: uuid.UUID | None
    data_categories: list[str]
    recipient: str
    legal_basis: str
    reference: str
    disclosed_on: date
    recorded_at: datetime
    subject_erased_at: datetime | None


class ExportPrivacyRequest(OutputModel):
    type: str
    status: str
    email: str | None
    details: str | None
    created_at: datetime
    due_on: date


class ExportInquiry(OutputModel):
    reference: str
    status: str
    email: str | None
    message: str | None
    answer: str | None
    created_at: datetime
    due_on: date


class ExportDisclosure(OutputModel):
    subject_email: str | None
    data_categories: list[str]
    recipient: str
    legal_basis: str
    reference: str
    disclosed_on: date


PersonalDataExport.model_rebuild()
