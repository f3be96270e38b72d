"""The consent ledger (P2, P5), the addresses of people without an account who
consented to something, newsletter confirmations, and staff campaigns.

A subject is `account:<uuid>` or `email:<keyed hash>` (see `subjects.py`): the ledger
never holds a plain address. This domain imports no other: accounts are referenced
by table name only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class Purpose(StrEnum):
    """What a consent is for. Every purpose is off until the person turns it on (P2).

    - `marketing_email`: product and promotion emails.
    - `marketing_mail`: catalogues and offers by postal mail.
    - `marketing_phone`: offers by phone.
    - `newsletter`: the store's newsletter (double opt-in).
    - `testimonial_name`: show the customer's name with their testimonials (P5).
    """

    marketing_email = "marketing_email"
    marketing_mail = "marketing_mail"
    marketing_phone = "marketing_phone"
    newsletter = "newsletter"
    testimonial_name = "testimonial_name"


# What "all" withdraws from an opt-out link: every purpose that sends marketing.
MARKETING_PURPOSES = (
    Purpose.marketing_email,
    Purpose.marketing_mail,
    Purpose.marketing_phone,
    Purpose.newsletter,
)


class ConsentSource(StrEnum):
    """Where a consent choice was made.

    - `registration`: the sign-up form.
    - `checkout`: the checkout form.
    - `preferences`: the account's consent settings (`PUT /v1/me/consents`).
    - `opt_out_link`: the one-click link of a marketing email.
    - `newsletter`: the newsletter sign-up, confirmation or unsubscribe.
    - `staff`: recorded by staff on the person's request.
    - `verified_email`: a choice made with an email address, carried into the account once
      the account verified that address.
    - `erasure`: the opt-out kept when an erased customer's history was deleted.
    """

    registration = "registration"
    checkout = "checkout"
    preferences = "preferences"
    opt_out_link = "opt_out_link"
    newsletter = "newsletter"
    staff = "staff"
    # Carried from the email's own history into the account once the account verified it.
    verified_email = "verified_email"
    # Written when an erased customer's history is deleted: the opt-out that stays.
    erasure = "erasure"


class ConsentEvent(Base):
    """One grant or withdrawal: appended, never updated (only erasure deletes).

    `seq` orders events exactly, so "the latest event per purpose" has one answer even
    when two events share a timestamp.
    """

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_subject_purpose_seq", "subject", "purpose", "seq"),
        Index("ix_consent_events_purpose_seq", "purpose", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(80), info=PII)
    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose, 32), info=NOT_PII)
    granted: Mapped[bool]
    source: Mapped[ConsentSource] = mapped_column(str_enum(ConsentSource, 24), info=NOT_PII)
    # The privacy policy version in force when the choice was made (null: none published).
    policy_version: Mapped[int | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactAddress(Base):
    """The address of an email-hash subject, kept only to deliver what it consented to
    (newsletter, marketing asked for at a guest checkout)."""

    __tablename__ = "privacy_contact_addresses"

    subject: Mapped[str] = mapped_column(String(80), primary_key=True, info=PII)
    email: Mapped[str] = mapped_column(String(254), info=PII)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NewsletterConfirmation(IdMixin, Base):
    """A pending double opt-in: the link's token (hashed) and the address it confirms."""

    __tablename__ = "newsletter_confirmations"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=NOT_PII)
    email: Mapped[str] = mapped_column(String(254), info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]


class Campaign(IdMixin, Base):
    """A marketing message staff queued for every subject holding its purpose."""

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_created", "created_at", "id"),)

    purpose: Mapped[Purpose] = mapped_column(str_enum(Purpose, 32), info=NOT_PII)
    subject_line: Mapped[str] = mapped_column(String(200), info=NOT_PII)
    body: Mapped[str] = mapped_column(Text, info=NOT_PII)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued: Mapped[int] = mapped_column(default=0)


class CampaignRecipient(IdMixin, Base):
    """One subject a campaign was queued for: the unique pair makes "each once" hold."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (UniqueConstraint("campaign_id", "subject"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(80), info=PII)
