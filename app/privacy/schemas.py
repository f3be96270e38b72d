from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from app.core.schemas import Email, Flag, InputModel, IsoDay, OutputModel, examples
from app.privacy.consent_models import ConsentSource, Purpose
from app.privacy.models import InquiryStatus, RequestKind, RequestStatus

PolicyText = Annotated[str, StringConstraints(min_length=100, max_length=200_000)]
NoticeText = Annotated[str, StringConstraints(min_length=10, max_length=500)]


# ---- published examples ----

_ACCOUNT_ID = "5b0e6a52-3f0e-4a43-9d36-1c3a8f0b7e21"
_EMAIL = "ada.lovelace@example.com"
_POLICY_TEXT = (
    "# Privacy policy\n\nWe collect your email, name, mailing address and phone number to "
    "process your orders, and nothing else about you..."
)
_NOTICE = {
    "version": 4,
    "text": "Our privacy policy changes on 1 January 2027: see what is new.",
    "effective_on": "2027-01-01",
    "until": "2027-01-31",
}
_POLICY = {
    "version": 4,
    "effective_on": "2027-01-01",
    "material": True,
    "text_markdown": _POLICY_TEXT,
    "notice": _NOTICE,
}
_POLICY_VERSION = {
    "version": 4,
    "effective_on": "2027-01-01",
    "material": True,
    "text_markdown": _POLICY_TEXT,
    "notice_until": "2027-01-31",
    "notice_text": _NOTICE["text"],
    "published_at": "2026-12-01T09:00:00Z",
}
_POLICY_PUBLISH = {
    "text_markdown": _POLICY_TEXT,
    "material": True,
    "effective_on": "2027-01-01",
    "notice_days": 30,
    "notice_text": _NOTICE["text"],
}
_POLICY_PUBLISHED = {**_POLICY_VERSION, "notices_queued": 5230}
_ACCEPTANCE = {"version": 4, "accepted_at": "2026-12-02T17:45:10Z"}
_TECHNICAL = {
    "day": "2026-11-29",
    "method": "GET",
    "route": "/v1/products/{slug}",
    "status": 200,
    "browser": "Mobile Safari",
    "os": "iOS",
    "referrer_host": "www.google.com",
    "ip_prefix": "203.0.113.0/24",
    "requests": 412,
}
_KEPT = {
    "what": "1 order(s): lines, totals, dates, status and country",
    "why": "bookkeeping and tax law require the record of each sale; "
    "nothing in it names you any more",
}
_RECEIPT = {
    "erased_at": "2026-11-30T08:12:44Z",
    "deleted": {"addresses": 2, "login_sessions": 3, "consent_events": 4},
    "anonymized": {"accounts": 1, "orders": 1},
    "kept": [_KEPT],
}
_EXPORT = {
    "generated_at": "2026-11-30T08:00:00Z",
    "account": {
        "id": _ACCOUNT_ID,
        "email": _EMAIL,
        "full_name": "Ada Lovelace",
        "phone": "+1 212 555 0142",
        "role": "customer",
        "created_at": "2026-11-02T14:31:07Z",
        "adult_verified_at": "2026-11-02T14:31:07Z",
    },
    "addresses": [],
    "login_sessions": [],
    "email_verification": None,
    "cart": [],
    "orders": [],
    "policy_acceptances": [],
    "consents": [
        {"purpose": "marketing_email", "granted": True, "since": "2026-11-02T14:31:07Z"},
        {"purpose": "newsletter", "granted": False, "since": None},
    ],
    "consent_history": [],
    "newsletter": None,
    "campaigns": [],
    "messages": [],
    "stored_answers": [],
    "inventory_notes": [],
    "privacy_requests": [],
    "privacy_inquiries": [],
    "legal_disclosures": [],
    "referral_code": "K7M2QX9P",
    "referrals_sent": [],
    "invitations_received": [],
    "testimonials": [],
    "support_requests": [],
}
_CONSENT_STATE = {"purpose": "marketing_email", "granted": True, "since": "2026-11-02T14:31:07Z"}
_CONSENT_EVENT = {
    "purpose": "marketing_email",
    "granted": True,
    "source": "preferences",
    "policy_version": 3,
    "recorded_at": "2026-11-02T14:31:07Z",
}
_OPT_OUT = {"token": "oo_9Xk2Lm7Qv4Tz1Wb8Nc3R", "purpose": "all"}
_SUBSCRIBE = {"email": _EMAIL, "is_adult": True}
_CAMPAIGN_CREATE = {
    "purpose": "marketing_email",
    "subject_line": "New: lab-grown diamond eternity bands",
    "text": "Our new eternity bands are set with lab-grown diamonds, in 14k white gold...",
}
_CAMPAIGN = {
    "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "purpose": "marketing_email",
    "subject_line": _CAMPAIGN_CREATE["subject_line"],
    "body": _CAMPAIGN_CREATE["text"],
    "created_at": "2026-11-28T10:00:00Z",
    "queued": 1873,
}
_PRIVACY_REQUEST = {"email": _EMAIL, "type": "access"}
_REQUEST_ID = "1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b"
_REQUEST_ACCEPTED = {
    "id": _REQUEST_ID,
    "status": "awaiting_verification",
    "verify_by": "2026-12-01T08:00:00Z",
}
_REQUEST_RESULT = {"id": _REQUEST_ID, "type": "access", "status": "completed", "receipt": None}
_REQUEST_READ = {
    "id": _REQUEST_ID,
    "type": "rectification",
    "status": "awaiting_staff",
    "email": _EMAIL,
    "details": "My order FJ-7K2M9QXD lists my old phone number; it is +1 212 555 0199.",
    "created_at": "2026-11-30T08:00:00Z",
    "verify_by": "2026-12-01T08:00:00Z",
    "verified_at": "2026-11-30T08:05:12Z",
    "completed_at": None,
    "due_on": "2026-12-30",
}
_INQUIRY_CREATE = {
    "email": _EMAIL,
    "message": "Which companies received my address when I ordered last month?",
    "is_adult": True,
}
_INQUIRY_ACK = {
    "reference": "PI-7KQ2M9XD4T",
    "due_on": "2026-12-30",
    "escalation": "the data-protection authority of the country where you live or work",
}
_INQUIRY = {
    "id": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
    "reference": "PI-7KQ2M9XD4T",
    "status": "open",
    "email": _EMAIL,
    "message": _INQUIRY_CREATE["message"],
    "answer": None,
    "created_at": "2026-11-30T08:00:00Z",
    "due_on": "2026-12-30",
    "answered_at": None,
    "closed_at": None,
    "overdue": False,
}
_DISCLOSURE_CREATE = {
    "subject_email": _EMAIL,
    "data_categories": ["order history", "shipping address"],
    "recipient": "New York County District Attorney's Office",
    "legal_basis": "Subpoena duces tecum under N.Y. CPL 610.20",
    "reference": "DA-2026-004512",
    "disclosed_on": "2026-11-20",
}
_DISCLOSURE = {
    "id": "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a",
    **_DISCLOSURE_CREATE,
    "account_id": _ACCOUNT_ID,
    "recorded_at": "2026-11-20T16:00:00Z",
    "subject_erased_at": None,
}


