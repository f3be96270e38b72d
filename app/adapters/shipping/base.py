"""The shipping port: quote, ship and track through a carrier.

A carrier receives only `RECIPIENT_FIELDS` of the buyer (P3): the processors
register lists exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.adapters.disclosure import Processor

RECIPIENT_FIELDS = (
    "full_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


@dataclass(frozen=True)
class Recipient:
    full_name: str
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    phone: str | None


@dataclass(frozen=True)
class Parcel:
    weight_grams: int
    declared_value_minor: int
    currency: str


@dataclass(frozen=True)
class Quote:
    service: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class Shipment:
    carrier: str
    service: str
    tracking_number: str


@dataclass(frozen=True)
class TrackingEvent:
    occurred_at: datetime
    status: str  # label_created, picked_up, in_transit, out_for_delivery, delivered, exception
    description: str
    location: str | None = None


class ShippingError(Exception):
    """Base of every shipping port error."""


class ShippingUnavailable(ShippingError):
    """Timeout, connection failure or 5xx from the carrier."""


class ShippingRejected(ShippingError):
    """The carrier refused the request (an address it cannot serve, bad data)."""


class ShippingCarrier(Protocol):
    name: str
    disclosure: Processor  # who receives what (P3): the processors register

    async def quote(self, recipient: Recipient, parcel: Parcel) -> Quote: ...

    async def create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment: ...

    async def track(self, tracking_number: str) -> list[TrackingEvent]: ...

    async def close(self) -> None: ...
