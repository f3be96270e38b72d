from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound


class ContactAgeRestricted(AppError):
    status = 422
    type = "age-restricted"
    title = "Facet does not collect data from persons under 18"


class SupportRequestNotFound(NotFound):
    type = "support-request-not-found"
    title = "No such support request"


class SupportRequestAnswered(Conflict):
    type = "support-request-answered"
    title = "This support request was already answered"
