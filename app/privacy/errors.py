from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class NoPolicyInForce(NotFound):
    type = "no-privacy-policy"
    title = "No privacy policy is in force yet"
    description = "No privacy policy version is in force yet."


class PolicyUnchanged(Conflict):
    """Publishing the text in force again (a double submit) would email everyone twice."""

    type = "privacy-policy-unchanged"
    title = "This text is already the latest privacy policy version"
    description = (
        "The text is the latest published version already (a double submit would notify "
        "everyone twice)."
    )


class PolicyVersionConflict(Conflict):
    type = "privacy-policy-version-conflict"
    title = "Another privacy policy version was published at the same time"
    description = "Another policy version was published at the same time; reload and retry."


class InvalidEffectiveDate(AppError):
    status = 422
    type = "invalid-effective-date"
    title = "A policy version takes effect between today and a year from now"
    description = "A policy version takes effect between today and a year from now."


class InvalidDateRange(AppError):
    status = 422
    type = "invalid-date-range"
    title = "`from` must not be after `to`"
    description = "The range's `from` is after its `to`."


class InvalidOptOutToken(AppError):
    """A token this service did not sign, or one used for a purpose it does not cover."""

    status = 422
    type = "invalid-opt-out-token"
    title = "This opt-out link is not valid"
    description = "The opt-out token is not one this store signed, or does not cover this purpose."


class InvalidConfirmationToken(AppError):
    status = 422
    type = "invalid-confirmation-token"
    title = "This confirmation link is not valid or has expired"
    description = "The newsletter confirmation link is not valid or has expired."


class CampaignChannelUnsupported(AppError):
    status = 422
    type = "campaign-channel-unsupported"
    title = "Campaigns are sent by email only (marketing_email or newsletter)"
    description = (
        "Campaigns are sent by email only: the purpose must be `marketing_email` or `newsletter`."
    )


class PrivacyRequestNotFound(NotFound):
    """An unknown id, a wrong or expired code, or a request already done: all alike."""

    type = "privacy-request-not-found"
    title = "No privacy request awaits confirmation with this code"
    description = (
        "No privacy request awaits confirmation with this id and code (unknown, wrong or "
        "expired code, or already done: all alike)."
    )


class InquiryNotFound(NotFound):
    type = "privacy-inquiry-not-found"
    title = "No such privacy inquiry"
    description = "No privacy inquiry has this id."


class InquiryClosed(Conflict):
    type = "privacy-inquiry-closed"
    title = "This inquiry is closed"
    description = "The privacy inquiry is closed."


class DisclosureSubjectRequired(AppError):
    status = 422
    type = "disclosure-subject-required"
    title = "A disclosure names its subject: an email address, an account, or both"
    description = "A legal disclosure names its subject: an email address, an account id, or both."


class UnknownDisclosureAccount(AppError):
    status = 422
    type = "unknown-disclosure-account"
    title = "No account has this id"
    description = "No account has the `account_id` given."


class ErasureBlockedByOpenOrder(Conflict):
    """An erasure asked while an order is being paid or is paid and not yet shipped: it
    is refused until the order completes (or is cancelled), never half done."""

    type = "erasure-blocked-by-open-order"
    title = "An open order must complete before the account can be erased"
    description = (
        "An order is being paid, or is paid and not yet shipped; erasure waits until it "
        "completes or is cancelled. `order_number` names it."
    )
    extension_members = {
        "order_number": {
            "type": "string",
            "description": "The open order's number.",
            "examples": ["FA-7Q2K9M"],
        }
    }
