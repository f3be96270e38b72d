from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class NoPolicyInForce(NotFound):
    type = "no-privacy-policy"
    title = "No privacy policy is in force yet"


class PolicyUnchanged(Conflict):
    """Publishing the text in force again (a double submit) would email everyone twice."""

    type = "privacy-policy-unchanged"
    title = "This text is already the latest privacy policy version"


class PolicyVersionConflict(Conflict):
    type = "privacy-policy-version-conflict"
    title = "Another privacy policy version was published at the same time"


class InvalidEffectiveDate(AppError):
    status = 422
    type = "invalid-effective-date"
    title = "A policy version takes effect between today and a year from now"


class InvalidDateRange(AppError):
    status = 422
    type = "invalid-date-range"
    title = "`from` must not be after `to`"


class InvalidOptOutToken(AppError):
    """A token this service did not sign, or one used for a purpose it does not cover."""

    status = 422
    type = "invalid-opt-out-token"
    title = "This opt-out link is not valid"


class InvalidConfirmationToken(AppError):
    status = 422
    type = "invalid-confirmation-token"
    title = "This confirmation link is not valid or has expired"


class NewsletterAgeRestricted(AppError):
    status = 422
    type = "age-restricted"
    title = "Facet does not collect data from persons under 18"


class CampaignChannelUnsupported(AppError):
    status = 422
    type = "campaign-channel-unsupported"
    title = "Campaigns are sent by email only (marketing_email or newsletter)"


class PrivacyRequestNotFound(NotFound):
    """An unknown id, a wrong or expired code, or a request already done: all alike."""

    type = "privacy-request-not-found"
    title = "No privacy request awaits confirmation with this code"


class InquiryNotFound(NotFound):
    type = "privacy-inquiry-not-found"
    title = "No such privacy inquiry"


class InquiryClosed(Conflict):
    type = "privacy-inquiry-closed"
    title = "This inquiry is closed"


class AdultAttestationRequired(AppError):
    """P9: nothing a minor sends is stored."""

    status = 422
    type = "adult-attestation-required"
    title = "Only people aged 18 or over can send this"


class DisclosureSubjectRequired(AppError):
    status = 422
    type = "disclosure-subject-required"
    title = "A disclosure names its subject: an email address, an account, or both"


class UnknownDisclosureAccount(AppError):
    status = 422
    type = "unknown-disclosure-account"
    title = "No account has this id"
