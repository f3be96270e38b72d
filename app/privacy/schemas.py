from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from app.core.schemas import Email, Flag, InputModel, IsoDay, OutputModel
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
    marketing_opt_in: bool
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


class PersonalDataExport(OutputModel):
    """Every personal datum Facet holds about the signed-in customer (P8)."""

    generated_at: datetime
    account: ExportAccount | None = None
    addresses: list[ExportAddress] = []
    login_sessions: list[ExportLoginSession] = []
    cart: list[ExportCartLine] = []
    orders: list[ExportOrder] = Field(
        default=[],
        description="The account's orders; guest orders placed with a verified email too.",
    )
    policy_acceptances: list[ExportPolicyAcceptance] = []
    messages: list[ExportMessage] = []
    stored_answers: list[ExportStoredAnswer] = []
    inventory_notes: list[ExportInventoryNote] = []
    privacy_requests: list[ExportPrivacyRequest] = []
    privacy_inquiries: list[ExportInquiry] = []
    legal_disclosures: list[ExportDisclosure] = Field(
        default=[], description="Disclosures to authorities required by law (P10)."
    )


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
