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


class EffectiveDateInPast(AppError):
    status = 422
    type = "effective-date-in-past"
    title = "A policy version cannot take effect in the past"


class InvalidDateRange(AppError):
    status = 422
    type = "invalid-date-range"
    title = "`from` must not be after `to`"
