from __future__ import annotations

from app.core.errors import AppError, Conflict, NotFound, ServiceUnavailable


class OrderNotFound(NotFound):
    type = "order-not-found"
    title = "Order not found"
    description = (
        "No order has this id or number, or the caller may not see it: guests need the "
        "`X-Order-Token` from checkout, and tracking needs the order's number and email."
    )


class OutOfStock(Conflict):
    type = "out-of-stock"
    title = "An item sold out"
    description = (
        "An item sold out between adding it to the cart and checking out; nothing was "
        "reserved and the cart is kept."
    )


class IllegalTransition(Conflict):
    type = "illegal-transition"
    title = "The order cannot make this transition"
    description = (
        "The order's status does not allow this (e.g. cancelling a shipped order, paying "
        "a cancelled one)."
    )


class PaymentDeclinedProblem(AppError):
    status = 402
    type = "payment-declined"
    title = "The payment was declined"
    description = (
        "The processor declined the card. The attempt is recorded; try another payment "
        "method. `decline_code` gives the processor's reason."
    )
    extension_members = {
        "decline_code": {
            "type": "string",
            "description": "The processor's reason for the decline.",
            "examples": ["card_declined"],
        }
    }
    # The declined attempt is recorded (and the buyer told by email) though the request fails.
    commit_changes = True


class PaymentProviderUnavailable(ServiceUnavailable):
    type = "payment-provider-unavailable"
    title = "The payment processor did not answer; retry with the same request"
    description = (
        "The payment processor did not answer. Retry the same request (after "
        "`Retry-After`); a payment that may have gone through is reconciled, never "
        "charged twice."
    )
    headers = {"Retry-After": "5"}


class PaymentOutcomeUnknown(PaymentProviderUnavailable):
    """A payment the processor did not answer. The intent id recorded before the call is
    kept, so the processor's webhook can still find the order and a retry reuses it."""

    commit_changes = True


class PaymentRejectedProblem(AppError):
    status = 409
    type = "payment-rejected"
    title = "The payment processor refused the request"
    description = (
        "The processor refused the request itself (not the card), e.g. a payment method "
        "token it does not know."
    )


class PaymentAttemptsExhausted(Conflict):
    """Too many payment attempts on one order: it is cancelled and its stock released, so
    a card tester cannot keep retrying nor hold stock."""

    type = "payment-attempts-exhausted"
    title = "Too many payment attempts: the order is cancelled"
    description = "Too many payment attempts on this order: it is cancelled and its stock released."
    commit_changes = True


class PaymentUnderReview(Conflict):
    """The processor reported an amount or currency other than the order's: recorded and
    flagged for staff, never treated as paid."""

    type = "payment-under-review"
    title = "The payment does not match the order; staff will review it"
    description = (
        "The processor reported an amount or currency other than the order's; the payment"
        " is held for staff review and not treated as paid."
    )
    commit_changes = True


class PaymentNotShippable(Conflict):
    type = "payment-not-shippable"
    title = "The order's payment does not allow shipping"
    description = (
        "The order's payment does not allow shipping (not captured or authorized, or under review)."
    )


class OrderChangedMeanwhile(Conflict):
    """Money moved at the processor, but another request changed the order first. What
    moved is recorded and the order flagged for staff, so the request commits."""

    type = "order-changed-meanwhile"
    title = "The order changed while the processor was called"
    description = (
        "Money moved at the processor but the order changed during the call; what moved "
        "is recorded and staff will reconcile it."
    )
    commit_changes = True


# Shipping fails only after any capture is recorded on the order; these commit so that
# record survives the failed request (nothing else has been written by then).
class CarrierUnavailable(ServiceUnavailable):
    type = "carrier-unavailable"
    title = "The carrier did not answer; retry"
    description = "The shipping carrier did not answer; retry after `Retry-After`."
    headers = {"Retry-After": "5"}
    commit_changes = True


class CarrierRejected(AppError):
    status = 422
    type = "carrier-rejected"
    title = "The carrier refused the shipment"
    description = "The shipping carrier refused the shipment (e.g. an address it cannot serve)."
    commit_changes = True


class InvalidWebhookProblem(AppError):
    status = 400
    type = "invalid-webhook"
    title = "Webhook signature or payload invalid"
    description = (
        "The webhook's signature does not verify or its payload cannot be read; nothing is applied."
    )


class PaymentMethodNotAccepted(AppError):
    """A payment method of another processor's shape (a `pm_...` token while Authorize.Net
    is configured, or opaque data while Stripe is)."""

    status = 422
    type = "payment-method-not-accepted"
    title = "The configured payment processor does not take this kind of payment method"
    description = (
        "The payment method is of another processor's shape (a Stripe `pm_...` token "
        "while Authorize.Net is configured, or opaque card data while Stripe is)."
    )