class PolicyNotice(OutputModel):
    """A material change, to be shown on the home page until `until` (P12)."""

    version: int
    """The policy version the notice announces."""
    text: str
    """The notice to show, plain text."""
    effective_on: date
    """The day the new version takes effect."""
    until: date
    """The last day to show the notice."""


class PolicyVersionRead(OutputModel):
    """One published version of the privacy policy (P12); versions are never edited, only
    superseded."""

    model_config = examples(_POLICY_VERSION)

    version: int
    """The version number, from 1, increasing."""
    effective_on: date
    """The day it takes or took effect."""
    material: bool
    """Whether it is a material change (notified by email and on the home page)."""
    text_markdown: str
    """The policy's full text, in Markdown."""
    notice_until: date | None
    """The last day of the home-page notice, or null when the change is not material."""
    notice_text: str | None
    """The home-page notice, or null when the change is not material."""
    published_at: datetime
    """When it was published (UTC)."""


class PolicyRead(OutputModel):
    """The policy in force, and the home-page notice while a material change's notice runs."""

    model_config = examples(_POLICY)

    version: int
    """The version number of the policy in force."""
    effective_on: date
    """The day it took effect."""
    material: bool
    """Whether it was a material change."""
    text_markdown: str
    """The policy's full text, in Markdown."""
    notice: PolicyNotice | None = Field(
        description="Show this on the home page while present; null when no notice runs."
    )


class PolicyPublish(InputModel):
    """A new version of the privacy policy (staff). A material change is emailed to every account
    and announced on the home page (P12)."""

    model_config = examples(_POLICY_PUBLISH)

    text_markdown: PolicyText
    """The full text, in Markdown, 100-200,000 characters."""
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
    """The version just published, with how many notice emails were queued."""

    model_config = examples(_POLICY_PUBLISHED)

    notices_queued: int = Field(description="Notice emails queued (one per active account).")


