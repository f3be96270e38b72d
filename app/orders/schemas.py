from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from app.accounts.schemas import PostalAddress
from app.carts.schemas import TotalsRead
from app.core.schemas import Email, Flag, InputModel, OutputModel, Phone
from app.orders.models import OrderStatus, PaymentState


class CheckoutRequest(InputModel):
    cart_id: uuid.UUID
    email: Email
    phone: Phone
    shipping_address: PostalAddress
    billing_address: PostalAddress | None = Field(
        default=None, description="Only when it differs from the shipping address."
    )
    date_of_birth: date | None = Field(default=None, description="Or send `is_adult: true`.")
    is_adult: Flag | None = Field(default=None, description="An 18+ attestation (P9).")
    marketing_opt_in: Flag = Field(default=False, description="Unticked by default (P2).")
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
    provider: str
    state: PaymentState
    capture_mode: str
    amount_minor: int
    currency: str
    amount_refunded_minor: int


class OrderLineRead(OutputModel):
    variant_id: uuid.UUID
    product_name: str
    sku: str
    options: dict[str, Any]
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
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any] | None
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
    order_token: str = Field(
        description="Shown once: a guest sends it as `X-Order-Token` to view, pay or cancel."
    )


class OrderSummary(OutputModel):
    id: uuid.UUID
    number: str
    status: OrderStatus
    total_minor: int
    currency: str
    created_at: datetime


class PaymentConfirm(InputModel):
    payment_method: Annotated[
        str, StringConstraints(min_length=3, max_length=100, pattern=r"^[A-Za-z0-9_]+$")
    ] = Field(description="The processor's payment-method token, e.g. `pm_card_visa`.")


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


class RefundRequest(InputModel):
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class TrackRequest(InputModel):
    """Sent in the body so the email never appears in a URL (logs, history, referrers)."""

    number: Annotated[
        str, StringConstraints(min_length=4, max_length=16, pattern=r"^[A-Za-z0-9-]+$")
    ]
    email: Email
