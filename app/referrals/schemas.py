from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import Email, Flag, InputModel, Name, OutputModel, examples, trimmed_text
from app.referrals.models import ReferralStatus

MESSAGE_MAX = 500

_REFERRAL_CREATE = {
    "friend_name": "Grace Hopper",
    "friend_email": "grace.hopper@example.com",
    "message": "I found my engagement ring here; thought you would like their bands.",
    "is_adult": True,
}
_REMOVAL = {"token": "3f" * 32 + "." + "a9" * 32}
_MY_REFERRAL = {
    "id": "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f",
    "status": "invited",
    "created_at": "2026-11-02T18:20:00Z",
    "converted_at": None,
    "friend_name": "Grace Hopper",
    "friend_email": "grace.hopper@example.com",
}
_TOTALS = {
    "referrals": 1315,
    "sent": 1240,
    "suppressed": 31,
    "converted": 187,
    "conversion_rate": 0.1508,
}


class ReferralCreate(InputModel):
    """An invitation to a friend (tell-a-friend, P6), from a signed-in customer, sent with an
    `Idempotency-Key`. The friend gets exactly one email, ever; their name and address are
    kept only to send it and track the programme, and they can have them removed."""

    model_config = examples(_REFERRAL_CREATE)

    friend_name: Name
    """The friend's name, as the invitation greets them; 1-200 characters."""
    friend_email: Email
    """Where the one invitation goes; at most 254 characters."""
    message: trimmed_text(max_length=MESSAGE_MAX) | None = Field(  # type: ignore[valid-type]
        default=None, description="Plain text; links and HTML are refused."
    )
    is_adult: Flag = Field(
        description="You attest the friend is 18 or over (P9); otherwise nothing is stored."
    )


class ReferralAccepted(OutputModel):
    """The same answer for every accepted referral: whether an email went out is not said."""

    model_config = examples({"status": "accepted"})

    status: str = Field(examples=["accepted"])
    """Always `accepted`."""


class RemovalRequest(InputModel):
    """A referred friend's request to be forgotten, with the token from their invitation email."""

    model_config = examples(_REMOVAL)

    token: str = Field(pattern=r"^[0-9a-f]{64}\.[0-9a-f]{64}$", max_length=129)
    """The token from the invitation's removal link: two 64-digit hex strings joined by a dot."""


class MyReferral(OutputModel):
    """An invitation the signed-in customer sent."""

    model_config = examples(_MY_REFERRAL)

    id: uuid.UUID
    """The referral's id."""
    status: ReferralStatus
    """What became of the invitation."""
    created_at: datetime
    """When it was sent (UTC)."""
    converted_at: datetime | None
    """When the friend first ordered or registered with the code (UTC), or null."""
    # Shown only while the friend's data is still held.
    friend_name: str | None
    """The friend's name while it is still held; null once converted, removed or purged."""
    friend_email: str | None
    """The friend's email while it is still held; null once converted, removed or purged."""


class ReferralCodeRead(OutputModel):
    """The signed-in customer's referral code, to hand to friends."""

    model_config = examples({"code": "K7M2QX9P"})

    code: str
    """8 characters (digits and capital letters, no look-alikes); friends type it at registration or
    checkout, in any case."""


class ProgrammeTotalsRead(OutputModel):
    """How the tell-a-friend programme does (staff): counts only, no personal data."""

    model_config = examples(_TOTALS)

    referrals: int
    """Referrals accepted, over all time; one address may have several, one per referrer."""
    sent: int
    """Invitations sent, over all time: one per address, ever."""
    suppressed: int
    """Addresses that asked never to be invited again."""
    converted: int
    """Invited addresses that led to a registration or order with a code."""
    conversion_rate: float
    """`converted` / `sent`, from 0 to 1, rounded to 4 decimals; 0 when nothing was sent."""
