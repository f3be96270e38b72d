"""Tell-a-friend referrals (P6): each customer's referral code, one referral per referrer
and friend address, one invitation per friend address ever, and the addresses that asked
never to be invited again.

A friend address is known by a keyed hash (`address_hash`, see app.privacy.subjects).
Every accepted referral gets its own row in its referrer's list, whether or not the
address was known: the list must not tell a referrer that someone else got there first.
"One email per address, ever" is the invitations table's primary key, so it holds under
concurrency without leaking into the referrals. The friend's name and email sit on a
referral only until its purpose is served (converted, removed or its window passed);
status, dates and counts remain.
Accounts are referenced by table name only: this domain imports no accounts code.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class ReferralStatus(StrEnum):
    """What became of an invitation.

    - `invited`: the invitation email was sent.
    - `converted`: the friend registered or ordered with the referral code; their name
      and address were then dropped.
    - `removed`: the friend asked to be forgotten; their name and address are gone.
    """

    invited = "invited"
    converted = "converted"
    removed = "removed"


class ReferralCode(Base):
    """The code a customer hands out; the friend types it at registration or checkout."""

    __tablename__ = "referral_codes"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(16), unique=True, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(IdMixin, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        # A referrer who names the same address again (or twice at once) still has one.
        UniqueConstraint("referrer_id", "address_hash", name="uq_referrals_referrer_address"),
        Index("ix_referrals_referrer_created", "referrer_id", "created_at"),
        Index("ix_referrals_address_hash", "address_hash"),
    )

    # Keyed hash of the friend's normalized address: how removal, conversion and the
    # invitation find every referral of one address without reading it back.
    address_hash: Mapped[str] = mapped_column(String(64), info=PII)
    referrer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    code: Mapped[str] = mapped_column(String(16), info=NOT_PII)
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus), info=NOT_PII)
    # Held only for the invitation and for tracking; null once the purpose is served.
    friend_name: Mapped[str | None] = mapped_column(String(200), info=PII)
    friend_email: Mapped[str | None] = mapped_column(String(254), info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    converted_at: Mapped[datetime | None]
    converted_via: Mapped[str | None] = mapped_column(String(16), info=NOT_PII)
    friend_data_removed_at: Mapped[datetime | None]


class ReferralInvitation(Base):
    """The one invitation an address ever gets: the first referral to insert the hash
    queues the email; every later or concurrent one finds it taken and sends nothing."""

    __tablename__ = "referral_invitations"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The email, so a removal finds it even after the referrals have dropped the address.
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL")
    )


class ReferralSuppression(Base):
    """An address that asked for removal: never emailed, never stored again."""

    __tablename__ = "referral_suppressions"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True, info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