class PolicyAcceptanceRead(OutputModel):
    """The signed-in customer's acceptance of a policy version."""

    model_config = examples(_ACCEPTANCE)

    version: int
    """The policy version accepted."""
    accepted_at: datetime
    """When it was accepted (UTC)."""


class TechnicalDataRead(OutputModel):
    """Requests counted for one day and one combination of coarse traits (P4)."""

    model_config = examples(_TECHNICAL)

    day: date
    """The day (UTC) the requests were counted."""
    method: str
    """The HTTP method."""
    route: str = Field(description="The route template, never the requested path.")
    status: int
    """The HTTP status answered."""
    browser: str
    """The browser family, e.g. `Firefox`; `Other` when unknown."""
    os: str
    """The operating system family, e.g. `iOS`; `Other` when unknown."""
    referrer_host: str = Field(description='The referring site\'s host; "" when none.')
    ip_prefix: str = Field(description='The client network (/24 or /48); "" when unknown.')
    requests: int
    """How many requests had these traits that day."""


# -- Access and erasure (issue 9) -----------------------------------------------------------


class ExportAccount(OutputModel):
    """The account's own data, in a personal-data export."""

    id: uuid.UUID
    """The account's id."""
    email: str
    """The sign-in email address."""
    full_name: str
    """The customer's name."""
    phone: str | None
    """The phone number, or null."""
    role: str
    """`customer` or `staff`."""
    created_at: datetime
    """When the account was registered (UTC)."""
    adult_verified_at: datetime
    """When the 18+ check passed (UTC); the date of birth itself is not kept."""


class ExportAddress(OutputModel):
    """A saved address, in a personal-data export."""

    id: uuid.UUID
    """The address's id."""
    full_name: str
    """The recipient's name."""
    line1: str
    """Street address."""
    line2: str | None
    """Second line, or null."""
    city: str
    """City or town."""
    region: str | None
    """State, province or county, or null."""
    postal_code: str
    """ZIP or postal code."""
    country: str
    """ISO 3166-1 alpha-2 country code."""
    phone: str | None
    """Delivery phone number, or null."""
    is_default: bool
    """Whether it is the default address."""


class ExportLoginSession(OutputModel):
    """A signed-in session (a refresh token's life), in a personal-data export; no token is
    included."""

    started_at: datetime
    """When the customer signed in (UTC)."""
    expires_at: datetime
    """When the session expires at the latest (UTC)."""
    ended_at: datetime | None
    """When it ended by logout, password change or revocation (UTC), or null while it lasts."""


class ExportCartLine(OutputModel):
    """A line of the customer's cart, in a personal-data export."""

    variant_id: uuid.UUID
    """The variant in the cart."""
    quantity: int
    """How many pieces."""
    added_at: datetime
    """When it was added (UTC)."""


class ExportOrderLine(OutputModel):
    """A line of an order, in a personal-data export."""

    product_name: str
    """The product's name at purchase."""
    sku: str
    """The variant's stock-keeping unit code."""
    options: dict[str, Any]
    """The chosen options: `ring_size`, `chain_length_cm`, `metal`, when the variant has them."""
    quantity: int
    """How many pieces."""
    unit_price_minor: int
    """The price paid for one piece, in minor units."""


class ExportOrderEvent(OutputModel):
    """A change of an order's status, in a personal-data export."""

    from_status: str | None
    """The status before, or null at creation."""
    to_status: str
    """The status after."""
    actor: str
    """Who made the change: `customer`, `guest`, `staff` or `system`."""
    note: str | None
    """A staff note, or null."""
    at: datetime
    """When it changed (UTC)."""


class ExportShipment(OutputModel):
    """A parcel of an order, in a personal-data export."""

    carrier: str
    """The carrier."""
    service: str
    """The carrier's service level."""
    tracking_number: str
    """The tracking number."""
    created_at: datetime
    """When it was booked (UTC)."""


class ExportProcessor(OutputModel):
    """A processor that received some of this order's data, and which."""

    processor: str
    """The third party's name, e.g. `Stripe`."""
    role: str = Field(description="`payment` or `shipping`.")
    data: list[str]
    """The names of the fields it received for this order."""


