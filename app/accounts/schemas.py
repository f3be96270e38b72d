from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from app.accounts.models import Role
from app.core.schemas import (
    CountryCode,
    Email,
    Flag,
    InputModel,
    Name,
    OutputModel,
    Phone,
    trimmed_text,
)

Password = Annotated[str, StringConstraints(min_length=10, max_length=128)]
AddressLine = trimmed_text(min_length=1, max_length=200)
City = trimmed_text(min_length=1, max_length=100)
Region = trimmed_text(max_length=100)
PostalCode = Annotated[
    str, StringConstraints(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9 -]{2,20}$")
]


class AccountCreate(InputModel):
    email: Email
    password: Password = Field(description="At least 10 characters; common passwords are refused.")
    full_name: Name
    phone: Phone | None = None
    date_of_birth: date = Field(
        description="Checked to be 18 or over (P9), then discarded: only the check is kept."
    )
    marketing_opt_in: Flag = Field(
        default=False,
        description="Marketing email (P2): unticked by default; recorded in the consent ledger.",
    )
    referral_code: (
        Annotated[str, StringConstraints(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
        | None
    ) = Field(default=None, description="The code from a friend's invitation, if any.")


class AccountRead(OutputModel):
    id: uuid.UUID
    email: str
    full_name: str
    phone: str | None
    role: Role
    created_at: datetime
    email_verified: bool = Field(
        description="Whether the owner confirmed the email through the link sent to it; "
        "changing the email clears it."
    )
    privacy_policy_pending: bool | None = Field(
        default=None,
        description="On GET /v1/me: whether the privacy policy in force still awaits this "
        "account's acceptance (P12). Null elsewhere.",
    )


class AccountUpdate(InputModel):
    full_name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    current_password: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="Required to change the email."
    )


class EmailVerification(InputModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="The token from the verification link."
    )


class PasswordChange(InputModel):
    current_password: Annotated[str, StringConstraints(max_length=128)]
    new_password: Password


class TokenResponse(OutputModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str


class RefreshRequest(InputModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]


class PostalAddress(InputModel):
    """A mailing address (P1), as saved on an account or given at checkout."""

    full_name: Name
    line1: AddressLine
    line2: AddressLine | None = None
    city: City
    region: Region | None = None
    postal_code: PostalCode
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 code, e.g. US.")


class AddressCreate(PostalAddress):
    phone: Phone | None = None
    is_default: Flag = False


class AddressUpdate(InputModel):
    full_name: Name | None = None
    line1: AddressLine | None = None
    line2: AddressLine | None = None
    city: City | None = None
    region: Region | None = None
    postal_code: PostalCode | None = None
    country: CountryCode | None = None
    phone: Phone | None = None
    is_default: Flag | None = None


class AddressRead(OutputModel):
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
    created_at: datetime
    updated_at: datetime
