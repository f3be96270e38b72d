from __future__ import annotations

from app.core.errors import AppError


class ReferralMessageRefused(AppError):
    status = 422
    type = "referral-message-refused"
    title = "The message may hold no links or HTML"
    description = "A referral's personal message may hold no links or HTML."


class InvalidRemovalToken(AppError):
    status = 422
    type = "invalid-removal-token"
    title = "This removal link is not valid"
    description = "The removal link from the invitation email is not one this store issued."