class ExportOrder(OutputModel):
    """An order, in a personal-data export, with who else received its data (P3)."""

    id: uuid.UUID
    """The order's id."""
    number: str
    """The order number."""
    status: str
    """The order's status (an `OrderStatus` value)."""
    email: str
    """The email the order was placed with."""
    phone: str | None
    """The phone number given, or null."""
    shipping_address: dict[str, Any]
    """The shipping address: `full_name`, `line1`, `line2`, `city`, `region`, `postal_code`,
    `country`."""
    referral_code: str | None
    """The referral code used, or null."""
    currency: str
    """ISO 4217 currency code."""
    total_minor: int
    """What the order cost, in minor units."""
    created_at: datetime
    """When it was placed (UTC)."""
    lines: list[ExportOrderLine]
    """What was bought."""
    events: list[ExportOrderEvent]
    """Its status history."""
    shipments: list[ExportShipment]
    """Its parcels."""
    processors: list[ExportProcessor]
    """The third parties that received its data, and which fields (P3)."""


class ExportPolicyAcceptance(OutputModel):
    """An acceptance of a privacy policy version, in a personal-data export."""

    version: int
    """The policy version."""
    accepted_at: datetime
    """When it was accepted (UTC)."""


class ExportMessage(OutputModel):
    """An email the store sent or will send to the customer, in a personal-data export."""

    kind: str
    """What the message is, e.g. `order_confirmation`, `password_changed`, `campaign`."""
    recipient: str
    """The address it goes to."""
    subject: str
    """The email's subject line."""
    body: str
    """The email's text."""
    status: str
    """`pending`, `sending`, `sent`, `failed` (gave up), or `suppressed` (consent withdrawn before
    sending)."""
    created_at: datetime
    """When it was queued (UTC)."""
    sent_at: datetime | None
    """When it was sent (UTC), or null."""
    headers: dict[str, str] | None = Field(
        default=None, description="Extra mail headers (a marketing email's opt-out link)."
    )


class ExportEmailVerificationLink(OutputModel):
    """A link mailed to confirm an address, in a personal-data export; the token is not included."""

    email: str
    """The address the link went to."""
    created_at: datetime
    """When it was sent (UTC)."""
    expires_at: datetime
    """When it expires (UTC)."""
    used_at: datetime | None
    """When it was followed (UTC), or null."""


class ExportEmailVerification(OutputModel):
    """Whether the account's email is confirmed, and the links sent to confirm it."""

    verified_at: datetime | None = Field(description="Null: the account's email is unverified.")
    links: list[ExportEmailVerificationLink]
    """The verification links sent, oldest first."""


class ExportConsentState(OutputModel):
    """The customer's current choice for one consent purpose, in a personal-data export."""

    purpose: Purpose
    """The purpose."""
    granted: bool
    """Whether it is granted now (off unless chosen)."""
    since: datetime | None
    """When it was last chosen (UTC), or null when never chosen."""


class ExportConsentEvent(OutputModel):
    """One recorded grant or withdrawal of consent, in a personal-data export."""

    subject: str = Field(
        description="`account:<id>`, or `email:<keyed hash>` for a choice made with a "
        "verified address before it joined the account."
    )
    purpose: Purpose
    """The purpose."""
    granted: bool
    """Granted (true) or withdrawn (false)."""
    source: ConsentSource
    """Where the choice was made."""
    policy_version: int | None
    """The privacy policy version then in force, or null."""
    recorded_at: datetime
    """When it was recorded (UTC)."""


class ExportNewsletterLink(OutputModel):
    """A newsletter confirmation link, in a personal-data export; the token is not included."""

    email: str = Field(description='"" once confirmed (the address then lives with the grant).')
    created_at: datetime
    """When it was sent (UTC)."""
    expires_at: datetime
    """When it expires (UTC)."""
    confirmed_at: datetime | None
    """When it was followed (UTC), or null."""


class ExportNewsletter(OutputModel):
    """The customer's newsletter subscription, in a personal-data export."""

    subscribed: bool
    """Whether the newsletter is sent now."""
    contact_addresses: list[str] = Field(
        description="Addresses kept to deliver what was asked for without an account."
    )
    confirmation_links: list[ExportNewsletterLink]
    """The confirmation links sent."""


class ExportCampaign(OutputModel):
    """A marketing campaign queued for the customer, in a personal-data export."""

    subject: str
    """Who it was queued for: `account:<id>` or `email:<keyed hash>`."""
    purpose: Purpose
    """The consent it was sent under."""
    subject_line: str
    """The email's subject line."""
    queued_at: datetime
    """When it was queued (UTC)."""


