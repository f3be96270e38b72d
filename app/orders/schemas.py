from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from app.accounts.schemas import PostalAddress
from app.adapters.payments.base import OpaqueCard, PaymentMethod
from app.carts.schemas import TotalsRead
from app.catalog.models import Metal
from app.core.schemas import Email, Flag, InputModel, OutputModel, Phone, examples
from app.core.settings import CaptureSetting, PaymentProviderName
from app.orders.models import OrderStatus, PaymentState

# ---- published examples (a paid order of a halo ring, shipped by FedEx) ----

_ORDER_ID = "6a1f3c5e-2b4d-4f60-8e7a-9c0b1d2e3f41"
_ORDER_NUMBER = "FJ-7K2M9QXD"
_SHIPPING_ADDRESS = {
    "full_name": "Ada Lovelace",
    "line1": "350 Fifth Avenue",
    "line2": "Suite 4200",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}
_CHECKOUT_REQUEST = {
    "cart_id": "9f1c4e2a-7b3d-4c5e-8f60-1a2b3c4d5e6f",
    "email": "ada.lovelace@example.com",
    "phone": "+1 212 555 0142",
    "shipping_address": _SHIPPING_ADDRESS,
    "is_adult": True,
    "marketing_opt_in": False,
}
_TOTALS = {
    "currency": "USD",
    "subtotal_minor": 189900,
    "shipping_minor": 0,
    "gift_box_minor": 0,
    "gift_box": True,
    "tax_minor": 0,
    "total_minor": 189900,
}
_PAYMENT = {
    "provider": "stripe",
    "state": "captured",
    "capture_mode": "automatic",
    "amount_minor": 189900,
    "currency": "USD",
    "amount_refunded_minor": 0,
}
_ORDER_LINE = {
    "variant_id": "3e8a1f0c-5d2b-4a7e-9c61-0b2d4f6a8c90",
    "product_name": "Halo Engagement Ring, 14k White Gold",
    "sku": "ENG-HALO-14KW-065",
    "options": {"ring_size": "6.5", "chain_length_cm": None, "metal": None},
    "unit_price_minor": 189900,
    "quantity": 1,
    "line_total_minor": 189900,
}
_TRACKING_EVENT = {
    "occurred_at": "2026-11-24T18:05:00Z",
    "status": "in_transit",
    "description": "In transit",
    "location": "Newark, NJ",
}
_SHIPMENT = {
    "carrier": "fedex",
    "service": "PRIORITY_OVERNIGHT",
    "tracking_number": "794644790138",
    "created_at": "2026-11-24T15:30:00Z",
}
_PENDING_ORDER = {
    "id": _ORDER_ID,
    "number": _ORDER_NUMBER,
    "status": "pending_payment",
    "email": "ada.lovelace@example.com",
    "phone": "+1 212 555 0142",
    "shipping_address": _SHIPPING_ADDRESS,
    "lines": [_ORDER_LINE],
    "totals": _TOTALS,
    "payment": {**_PAYMENT, "state": "none"},
    "shipments": [],
    "created_at": "2026-11-23T20:14:03Z",
    "paid_at": None,
    "shipped_at": None,
    "delivered_at": None,
    "cancelled_at": None,
}
_ORDER = {
    **_PENDING_ORDER,
    "status": "shipped",
    "payment": _PAYMENT,
    "shipments": [_SHIPMENT],
    "paid_at": "2026-11-23T20:16:41Z",
    "shipped_at": "2026-11-24T15:30:00Z",
}
_CHECKOUT_RESPONSE = {**_PENDING_ORDER, "order_token": "ot_Jx3v9Qm2LrT8wZ5nB1cK7yHd"}
_ORDER_SUMMARY = {
    "id": _ORDER_ID,
    "number": _ORDER_NUMBER,
    "status": "shipped",
    "total_minor": 189900,
    "currency": "USD",
    "created_at": "2026-11-23T20:14:03Z",
}
_OPAQUE_DATA = {
    "data_descriptor": "COMMON.ACCEPT.INAPP.PAYMENT",
    "data_value": "eyJjb2RlIjoiNTBfMl8wNjAwMDUzMjU5QkYxQjc0In0=",
}
_PAYMENT_CONFIRM = {"payment_method": "pm_card_visa"}
_PAYMENT_RESULT = {
    **_PENDING_ORDER,
    "status": "paid",
    "payment": _PAYMENT,
    "paid_at": "2026-11-23T20:16:41Z",
    "customer_action": None,
}
_TRACKING = {
    "number": _ORDER_NUMBER,
    "status": "shipped",
    "shipments": [_SHIPMENT],
    "events": [
        {**_TRACKING_EVENT, "status": "label_created", "description": "Shipping label created"},
        _TRACKING_EVENT,
    ],
}
_ORDER_EVENT = {
    "from_status": "paid",
    "to_status": "shipped",
    "actor": "staff",
    "note": None,
    "created_at": "2026-11-24T15:30:00Z",
}
_ADMIN_ORDER = {
    **_ORDER,
    "events": [
        {**_ORDER_EVENT, "from_status": None, "to_status": "pending_payment", "actor": "guest"},
        {**_ORDER_EVENT, "from_status": "pending_payment", "to_status": "paid", "actor": "guest"},
        _ORDER_EVENT,
    ],
    "payment_review": None,
}
_REFUND = {"reason": "Returned within 30 days, unworn"}
_TRACK_REQUEST = {"number": _ORDER_NUMBER, "email": "ada.lovelace@example.com"}
_CONTACT_UPDATE = {"phone": "+1 212 555 0199"}


