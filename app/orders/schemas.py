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
from app.core.schemas import Email, Flag, InputModel, OutputModel, Phone
from app.core.settings import CaptureSetting, PaymentProviderName
from app.orders.models import OrderStatus, PaymentState


class CheckoutRequest(InputModel):
    # P9 in the schema itself: a date of birth, or an explicit 18+ attestation (or both).
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["date_of_birth"],
                    "properties": {"date_of_birth": {"type": "string"}},
                },
                {"required": ["is_adult"], "properties": {"is_adult": {"type": "boolean"}}},
            ]
        }
    )

    cart_id: uuid.UUID
    email: Email
    phone: Phone
    shipping_address: PostalAddress
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

    @model_validator(mode="after")
    def _age_given(self) -> CheckoutRequest:
        if self.date_of_birth is None and self.is_adult is None:
            raise ValueError("send date_of_birth or is_adult")
        return self


class PaymentRead(OutputModel):
    provider: PaymentProviderName
    state: PaymentState
    capture_mode: CaptureSetting
    amount_minor: int
    currency: str
    amount_refunded_minor: int


class OrderLineOptions(OutputModel):
    """What the buyer chose of the variant, as it was when ordered."""

    ring_size: str | None = None
    chain_length_cm: int | None = None
    metal: Metal | None = None


class OrderLineRead(OutputModel):
    variant_id: uuid.UUID
    product_name: str
    sku: str
    options: OrderLineOptions
    unit_price_minor: int
    quantity: int
    line_total_minor: int


class TrackingEventRead(OutputModel):
    occurred_at: datetime
    status: str
    description: str
    location: str | None


class ShipmentRead(OutputModel):
    carrier: str
    service: str
    tracking_number: str
    created_at: datetime


class OrderRead(OutputModel):
    id: uuid.UUID
    number: str
    status: OrderStatus
    email: str
    phone: str | None
    shipping_address: PostalAddress
    lines: list[OrderLineRead]
    totals: TotalsRead
    payment: PaymentRead
    shipments: list[ShipmentRead]
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None


class CheckoutResponse(OrderRead):
    order_token: str | None = Field(
        description="A guest sends it as `X-Order-Token` to view, pay or cancel. Never "
        "stored: a replay of the checkout issues a fresh one (replacing this) while the "
        "order awaits payment, and answers null after that."
    )


class OrderSummary(OutputModel):
    id: uuid.UUID
    number: str
    status: OrderStatus
    total_minor: int
    currency: str
    created_at: datetime


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
    redirect_url: str | None = None


class PaymentResult(OrderRead):
    customer_action: CustomerAction | None = Field(
        default=None,
        description="Set when the buyer must authenticate; the order stays payable and "
        "the processor's webhook completes it.",
    )


class TrackingRead(OutputModel):
    number: str
    status: OrderStatus
    shipments: list[ShipmentRead]
    events: list[TrackingEventRead]


class OrderEventRead(OutputModel):
    from_status: str | None
    to_status: str
    actor: str
    note: str | None
    created_at: datetime


class AdminOrderRead(OrderRead):
    events: list[OrderEventRead]
    payment_review: str | None = Field(
        description="Why staff must look at the payment (an amount that does not match, a "
        "dispute, ...); null when nothing needs review."
    )


class RefundRequest(InputModel):
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class TrackRequest(InputModel):
    """Sent in the body so the email never appears in a URL (logs, history, referrers)."""

    number: Annotated[
        str, StringConstraints(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9-]+$")
    ]
    email: Email


class OrderContactUpdate(InputModel):
    """Corrected contact data, on the buyer's request (P8); omitted fields stay."""

    email: Email | None = None
    phone: Phone | None = None
    shipping_address: PostalAddress | None = None