class ExportStoredAnswer(OutputModel):
    """An answer kept so a retried request (same `Idempotency-Key`) gets it again."""

    operation: str
    """The operation: `checkout` or `referral`."""
    key: str
    """The `Idempotency-Key` the client sent."""
    answer: str | None
    """The stored answer's body (JSON text), or null."""
    created_at: datetime
    """When it was stored (UTC); stored answers are deleted after 24 hours."""


class ExportInventoryNote(OutputModel):
    """A staff stock note that names the customer, in a personal-data export."""

    at: datetime
    """When it was written (UTC)."""
    reason: str
    """The stock movement's reason."""
    note: str | None
    """The note, or null once redacted."""


class ExportReferralSent(OutputModel):
    """A referral the customer sent: its status only (the friend's data is the friend's)."""

    status: str
    """`invited`, `converted` or `removed`."""
    created_at: datetime
    """When it was sent (UTC)."""
    converted_at: datetime | None
    """When it converted (UTC), or null."""


class ExportInvitation(OutputModel):
    """A tell-a-friend referral of one of the customer's addresses, with the name and
    address its referrer gave (several referrers may name one address; it is emailed
    once, ever)."""

    name: str | None
    """The name the referrer gave, or null once purged."""
    email: str | None
    """The address invited, or null once purged."""
    created_at: datetime
    """When it was sent (UTC)."""


class ExportTestimonial(OutputModel):
    """A testimonial the customer wrote, in a personal-data export."""

    title: str
    """The headline."""
    body: str
    """The review."""
    rating: int
    """Stars, 1 to 5."""
    product_id: uuid.UUID | None
    """The product reviewed, or null."""
    status: str
    """`pending`, `approved` or `rejected`."""
    created_at: datetime
    """When it was written (UTC)."""


class ExportSupportRequest(OutputModel):
    """A contact request the customer sent, in a personal-data export."""

    reference: str
    """Its reference, e.g. `FC-4H7K2M9Q`."""
    name: str
    """The name given."""
    email: str
    """The email given."""
    topic: str
    """Its topic (a `ContactTopic` value)."""
    message: str
    """The message."""
    answer: str | None
    """The store's answer, or null."""
    created_at: datetime
    """When it was sent (UTC)."""
    answered_at: datetime | None
    """When it was answered (UTC), or null."""


class PersonalDataExport(OutputModel):
    """Every personal datum Facet holds about the signed-in customer (P8)."""

    model_config = examples(_EXPORT)

    generated_at: datetime
    """When the export was made (UTC)."""
    account: ExportAccount | None = None
    """The account itself."""
    addresses: list[ExportAddress] = []
    """Saved addresses."""
    login_sessions: list[ExportLoginSession] = []
    """Sign-in sessions, without their tokens."""
    email_verification: ExportEmailVerification | None = None
    """Whether the email is confirmed, and the links sent."""
    cart: list[ExportCartLine] = []
    """The current cart's lines."""
    orders: list[ExportOrder] = Field(
        default=[],
        description="The account's orders; guest orders placed with a verified email too.",
    )
    policy_acceptances: list[ExportPolicyAcceptance] = []
    """Privacy policy versions accepted."""
    consents: list[ExportConsentState] = Field(
        default=[], description="The account's consent now, every purpose."
    )
    consent_history: list[ExportConsentEvent] = Field(
        default=[], description="Every recorded grant and withdrawal, oldest first."
    )
    newsletter: ExportNewsletter | None = None
    """The newsletter subscription, if any."""
    campaigns: list[ExportCampaign] = Field(
        default=[], description="Marketing campaigns queued for the customer."
    )
    messages: list[ExportMessage] = []
    """Emails sent or queued to the customer."""
    stored_answers: list[ExportStoredAnswer] = []
    """Answers kept for retried requests."""
    inventory_notes: list[ExportInventoryNote] = []
    """Staff stock notes naming the customer."""
    privacy_requests: list[ExportPrivacyRequest] = []
    """Privacy requests made by email."""
    privacy_inquiries: list[ExportInquiry] = []
    """Privacy questions and complaints."""
    legal_disclosures: list[ExportDisclosure] = Field(
        default=[], description="Disclosures to authorities required by law (P10)."
    )
    referral_code: str | None = Field(
        default=None, description="The customer's own tell-a-friend code."
    )
    referrals_sent: list[ExportReferralSent] = []
    """Invitations sent (statuses only)."""
    invitations_received: list[ExportInvitation] = []
    """Invitations received at the customer's addresses."""
    testimonials: list[ExportTestimonial] = []
    """Testimonials written."""
    support_requests: list[ExportSupportRequest] = []
    """Contact requests sent."""


