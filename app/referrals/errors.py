from __future__ import annotations

from app.core.errors import AppError


class ReferralAgeRestricted(AppError):
    status = 422
    type = "age-restricted"
    title = "Facet only invites persons of 18 or over"


class ReferralMessageRefused(AppError):
    status = 422
    type = "referral-message-refused"
    title = "The message may hold no links or HTML"


class InvalidRemovalToken(AppError):
    status = 422
    type = "invalid-removal-token"
    title = "This removal link is not valid"
