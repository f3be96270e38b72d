from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import Email, Flag, InputModel, Name, OutputModel, trimmed_text
from app.referrals.models import ReferralStatus

MESSAGE_MAX = 500


class ReferralCreate(InputModel):
    friend_name: Name
    friend_email: Email
    message: trimmed_text(max_length=MESSAGE_MAX) | None = Field(  # type: ignore[valid-type]
        default=None, description="Plain text; links and HTML are refused."
    )
    is_adult: Flag = Field(
        description="You attest the friend is 18 or over (P9); otherwise nothing is stored."
    )


class ReferralAccepted(OutputModel):
    """The same answer for every accepted referral: whether an email went out is not said."""

    status: str = Field(examples=["accepted"])


class RemovalRequest(InputModel):
    token: str = Field(pattern=r"^[0-9a-f]{64}\.[0-9a-f]{64}$", max_length=129)


class MyReferral(OutputModel):
    id: uuid.UUID
    status: ReferralStatus
    created_at: datetime
    converted_at: datetime | None
    # Shown only while the friend's data is still held.
    friend_name: str | None
    friend_email: str | None


class ReferralCodeRead(OutputModel):
    code: str


class ProgrammeTotalsRead(OutputModel):
    referrals: int = Field(description="Referrals accepted; an address may have several.")
    sent: int = Field(description="Invitations sent: one per address, ever.")
    suppressed: int = Field(description="Addresses that asked for removal.")
    converted: int = Field(description="Invited addresses that registered or ordered with a code.")
    conversion_rate: float = Field(description="`converted` / `sent`.")
