"""Privacy policy versions, their acceptances, and coarse technical data (P4, P12).

This domain imports no other: acceptances point at `accounts.id` by table name only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

NOT_PII = {"pii": False}


class PolicyVersion(Base):
    """One published version of the privacy policy. Published versions never change."""

    __tablename__ = "privacy_policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    effective_on: Mapped[date]
    text_markdown: Mapped[str] = mapped_column(Text, info=NOT_PII)
    material: Mapped[bool] = mapped_column(default=False)
    # A material change is announced on the home page until this day (inclusive).
    notice_until: Mapped[date | None]
    notice_text: Mapped[str | None] = mapped_column(String(500), info=NOT_PII)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The staff account that published it; null for the seeded first version.
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class PolicyAcceptance(IdMixin, Base):
    """An account's acceptance of one version: appended, never updated."""

    __tablename__ = "privacy_policy_acceptances"
    __table_args__ = (UniqueConstraint("account_id", "version"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(ForeignKey("privacy_policy_versions.version"))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)


class TechnicalDataDaily(IdMixin, Base):
    """Requests counted per day and coarse request traits (P4).

    Nothing here identifies a person or links to an account, cart or order: the client
    address is cut to its network (/24, /48), the user agent to two family names, the
    referrer to its host and the path to its route template. Unknown traits are "".
    """

    __tablename__ = "technical_data_daily"
    __table_args__ = (
        UniqueConstraint(
            "day", "method", "route", "status", "browser", "os", "referrer_host", "ip_prefix",
            name="uq_technical_data_daily_bucket",
        ),
        Index("ix_technical_data_daily_day_id", "day", "id"),
    )  # fmt: skip

    day: Mapped[date]
    method: Mapped[str] = mapped_column(String(8), info=NOT_PII)
    route: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    status: Mapped[int]
    browser: Mapped[str] = mapped_column(String(40), info=NOT_PII)
    os: Mapped[str] = mapped_column(String(40), info=NOT_PII)
    referrer_host: Mapped[str] = mapped_column(String(253), info=NOT_PII)
    # A network, not an address: "203.0.113.0/24" or "2001:db8:1::/48".
    ip_prefix: Mapped[str] = mapped_column(String(64), info=NOT_PII)
    requests: Mapped[int] = mapped_column(Integer, default=0)


# -- Requests from people without an account, inquiries, legal disclosures (issue 9) --------

PII = {"pii": True}


class RequestKind(StrEnum):
    """What a privacy request asks for (P8).

    - `access`: a copy of every personal datum held about the address, sent by email.
    - `rectification`: correct data that is wrong or outdated (staff carry it out).
    - `erasure`: delete or anonymize everything about the address, keeping only what order
      records must legally keep.
    """

    access = "access"
    rectification = "rectification"
    erasure = "erasure"


class RequestStatus(StrEnum):
    """Where a privacy request stands.

    - `awaiting_verification`: waiting for the link mailed to the address to be followed.
    - `awaiting_staff`: verified; a rectification waits for staff to carry it out.
    - `completed`: carried out.
    """

    awaiting_verification = "awaiting_verification"
    awaiting_staff = "awaiting_staff"  # a verified rectification, for staff to carry out
    completed = "completed"


class PrivacyRequest(IdMixin, Base):
    """Access, rectification or erasure asked for by email (P8). Nothing is done until
    the link mailed to the address is followed; the token is stored hashed."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_created_at_id", "created_at", "id"),)

    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind), info=NOT_PII)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus, 24), info=NOT_PII)
    # Emptied when the request's subject is erased (the row stays as the record of it).
    email: Mapped[str | None] = mapped_column(String(254), info=PII)
    details: Mapped[str | None] = mapped_column(Text, info=PII)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verify_by: Mapped[datetime]
    due_on: Mapped[date]
    verified_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class InquiryStatus(StrEnum):
    """Where a privacy inquiry stands (P13).

    - `open`: waiting for a staff answer.
    - `answered`: staff answered by email.
    - `closed`: settled; no further answer is due.
    """

    open = "open"
    answered = "answered"
    closed = "closed"


class PrivacyInquiry(IdMixin, Base):
    """A question or complaint about personal data (P13)."""

    __tablename__ = "privacy_inquiries"
    __table_args__ = (Index("ix_privacy_inquiries_created_at_id", "created_at", "id"),)

    reference: Mapped[str] = mapped_column(String(16), unique=True, info=NOT_PII)
    status: Mapped[InquiryStatus] = mapped_column(str_enum(InquiryStatus), info=NOT_PII)
    email: Mapped[str | None] = mapped_column(String(254), info=PII)
    message: Mapped[str | None] = mapped_column(Text, info=PII)
    answer: Mapped[str | None] = mapped_column(Text, info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class LegalDisclosure(IdMixin, Base):
    """Personal data handed to an authority because the law required it (P10). Append-only:
    erasing its subject removes who it was about (email, account link) and keeps the
    record that a disclosure happened, to whom and on what basis."""

    __tablename__ = "legal_disclosures"
    __table_args__ = (Index("ix_legal_disclosures_recorded_at_id", "recorded_at", "id"),)

    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    subject_email: Mapped[str | None] = mapped_column(String(254), info=PII)
    data_categories: Mapped[list[str]] = mapped_column(JSON, info=NOT_PII)
    recipient: Mapped[str] = mapped_column(String(300), info=NOT_PII)
    legal_basis: Mapped[str] = mapped_column(String(500), info=NOT_PII)
    reference: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    disclosed_on: Mapped[date]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    subject_erased_at: Mapped[datetime | None]
