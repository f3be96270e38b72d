from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound, ServiceUnavailable


class OrderNotFound(NotFound):
    type = "order-not-found"
    title = "Order not found"


class OutOfStock(Conflict):
    type = "out-of-stock"
    title = "An item sold out"


class IllegalTransition(Conflict):
    type = "illegal-transition"
    title = "The order cannot make this transition"


class AdultAttestationRequired(AppError):
    status = 422
    type = "age-restricted"
    title = "You must be 18 or older"


class PaymentDeclinedProblem(AppError):
    status = 402
    type = "payment-declined"
    title = "The payment was declined"
    # The declined attempt is recorded (and the buyer told by email) though the request fails.
    commit_changes = True


class PaymentProviderUnavailable(ServiceUnavailable):
    type = "payment-provider-unavailable"
    title = "The payment processor did not answer; retry with the same request"
    headers = {"Retry-After": "5"}


class PaymentOutcomeUnknown(PaymentProviderUnavailable):
    """A payment the processor did not answer. The intent id recorded before the call is
    kept, so the processor's webhook can still find the order and a retry reuses it."""

    commit_changes = True


class PaymentRejectedProblem(AppError):
    status = 409
    type = "payment-rejected"
    title = "The payment processor refused the request"


class PaymentAttemptsExhausted(Conflict):
    """Too many payment attempts on one order: it is cancelled and its stock released, so
    a card tester cannot keep retrying nor hold stock."""

    type = "payment-attempts-exhausted"
    title = "Too many payment attempts: the order is cancelled"
    commit_changes = True


class PaymentUnderReview(Conflict):
    """The processor reported an amount or currency other than the order's: recorded and
    flagged for staff, never treated as paid."""

    type = "payment-under-review"
    title = "The payment does not match the order; staff will review it"
    commit_changes = True


class PaymentNotShippable(Conflict):
    type = "payment-not-shippable"
    title = "The order's payment does not allow shipping"


class OrderChangedMeanwhile(Conflict):
    """Money moved at the processor, but another request changed the order first. What
    moved is recorded and the order flagged for staff, so the request commits."""

    type = "order-changed-meanwhile"
    title = "The order changed while the processor was called"
    commit_changes = True


# Shipping fails only after any capture is recorded on the order; these commit so that
# record survives the failed request (nothing else has been written by then).
class CarrierUnavailable(ServiceUnavailable):
    type = "carrier-unavailable"
    title = "The carrier did not answer; retry"
    headers = {"Retry-After": "5"}
    commit_changes = True


class CarrierRejected(AppError):
    status = 422
    type = "carrier-rejected"
    title = "The carrier refused the shipment"
    commit_changes = True


class InvalidWebhookProblem(AppError):
    status = 400
    type = "invalid-webhook"
    title = "Webhook signature or payload invalid"


class ErasureBlockedByOpenOrder(Conflict):
    """An erasure asked while an order is being paid or is paid and not yet shipped: it
    is refused until the order completes (or is cancelled), never half done."""

    type = "erasure-blocked-by-open-order"
    title = "An open order must complete before the account can be erased"


class PaymentMethodNotAccepted(AppError):
    """A payment method of another processor's shape (a `pm_...` token while Authorize.Net
    is configured, or opaque data while Stripe is)."""

    status = 422
    type = "payment-method-not-accepted"
    title = "The configured payment processor does not take this kind of payment method"
