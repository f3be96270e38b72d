"""Accounts, their addresses and refresh-token sessions.

Personal columns carry `info={"pii": True}`: P1 allows email, name, mailing
address and phone, and nothing else personal is stored (a date of birth is
checked at registration, then only the fact of the check is kept).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, IdMixin, TimestampMixin, str_enum, utcnow

PII = {"pii": True}
NOT_PII = {"pii": False}


class Role(StrEnum):
    """What an account may do.

    - `customer`: shops, and reads and changes only its own data.
    - `staff`: also runs the store through the `/v1/admin` operations.
    """

    customer = "customer"
    staff = "staff"


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"

    email: Mapped[str] = mapped_column(String(254), unique=True, info=PII)
    password_hash: Mapped[str] = mapped_column(String(255), info=NOT_PII)
    full_name: Mapped[str] = mapped_column(String(200), info=PII)
    phone: Mapped[str | None] = mapped_column(String(32), info=PII)
    role: Mapped[Role] = mapped_column(str_enum(Role), default=Role.customer, info=NOT_PII)
    is_active: Mapped[bool] = mapped_column(default=True)
    adult_verified_at: Mapped[datetime]
    # Set when the owner follows the verification link; a new email clears it.
    email_verified_at: Mapped[datetime | None]

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def __repr__(self) -> str:  # never print personal fields
        return f"Account(id={self.id!s}, role={self.role})"


class Address(IdMixin, TimestampMixin, Base):
    __tablename__ = "addresses"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(200), info=PII)
    line1: Mapped[str] = mapped_column(String(200), info=PII)
    line2: Mapped[str | None] = mapped_column(String(200), info=PII)
    city: Mapped[str] = mapped_column(String(100), info=PII)
    region: Mapped[str | None] = mapped_column(String(100), info=PII)
    postal_code: Mapped[str] = mapped_column(String(20), info=PII)
    country: Mapped[str] = mapped_column(String(2), info=NOT_PII)
    phone: Mapped[str | None] = mapped_column(String(32), info=PII)
    is_default: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"Address(id={self.id!s})"


class LoginSession(Base):
    """One login: its id is the refresh-token family id and every access token's `sid`.

    `expires_at` is fixed at login, so refreshing can never extend a session past it.
    """

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class EmailVerificationToken(IdMixin, Base):
    """A single-use link proving the account owns `email` (stored hashed, expiring).

    It verifies only while the account still has that email: changing the address
    makes every earlier link useless.
    """

    __tablename__ = "email_verification_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info={"pii": False})
    email: Mapped[str] = mapped_column(String(254), info=PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RefreshToken(IdMixin, Base):
    """One rotation of a login session. A family is one login; reuse of a rotated
    token revokes the whole family."""

    __tablename__ = "refresh_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info=NOT_PII)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