class ErasureRequest(InputModel):
    """Confirms the erasure of the signed-in account (P8) with its password. Irreversible: every
    personal field is deleted or anonymized, except what order records must legally keep."""

    model_config = examples({"current_password": "correct-horse-battery-staple"})

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """The account's password, to prove it is the owner."""


class ErasureKept(OutputModel):
    """Something an erasure kept, and why."""

    what: str
    """What was kept, e.g. `2 order(s): lines, totals, dates, status and country`."""
    why: str
    """Why it must be kept, e.g. a legal retention duty."""


class ErasureReceipt(OutputModel):
    """What an erasure deleted, anonymized, and kept (and why); also emailed to the
    account's address before that address is erased."""

    model_config = examples(_RECEIPT)

    erased_at: datetime
    """When the erasure ran (UTC)."""
    deleted: dict[str, int] = Field(description="Rows deleted, by table.")
    anonymized: dict[str, int] = Field(description="Rows anonymized, by table.")
    kept: list[ErasureKept]
    """What was kept, and why."""


# ---- consent ledger, opt-out, newsletter, campaigns ----

OptOutTokenText = Annotated[str, StringConstraints(min_length=1, max_length=512)]
EmailTokenText = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class ConsentStateRead(OutputModel):
    """The signed-in customer's current choice for one consent purpose (P2, P5)."""

    model_config = examples(_CONSENT_STATE)

    purpose: Purpose
    """The purpose."""
    granted: bool
    """Whether it is granted now; every purpose is off until chosen."""
    since: datetime | None = Field(description="When it was last chosen; null: never chosen.")


class ConsentChoices(InputModel):
    """One or several purposes to grant (true) or withdraw (false); others are unchanged."""

    model_config = examples({"marketing_email": True, "marketing_phone": False})

    marketing_email: Flag | None = None
    """Product and promotion emails."""
    marketing_mail: Flag | None = None
    """Catalogues and offers by postal mail."""
    marketing_phone: Flag | None = None
    """Offers by phone."""
    newsletter: Flag | None = None
    """The store's newsletter."""
    testimonial_name: Flag | None = None
    """Show the customer's name with their testimonials (P5)."""

    @model_validator(mode="after")
    def _at_least_one(self) -> ConsentChoices:
        if not self.model_dump(exclude_none=True):
            raise ValueError("choose at least one purpose")
        return self

    def chosen(self) -> dict[Purpose, bool]:
        return {Purpose(k): v for k, v in self.model_dump(exclude_none=True).items()}


class ConsentEventRead(OutputModel):
    """One recorded grant or withdrawal in the consent ledger; the ledger is append-only."""

    model_config = examples(_CONSENT_EVENT)

    purpose: Purpose
    """The purpose."""
    granted: bool
    """Granted (true) or withdrawn (false)."""
    source: ConsentSource
    """Where the choice was made."""
    policy_version: int | None = Field(description="The privacy policy version then in force.")
    recorded_at: datetime
    """When it was recorded (UTC)."""


class OptOutRequest(InputModel):
    """A one-click opt-out from the code in a marketing email (P2); works without signing in."""

    model_config = examples(_OPT_OUT)

    token: OptOutTokenText = Field(description="The opt-out code from a marketing email.")
    purpose: (
        Literal["marketing_email", "marketing_mail", "marketing_phone", "newsletter", "all"] | None
    ) = Field(
        default=None,
        description="The link's own purpose (default), or `all` to stop every marketing.",
    )


class NewsletterSubscribe(InputModel):
    """A newsletter sign-up (double opt-in): a confirmation link is mailed; nothing is sent before
    it is followed. The answer is the same whether or not the address was subscribed."""

    model_config = examples(_SUBSCRIBE)

    email: Email
    """The address to send the newsletter to; at most 254 characters."""
    is_adult: Flag = Field(description="An 18+ attestation (P9); a minor's request stores nothing.")


class NewsletterConfirm(InputModel):
    """Confirms a newsletter sign-up with the token from the confirmation link."""

    model_config = examples({"token": "nl_5tQk9Wm2Xr7Lp3Vb8Zc1"})

    token: EmailTokenText
    """The token from the confirmation link."""


