from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound, Unauthorized


class EmailTaken(Conflict):
    type = "email-taken"
    title = "An account with this email already exists"
    description = "An account with this email already exists."


class WeakPassword(AppError):
    status = 422
    type = "weak-password"
    title = "Password too common"
    description = (
        "The password is too common or too easy to guess; choose a longer, less common one."
    )


class InvalidCredentials(Unauthorized):
    type = "invalid-credentials"
    title = "Invalid email or password"
    description = (
        "The email and password do not match an account (the answer does not say which is wrong)."
    )


class InvalidRefreshToken(Unauthorized):
    type = "invalid-refresh-token"
    title = "Refresh token invalid, expired or revoked"
    description = (
        "The refresh token is unknown, expired or revoked; log in again. Reusing a "
        "rotated token revokes the whole login session."
    )


class RefreshTokenReused(InvalidRefreshToken):
    """A rotated token came back (likely stolen): the family's revocation must persist."""

    commit_changes = True


class InvalidAccessToken(Unauthorized):
    type = "invalid-token"
    title = "Access token missing, invalid or expired"
    description = (
        "The access token is missing, malformed, expired or revoked; refresh it or log in again."
    )


class CurrentPasswordRequired(AppError):
    status = 422
    type = "current-password-required"
    title = "The current password is required and must be correct"
    description = (
        "Changing the email, the password or erasing the account needs the right "
        "`current_password`."
    )


class AddressNotFound(NotFound):
    type = "address-not-found"
    title = "Address not found"
    description = "The account has no saved address with this id."


class AccountNotFound(NotFound):
    type = "account-not-found"
    title = "Account not found"
    description = "No account has this id."


class StaffOnly(AppError):
    status = 403
    type = "staff-only"
    title = "Staff only"
    description = "The operation is for staff accounts only."


class AddressLimitReached(Conflict):
    type = "address-limit-reached"
    title = "Too many addresses"
    description = "The account holds as many saved addresses as it may; delete one first."


class InvalidVerificationToken(AppError):
    status = 422
    type = "invalid-verification-token"
    title = "This verification link is not valid, was used already or has expired"
    description = "The email verification link is not valid, was used already or has expired."
