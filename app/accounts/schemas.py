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
    examples,
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
    """A new customer account, sent to `POST /v1/accounts`.

    Only an adult (18 or over, P9) can register; the date of birth is checked and not
    kept. The answer is the created account (`AccountRead`); sign in with
    `POST /v1/auth/token` afterwards.
    """

    model_config = examples(
        {
            "email": "ada.lovelace@example.com",
            "password": "correct-horse-battery-staple",
            "full_name": "Ada Lovelace",
            "phone": "+1 212 555 0142",
            "date_of_birth": "1990-12-10",
            "marketing_opt_in": False,
        }
    )

    email: Email
    """The sign-in name and the address order and account emails go to; at most 254
    characters, unique among accounts (case-insensitive)."""
    password: Password = Field(description="At least 10 characters; common passwords are refused.")
    full_name: Name
    """The customer's name as it should appear on emails and labels; 1-200 characters."""
    phone: Phone | None = None
    """A contact phone number for delivery questions, digits with optional `+`, spaces,
    dots, dashes or parentheses; 5-32 characters."""
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


_ACCOUNT = {
    "id": "5b0e6a52-3f0e-4a43-9d36-1c3a8f0b7e21",
    "email": "ada.lovelace@example.com",
    "full_name": "Ada Lovelace",
    "phone": "+1 212 555 0142",
    "role": "customer",
    "created_at": "2026-11-02T14:31:07Z",
    "email_verified": True,
    "privacy_policy_pending": False,
}


class AccountRead(OutputModel):
    """An account as its owner (or staff) sees it. Never holds a password or its hash."""

    model_config = examples(_ACCOUNT)

    id: uuid.UUID
    """The account's public id."""
    email: str
    """The sign-in email address."""
    full_name: str
    """The customer's name."""
    phone: str | None
    """The contact phone number, or null when none was given."""
    role: Role
    """What the account may do: `customer` or `staff`."""
    created_at: datetime
    """When the account was registered (UTC, ISO 8601)."""
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
    """Changes to the signed-in account (`PATCH /v1/me`); only the fields sent change.

    Changing the email needs `current_password` and sends a new verification link.
    """

    model_config = examples(
        {"phone": "+1 212 555 0199"},
        {"email": "ada@lovelace.example", "current_password": "correct-horse-battery-staple"},
    )

    full_name: Name | None = None
    """A new name; 1-200 characters."""
    phone: Phone | None = None
    """A new contact phone number; 5-32 characters."""
    email: Email | None = None
    """A new sign-in email; it must be confirmed again through the link sent to it."""
    current_password: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        default=None, description="Required to change the email."
    )


class EmailVerification(InputModel):
    """Confirms an account's email with the token from the link mailed to it."""

    model_config = examples({"token": "evt_4QvN3m0cW1rXk8pZ2yTq9sLh"})

    token: Annotated[str, StringConstraints(min_length=1, max_length=512)] = Field(
        description="The token from the verification link."
    )


class PasswordChange(InputModel):
    """A new password for the signed-in account; every other session is signed out."""

    model_config = examples(
        {
            "current_password": "correct-horse-battery-staple",
            "new_password": "a-longer-and-fresher-passphrase",
        }
    )

    current_password: Annotated[str, StringConstraints(max_length=128)]
    """The password in use now."""
    new_password: Password
    """At least 10 characters (at most 128); common passwords are refused."""


class TokenResponse(OutputModel):
    """Tokens from signing in (`POST /v1/auth/token`) or refreshing (`POST /v1/auth/refresh`).

    Send `access_token` as `Authorization: Bearer ...`; when it expires, trade the
    refresh token for a new pair. Each refresh token works once (it rotates).
    """

    model_config = examples(
        {
            "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI1YjBlNmE1MiJ9.c2lnbmF0dXJl",
            "token_type": "bearer",
            "expires_in": 900,
            "refresh_token": "rt_8hQm2Zk1Lw7cVb3Nn6Xp0Ys4",
        }
    )

    access_token: str
    """A short-lived JWT (15 minutes by default) proving who is calling."""
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    """Always `bearer` (OAuth2)."""
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    """An opaque secret, valid once, for 30 days by default; store it like a password."""


class RefreshRequest(InputModel):
    """A refresh token, traded for a new token pair, or revoked on logout."""

    model_config = examples({"refresh_token": "rt_8hQm2Zk1Lw7cVb3Nn6Xp0Ys4"})

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    """The refresh token from the last `TokenResponse`."""


_ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "350 Fifth Avenue",
    "line2": "Suite 4200",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


class PostalAddress(InputModel):
    """A mailing address (P1), as saved on an account or given at checkout."""

    model_config = examples(_ADDRESS)

    full_name: Name
    """The recipient's name; 1-200 characters."""
    line1: AddressLine
    """Street address; 1-200 characters."""
    line2: AddressLine | None = None
    """Apartment, suite, floor...; optional, at most 200 characters."""
    city: City
    """City or town; 1-100 characters."""
    region: Region | None = None
    """State, province or county where the country uses one; at most 100 characters."""
    postal_code: PostalCode
    """ZIP or postal code: letters, digits, spaces and dashes, 2-20 characters."""
    country: CountryCode = Field(description="ISO 3166-1 alpha-2 code, e.g. US.")


class AddressCreate(PostalAddress):
    """A new address for the signed-in account's address book (`POST /v1/me/addresses`)."""

    model_config = examples({**_ADDRESS, "phone": "+1 212 555 0142", "is_default": True})

    phone: Phone | None = None
    """A phone number the carrier may call about deliveries here; 5-32 characters."""
    is_default: Flag = False
    """Make this the default address (the previous default stops being one)."""


class AddressUpdate(InputModel):
    """Changes to a saved address; only the fields sent change."""

    model_config = examples({"line2": "Floor 12", "is_default": True})

    full_name: Name | None = None
    """A new recipient name; 1-200 characters."""
    line1: AddressLine | None = None
    """A new street address; 1-200 characters."""
    line2: AddressLine | None = None
    """A new second line; at most 200 characters."""
    city: City | None = None
    """A new city; 1-100 characters."""
    region: Region | None = None
    """A new state, province or county; at most 100 characters."""
    postal_code: PostalCode | None = None
    """A new postal code; 2-20 letters, digits, spaces or dashes."""
    country: CountryCode | None = None
    """A new ISO 3166-1 alpha-2 country code, e.g. `GB`."""
    phone: Phone | None = None
    """A new delivery phone number; 5-32 characters."""
    is_default: Flag | None = None
    """`true` makes this the default address."""


class AddressRead(OutputModel):
    """A saved address of the signed-in account."""

    model_config = examples(
        {
            "id": "0c7d2a9e-6a51-4f3b-9a0e-2f4b8c1d5e70",
            **_ADDRESS,
            "phone": "+1 212 555 0142",
            "is_default": True,
            "created_at": "2026-11-02T14:35:12Z",
            "updated_at": "2026-11-20T09:02:45Z",
        }
    )

    id: uuid.UUID
    """The address's id, used in `/v1/me/addresses/{id}`."""
    full_name: str
    """The recipient's name."""
    line1: str
    """Street address."""
    line2: str | None
    """Apartment, suite, floor..., or null."""
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
    """Whether this is the account's default address."""
    created_at: datetime
    """When the address was saved (UTC)."""
    updated_at: datetime
    """When the address last changed (UTC)."""
