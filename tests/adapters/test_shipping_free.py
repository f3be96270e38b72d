"""FreeShipping: the embedded carrier."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.adapters.shipping import create_shipping_carrier
from app.adapters.shipping.base import Parcel, Recipient, ShippingRejected
from app.adapters.shipping.free import FreeShipping
from app.core.settings import Settings

RECIPIENT = Recipient(
    full_name="Ada Lovelace",
    line1="12 St James's Square",
    line2=None,
    city="London",
    region=None,
    postal_code="SW1Y 4JH",
    country="GB",
    phone=None,
)
PARCEL = Parcel(weight_grams=250, declared_value_minor=480_000, currency="EUR")
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


async def test_quote_is_free_in_the_parcel_currency() -> None:
    quote = await FreeShipping().quote(RECIPIENT, PARCEL)

    assert (quote.service, quote.amount_minor, quote.currency) == ("free_insured", 0, "EUR")


async def test_create_shipment_returns_a_tracking_number_from_the_key() -> None:
    shipment = await FreeShipping().create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )

    assert shipment.carrier == "free"
    assert shipment.service == "free_insured"
    assert re.fullmatch(r"FCT\d{12}", shipment.tracking_number)


async def test_a_retried_create_returns_the_same_number_even_elsewhere() -> None:
    first = await FreeShipping().create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    retry = await FreeShipping().create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    other = await FreeShipping().create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1002", idempotency_key="ship-order-2"
    )

    assert retry == first
    assert other.tracking_number != first.tracking_number


async def test_tracking_moves_from_label_to_delivered_as_time_passes() -> None:
    clock = Clock()
    carrier = FreeShipping(clock=clock)
    shipment = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    number = shipment.tracking_number
    delivered_at = START + carrier.delivery_delay(number)

    assert [e.status for e in await carrier.track(number)] == ["label_created"]

    clock.now = START + timedelta(hours=12)
    assert [e.status for e in await carrier.track(number)] == ["label_created", "in_transit"]

    clock.now = delivered_at - timedelta(seconds=1)
    assert [e.status for e in await carrier.track(number)] == ["label_created", "in_transit"]

    clock.now = delivered_at
    events = await carrier.track(number)
    assert [e.status for e in events] == ["label_created", "in_transit", "delivered"]
    assert [e.occurred_at for e in events] == [
        START,
        START + timedelta(hours=12),
        delivered_at,
    ]
    assert timedelta(days=2) <= delivered_at - START <= timedelta(days=4)


async def test_a_retried_create_does_not_restart_the_journey() -> None:
    clock = Clock()
    carrier = FreeShipping(clock=clock)
    shipment = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    clock.now = START + timedelta(days=1)
    await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )

    events = await carrier.track(shipment.tracking_number)

    assert events[0].occurred_at == START


async def test_a_number_from_another_process_starts_when_first_tracked() -> None:
    clock = Clock()
    shipment = await FreeShipping().create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )

    events = await FreeShipping(clock=clock).track(shipment.tracking_number)

    assert [(e.status, e.occurred_at) for e in events] == [("label_created", START)]


async def test_tracking_an_unknown_format_is_rejected() -> None:
    with pytest.raises(ShippingRejected):
        await FreeShipping().track("794900000001")


def test_factory_defaults_to_free_shipping() -> None:
    carrier = create_shipping_carrier(Settings(shipping_carrier="free"))  # type: ignore[arg-type]

    assert isinstance(carrier, FreeShipping)
    assert carrier.name == "free"
