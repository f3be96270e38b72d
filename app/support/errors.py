from __future__ import annotations

from app.core.errors import Conflict, NotFound


class SupportRequestNotFound(NotFound):
    type = "support-request-not-found"
    title = "No such support request"
    description = "No support request has this id."


class SupportRequestAnswered(Conflict):
    type = "support-request-answered"
    title = "This support request was already answered"
    description = "The support request has already been answered."