class CheckoutRequest(InputModel):
    """Turns a cart into an order awaiting payment (`POST /v1/checkout`, with an `Idempotency-Key`
    header). Give either `date_of_birth` (checked to be 18 or over, not kept) or `is_adult:
    true`: no one under 18 can buy (P9). The contact details are used only to process the
    order (P1)."""

    # P9 in the schema itself: a date of birth, or an explicit 18+ attestation (or both).
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [_CHECKOUT_REQUEST],
            "anyOf": [
                {
                    "required": ["date_of_birth"],
                    "properties": {"date_of_birth": {"type": "string"}},
                },
                {"required": ["is_adult"], "properties": {"is_adult": {"type": "boolean"}}},
            ],
        }
    )

    cart_id: uuid.UUID
    """The cart to buy; it becomes at most one order."""
    email: Email
    """Where the order confirmation and shipping updates go; at most 254 characters."""
    phone: Phone
    """A phone number for delivery questions, 5-32 characters; given to the carrier only."""
    shipping_address: PostalAddress
    """Where the order ships (free)."""
    date_of_birth: date | None = Field(default=None, description="Or send `is_adult: true`.")
    is_adult: Flag | None = Field(default=None, description="An 18+ attestation (P9).")
    marketing_opt_in: Flag = Field(
        default=False,
        description="Marketing email, unticked by default (P2): recorded in the consent "
        "ledger (for a guest, against a keyed hash of the email until an account verifies it).",
    )
    referral_code: (
        Annotated[str, StringConstraints(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
        | None
    ) = None
    """The code from a friend's invitation, if the buyer has one: 4-40 letters, digits or dashes."""

    @model_validator(mode="after")
    def _age_given(self) -> CheckoutRequest:
        if self.date_of_birth is None and self.is_adult is None:
            raise ValueError("send date_of_birth or is_adult")
        return self


class PaymentRead(OutputModel):
    """The payment of an order: which processor, its state, and the amounts."""

    model_config = examples(_PAYMENT)

    provider: PaymentProviderName
    """The processor that handles the payment: `stripe`, `authorizenet`, or `fake` (test setups)."""
    state: PaymentState
    """Where the money stands."""
    capture_mode: CaptureSetting
    """`automatic` (charged when paid) or `manual` (held on the card when paid, charged when staff
    ship)."""
    amount_minor: int
    """The amount to pay, in minor units."""
    currency: str
    """ISO 4217 currency code of the amounts."""
    amount_refunded_minor: int
    """How much was refunded so far, in minor units."""


class OrderLineOptions(OutputModel):
    """What the buyer chose of the variant, as it was when ordered."""

    ring_size: str | None = None
    """The US ring size, e.g. `6.5`; null for pieces that are not rings."""
    chain_length_cm: int | None = None
    """The chain length in centimetres; null for pieces without a chain."""
    metal: Metal | None = None
    """The metal chosen, when the piece comes in several; null otherwise."""


class OrderLineRead(OutputModel):
    """One line of an order, with the price it was bought at."""

    model_config = examples(_ORDER_LINE)

    variant_id: uuid.UUID
    """The variant bought."""
    product_name: str
    """The product's name at the time of purchase."""
    sku: str
    """The variant's stock-keeping unit code."""
    options: OrderLineOptions
    """The chosen options; each is null when the variant does not have it."""
    unit_price_minor: int
    """The price paid for one piece, in minor units."""
    quantity: int
    """How many pieces."""
    line_total_minor: int
    """`unit_price_minor` x `quantity`, in minor units."""


class TrackingEventRead(OutputModel):
    """One step of a shipment's journey, as the carrier reports it."""

    model_config = examples(_TRACKING_EVENT)

    occurred_at: datetime
    """When it happened (UTC)."""
    status: str
    """The carrier's code for the step, e.g. `label_created`, `in_transit`, `delivered`."""
    description: str
    """The step in English words, for display."""
    location: str | None
    """Where it happened, when the carrier says."""


class ShipmentRead(OutputModel):
    """A parcel booked with the carrier for an order."""

    model_config = examples(_SHIPMENT)

    carrier: str
    """The carrier, e.g. `fedex`."""
    service: str
    """The carrier's service level, e.g. `PRIORITY_OVERNIGHT`."""
    tracking_number: str
    """The carrier's tracking number."""
    created_at: datetime
    """When the shipment was booked (UTC)."""


class OrderRead(OutputModel):
    """An order, as its owner, a guest holding its `X-Order-Token`, or staff see it."""

    model_config = examples(_ORDER)

    id: uuid.UUID
    """The order's id, used in `/v1/orders/{order_id}`."""
    number: str
    """The short order number to quote to the store and to track the order, e.g. `FJ-7K2M9QXD`."""
    status: OrderStatus
    """Where the order stands."""
    email: str
    """The buyer's email address (personal data: shown only to the buyer and staff)."""
    phone: str | None
    """The buyer's phone number, or null once erased."""
    shipping_address: PostalAddress
    """The address it ships to."""
    lines: list[OrderLineRead]
    """What was bought."""
    totals: TotalsRead
    """What the order costs, fixed at checkout."""
    payment: PaymentRead
    """The payment's state."""
    shipments: list[ShipmentRead]
    """The parcels booked, once shipped."""
    created_at: datetime
    """When the order was placed (UTC)."""
    paid_at: datetime | None
    """When the payment went through (UTC), or null."""
    shipped_at: datetime | None
    """When it shipped (UTC), or null."""
    delivered_at: datetime | None
    """When it was delivered (UTC), or null."""
    cancelled_at: datetime | None
    """When it was cancelled (UTC), or null."""


class CheckoutResponse(OrderRead):
    """The order a checkout created, awaiting payment, with the guest's order token."""

    model_config = examples(_CHECKOUT_RESPONSE)

    order_token: str | None = Field(
        description="A guest sends it as `X-Order-Token` to view, pay or cancel. Never "
        "stored: a replay of the checkout issues a fresh one (replacing this) while the "
        "order awaits payment, and answers null after that."
    )


class OrderSummary(OutputModel):
    """An order as listed in the order history."""

    model_config = examples(_ORDER_SUMMARY)

    id: uuid.UUID
    """The order's id."""
    number: str
    """The short order number."""
    status: OrderStatus
    """Where the order stands."""
    total_minor: int
    """What the order costs, in minor units."""
    currency: str
    """ISO 4217 currency code of the total."""
    created_at: datetime
    """When the order was placed (UTC)."""


# 12 to 19 digits, possibly grouped by spaces or dashes: the shape of a card number (PAN).
CARD_NUMBER = re.compile(r"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)")


def contains_card_number(value: object) -> bool:
    """Whether a card-number-shaped value hides anywhere in a request body (keys too)."""
    match value:
        case str():
            return CARD_NUMBER.search(value) is not None
        case bool():
            return False
        case int():
            return contains_card_number(str(value))
        case float():
            return value.is_integer() and contains_card_number(str(int(value)))
        case dict():
            return any(contains_card_number(k) or contains_card_number(v) for k, v in value.items())
        case list() | tuple():
            return any(contains_card_number(item) for item in value)
        case _:
            return False


class OpaqueData(InputModel):
    """What Accept.js (`Accept.dispatchData`) or Accept Mobile hands the buyer's browser
    or app in `opaqueData`: a one-time token for the card, never the card itself."""

    model_config = examples(_OPAQUE_DATA)

    data_descriptor: Annotated[
        str, StringConstraints(min_length=1, max_length=60, pattern=r"^[A-Z0-9._]+$")
    ] = Field(description="`opaqueData.dataDescriptor`, e.g. `COMMON.ACCEPT.INAPP.PAYMENT`.")
    data_value: Annotated[
        str, StringConstraints(min_length=1, max_length=8192, pattern=r"^[A-Za-z0-9+/=_-]+$")
    ] = Field(description="`opaqueData.dataValue`, sent as received.")


class PaymentConfirm(InputModel):
    """A payment confirmation carries only what the processor's own form produced, never
    card data (P7): Stripe's `payment_method` token, or Authorize.Net's Accept.js
    `opaque_data`. Exactly one; the configured processor says which (the other is 422)."""

    model_config = examples(_PAYMENT_CONFIRM)

    payment_method: (
        Annotated[
            str, StringConstraints(min_length=4, max_length=100, pattern=r"^pm_[A-Za-z0-9_]+$")
        ]
        | None
    ) = Field(
        default=None,
        description="With Stripe (or the fake processor): the payment-method token, e.g. "
        "`pm_card_visa`.",
    )
    opaque_data: OpaqueData | None = Field(
        default=None,
        description="With Authorize.Net: the `opaqueData` Accept.js `dispatchData` returned.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PaymentConfirm:
        if (self.payment_method is None) == (self.opaque_data is None):
            raise ValueError("send either payment_method or opaque_data")
        return self

    @property
    def method(self) -> PaymentMethod:
        if self.opaque_data is not None:
            return OpaqueCard(self.opaque_data.data_descriptor, self.opaque_data.data_value)
        return self.payment_method or ""

    @model_validator(mode="before")
    @classmethod
    def _no_card_numbers(cls, data: object) -> object:
        # Checked before any field, so the refusal names no field and echoes nothing.
        if contains_card_number(data):
            raise PydanticCustomError(
                "card_number_refused",
                "Card numbers are not accepted; pay with the processor's payment-method token.",
            )
        return data


class CustomerAction(OutputModel):
    """What the buyer's browser or app needs to finish a payment the processor holds for
    authentication (3-D Secure/SCA), e.g. with Stripe.js `handleNextAction`."""

    type: str = Field(description="The processor's next action, e.g. `use_stripe_sdk`.")
    client_secret: str
    """The payment's client secret, handed to the processor's SDK (Stripe.js) to authenticate; treat
    as a secret."""
    redirect_url: str | None = None
    """Where to send the buyer to authenticate, when the processor uses a redirect; else null."""


class PaymentResult(OrderRead):
    """The order after a payment attempt; `customer_action` says when the buyer must still
    authenticate (3-D Secure)."""

    model_config = examples(_PAYMENT_RESULT)

    customer_action: CustomerAction | None = Field(
        default=None,
        description="Set when the buyer must authenticate; the order stays payable and "
        "the processor's webhook completes it.",
    )


class TrackingRead(OutputModel):
    """What anyone holding an order's number and email may see: its status and tracking, without
    personal data."""

    model_config = examples(_TRACKING)

    number: str
    """The order number."""
    status: OrderStatus
    """Where the order stands."""
    shipments: list[ShipmentRead]
    """The parcels booked."""
    events: list[TrackingEventRead]
    """The carrier's tracking events, oldest first."""


class OrderEventRead(OutputModel):
    """One change of an order's status, in its history (staff)."""

    model_config = examples(_ORDER_EVENT)

    from_status: str | None
    """The status before (an `OrderStatus` value), or null when the order was created."""
    to_status: str
    """The status after (an `OrderStatus` value)."""
    actor: str
    """Who made the change: `customer`, `guest`, `staff` or `system` (the processor's webhook or a
    scheduled job)."""
    note: str | None
    """A staff note or the reason, or null."""
    created_at: datetime
    """When it changed (UTC)."""


class AdminOrderRead(OrderRead):
    """An order as staff see it, with its full status history."""

    model_config = examples(_ADMIN_ORDER)

    events: list[OrderEventRead]
    """Every status change, oldest first."""
    payment_review: str | None = Field(
        description="Why staff must look at the payment (an amount that does not match, a "
        "dispute, ...); null when nothing needs review."
    )


class RefundRequest(InputModel):
    """A full refund of an order (staff). Before shipment this cancels the order; after, it records
    a return."""

    model_config = examples(_REFUND)

    reason: Annotated[str, StringConstraints(max_length=200)] | None = None
    """Why, for the order's history, at most 200 characters."""


class TrackRequest(InputModel):
    """Sent in the body so the email never appears in a URL (logs, history, referrers)."""

    model_config = examples(_TRACK_REQUEST)

    number: Annotated[
        str, StringConstraints(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9-]+$")
    ]
    """The order number from the confirmation email, e.g. `FJ-7K2M9QXD`."""
    email: Email
    """The email the order was placed with; both must match or the answer is 404."""


class OrderContactUpdate(InputModel):
    """Corrected contact data, on the buyer's request (P8); omitted fields stay."""

    model_config = examples(_CONTACT_UPDATE)

    email: Email | None = None
    """The corrected email address."""
    phone: Phone | None = None
    """The corrected phone number, 5-32 characters."""
    shipping_address: PostalAddress | None = None
    """The corrected shipping address."""