class NewsletterUnsubscribe(InputModel):
    """Either the code of a newsletter email (withdraws at once) or an address (a link is
    mailed to it if it is subscribed; the answer is the same either way)."""

    model_config = examples({"email": "ada.lovelace@example.com"})

    token: OptOutTokenText | None = None
    """The code from a newsletter email; withdraws at once."""
    email: Email | None = None
    """The subscribed address; an unsubscribe link is mailed to it."""

    @model_validator(mode="after")
    def _one_of(self) -> NewsletterUnsubscribe:
        if (self.token is None) == (self.email is None):
            raise ValueError("send either token or email")
        return self


class CampaignCreate(InputModel):
    """A marketing campaign (staff), queued for every subject holding the purpose's consent at send
    time; each message carries a one-click opt-out (P2)."""

    model_config = examples(_CAMPAIGN_CREATE)

    purpose: Literal["marketing_email", "newsletter", "marketing_mail", "marketing_phone"] = Field(
        description="The consent recipients must hold; it also picks the channel. Only the "
        "email purposes can be sent: postal mail and phone are refused (422)."
    )
    subject_line: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """The email's subject line, 1-200 characters."""
    text: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
    """The email's text, plain, 1-50,000 characters; the opt-out link is added."""


class CampaignRead(OutputModel):
    """A campaign as queued (staff)."""

    model_config = examples(_CAMPAIGN)

    id: uuid.UUID
    """The campaign's id."""
    purpose: Purpose
    """The consent recipients hold."""
    subject_line: str
    """The email's subject line."""
    body: str
    """The email's text."""
    created_at: datetime
    """When it was queued (UTC)."""
    queued: int = Field(description="Messages queued: one per consenting subject.")


# -- Requests without an account, inquiries, legal disclosures (issue 9) --------------------

