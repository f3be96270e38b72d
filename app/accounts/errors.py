from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound, Unauthorized


class AgeRestricted(AppError):
    status = 422
    type = "age-restricted"
    title = "You must be 18 or older"


class EmailTaken(Conflict):
    type = "email-taken"
    title = "An account with this email already exists"


class WeakPassword(AppError):
    status = 422
    type = "weak-password"
    title = "Password too common"


class InvalidCredentials(Unauthorized):
    type = "invalid-credentials"
    title = "Invalid email or password"


class InvalidRefreshToken(Unauthorized):
    type = "invalid-refresh-token"
    title = "Refresh token invalid, expired or revoked"


class RefreshTokenReused(InvalidRefreshToken):
    """A rotated token came back (likely stolen): the family's revocation must persist."""

    commit_changes = True


class InvalidAccessToken(Unauthorized):
    type = "invalid-token"
    title = "Access token missing, invalid or expired"


class CurrentPasswordRequired(AppError):
    status = 422
    type = "current-password-required"
    title = "The current password is required and must be correct"


class AddressNotFound(NotFound):
    type = "address-not-found"
    title = "Address not found"


class AccountNotFound(NotFound):
    type = "account-not-found"
    title = "Account not found"


class StaffOnly(AppError):
    status = 403
    type = "staff-only"
    title = "Staff only"


class AddressLimitReached(Conflict):
    type = "address-limit-reached"
    title = "Too many addresses"


class InvalidVerificationToken(AppError):
    status = 422
    type = "invalid-verification-token"
    title = "This verification link is not valid, was used already or has expired"