RequestDetails = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
InquiryMessage = Annotated[str, StringConstraints(min_length=1, max_length=5000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class PrivacyRequestCreate(InputModel):
    """A privacy request from someone without an account, or about an address (P8): access,
    rectification or erasure. Nothing happens until the link mailed to the address is
    followed."""

    model_config = examples(_PRIVACY_REQUEST)

    email: Email
    """The address the request is about; the verification link goes there."""
    type: RequestKind
    """What is asked for."""
    details: RequestDetails | None = Field(
        default=None, description="For a rectification: what is wrong and what it should say."
    )


class PrivacyRequestAccepted(OutputModel):
    """The same answer whether or not the address is known to the store."""

    model_config = examples(_REQUEST_ACCEPTED)

    id: uuid.UUID
    """The request's id, for `POST /v1/privacy/requests/{id}/verify`."""
    status: str = Field(description="`awaiting_verification`: a code was mailed to the address.")
    verify_by: datetime
    """When the mailed link expires (UTC); the request lapses if it is not followed."""


class PrivacyRequestVerify(InputModel):
    """Carries out a privacy request with the token from the link mailed to its address."""

    model_config = examples({"token": "pr_3Hk8Qz1Wm6Lx9Tb2Vc7N"})

    token: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    """The token from the mailed link."""


class PrivacyRequestResult(OutputModel):
    """A verified privacy request: access answers by email, erasure runs at once, rectification goes
    to staff."""

    model_config = examples(_REQUEST_RESULT)

    id: uuid.UUID
    """The request's id."""
    type: RequestKind = Field(validation_alias="kind")
    """What was asked for."""
    status: RequestStatus
    """Where the request stands."""
    receipt: ErasureReceipt | None = Field(
        default=None, description="For an erasure: what was deleted, anonymized and kept."
    )


class PrivacyRequestRead(OutputModel):
    """A request as staff see it; `email` is null once its subject was erased."""

    model_config = examples(_REQUEST_READ)

    id: uuid.UUID
    """The request's id."""
    type: RequestKind = Field(validation_alias="kind")
    """What was asked for."""
    status: RequestStatus
    """Where the request stands."""
    email: str | None
    """The address the request is about, or null once erased."""
    details: str | None
    """For a rectification: what should change; null otherwise or once erased."""
    created_at: datetime
    """When it was made (UTC)."""
    verify_by: datetime
    """When the mailed link expires (UTC)."""
    verified_at: datetime | None
    """When the link was followed (UTC), or null."""
    completed_at: datetime | None
    """When it was carried out (UTC), or null."""
    due_on: date = Field(description="One month from receipt.")


class InquiryCreate(InputModel):
    """A question or complaint about personal data (P13). It gets a reference and a due date by
    email, and says where to escalate if unanswered."""

    model_config = examples(_INQUIRY_CREATE)

    email: Email
    """Where the acknowledgement and the answer go; at most 254 characters."""
    message: InquiryMessage
    """The question or complaint, plain text, 1-5,000 characters."""
    is_adult: Flag = Field(description="Attests the sender is 18 or over (P9).")


class InquiryAcknowledged(OutputModel):
    """The acknowledgement of a privacy inquiry; the same is emailed."""

    model_config = examples(_INQUIRY_ACK)

    reference: str
    """The inquiry's reference, e.g. `PI-7KQ2M9XD4T`; quote it when writing again."""
    due_on: date
    """The day by which the store answers."""
    escalation: str = Field(description="Where to escalate if unresolved by `due_on`.")


class InquiryRead(OutputModel):
    """A privacy inquiry as staff see it."""

    model_config = examples(_INQUIRY)

    id: uuid.UUID
    """The inquiry's id."""
    reference: str
    """Its reference."""
    status: InquiryStatus
    """Where it stands."""
    email: str | None
    """The sender's address, or null once erased."""
    message: str | None
    """The question or complaint, or null once erased."""
    answer: str | None
    """The staff answer, or null."""
    created_at: datetime
    """When it was received (UTC)."""
    due_on: date
    """The day by which it must be answered."""
    answered_at: datetime | None
    """When it was answered (UTC), or null."""
    closed_at: datetime | None
    """When it was closed (UTC), or null."""
    overdue: bool
    """Whether it is still open past `due_on`."""


class InquiryAnswer(InputModel):
    """A staff answer to a privacy inquiry; it is emailed to the sender."""

    model_config = examples(
        {"answer": "We hold your orders only, shared with our payment processor and carrier."}
    )

    answer: InquiryMessage
    """The answer, plain text, 1-5,000 characters."""


class DisclosureCreate(InputModel):
    """A record of personal data disclosed because the law required it (staff, P10); it appears in
    the subject's export. Name the subject by `subject_email` or `account_id`."""

    model_config = examples(_DISCLOSURE_CREATE)

    subject_email: Email | None = None
    """The subject's email address."""
    account_id: uuid.UUID | None = None
    """The subject's account id."""
    data_categories: Annotated[list[ShortText], Field(min_length=1, max_length=20)]
    """What was disclosed, 1-20 short labels (e.g. `order history`)."""
    recipient: ShortText
    """Who received it, 1-300 characters."""
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    """The law or order that required it, 1-500 characters."""
    reference: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """The recipient's case or order reference, 1-200 characters."""
    disclosed_on: IsoDay
    """The day it was disclosed (YYYY-MM-DD)."""


class DisclosureRead(OutputModel):
    """A recorded legal disclosure (staff)."""

    model_config = examples(_DISCLOSURE)

    id: uuid.UUID
    """The record's id."""
    subject_email: str | None
    """The subject's email, or null once erased."""
    account_id: uuid.UUID | None
    """The subject's account id, or null."""
    data_categories: list[str]
    """What was disclosed."""
    recipient: str
    """Who received it."""
    legal_basis: str
    """The law or order that required it."""
    reference: str
    """The recipient's reference."""
    disclosed_on: date
    """The day it was disclosed."""
    recorded_at: datetime
    """When it was recorded (UTC)."""
    subject_erased_at: datetime | None
    """When the subject was erased (UTC), or null; the record stays."""


class ExportPrivacyRequest(OutputModel):
    """A privacy request about the customer's address, in a personal-data export."""

    type: str
    """`access`, `rectification` or `erasure`."""
    status: str
    """Where it stands (a `RequestStatus` value)."""
    email: str | None
    """The address it is about."""
    details: str | None
    """What should change, for a rectification."""
    created_at: datetime
    """When it was made (UTC)."""
    due_on: date
    """The day by which it is carried out."""


class ExportInquiry(OutputModel):
    """A privacy inquiry from the customer's address, in a personal-data export."""

    reference: str
    """Its reference."""
    status: str
    """`open`, `answered` or `closed`."""
    email: str | None
    """The sender's address."""
    message: str | None
    """The question or complaint."""
    answer: str | None
    """The answer, or null."""
    created_at: datetime
    """When it was received (UTC)."""
    due_on: date
    """The day by which it is answered."""


class ExportDisclosure(OutputModel):
    """A legal disclosure of the customer's data (P10), in a personal-data export."""

    subject_email: str | None
    """The address named in the record."""
    data_categories: list[str]
    """What was disclosed."""
    recipient: str
    """Who received it."""
    legal_basis: str
    """The law or order that required it."""
    reference: str
    """The recipient's reference."""
    disclosed_on: date
    """The day it was disclosed."""


PersonalDataExport.model_rebuild()
