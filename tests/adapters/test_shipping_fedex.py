"""FedExCarrier against a loopback fake of FedEx's REST API."""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.adapters.shipping import create_shipping_carrier
from app.adapters.shipping.base import (
    Recipient,
    ShippingRejected,
    ShippingUnavailable,
)
from app.adapters.shipping.fedex import FedExCarrier
from app.core.settings import Settings
from tests.adapters.fake_fedex import (
    PARCEL,
    RATE_PATH,
    RECIPIENT,
    REFERENCE_PATH,
    SHIP_PATH,
    TRACK_PATH,
    FakeFedEx,
    fedex_error,
    make_carrier,
    serve,
)
from tests.processes import free_port

# Where each RECIPIENT_FIELDS value lands in a FedEx ship request, and nothing else.
RECIPIENT_PATHS = {
    "contact.personName",
    "contact.phoneNumber",
    "address.streetLines",
    "address.city",
    "address.stateOrProvinceCode",
    "address.postalCode",
    "address.countryCode",
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of the leaves of a JSON object (lists count as leaves)."""
    if not isinstance(value, dict):
        return {prefix}
    found: set[str] = set()
    for key, item in value.items():
        found |= paths(item, f"{prefix}.{key}" if prefix else key)
    return found


@pytest.fixture(scope="module")
def fedex_server() -> Iterator[tuple[FakeFedEx, str]]:
    fake = FakeFedEx()
    with serve(fake.app) as base_url:
        yield fake, base_url


@pytest.fixture
def fake(fedex_server: tuple[FakeFedEx, str]) -> FakeFedEx:
    fedex_server[0].reset()
    return fedex_server[0]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def carrier(
    fedex_server: tuple[FakeFedEx, str], fake: FakeFedEx, clock: Clock
) -> AsyncIterator[FedExCarrier]:
    carrier = make_carrier(fedex_server[1], clock=clock)
    yield carrier
    await carrier.close()


def scan(event_type: str, date: str, description: str, city: str = "MEMPHIS") -> dict[str, Any]:
    return {
        "date": date,
        "eventType": event_type,
        "eventDescription": description,
        "scanLocation": {"city": city, "stateOrProvinceCode": "TN", "countryCode": "US"},
    }


async def test_quote_returns_the_account_rate_in_minor_units(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    quote = await carrier.quote(RECIPIENT, PARCEL)

    assert quote.service == "priority_overnight"
    assert quote.amount_minor == 2680  # 25.00 + 0.4 kg x 4.50, not the list rate
    assert quote.currency == "USD"
    package = fake.calls(RATE_PATH)[0].body["requestedShipment"]["requestedPackageLineItems"][0]
    assert package["weight"] == {"units": "KG", "value": 0.4}
    assert package["declaredValue"] == {"amount": 1250.0, "currency": "USD"}


async def test_quote_sends_only_the_destination_area(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    await carrier.quote(RECIPIENT, PARCEL)

    body = fake.calls(RATE_PATH)[0].body
    assert body["requestedShipment"]["recipient"] == {
        "address": {"postalCode": "62701", "countryCode": "US", "stateOrProvinceCode": "IL"}
    }
    sent = json.dumps(body)
    for personal in ("Ada Lovelace", "St James", "Flat 3", "Springfield", "555 0100"):
        assert personal not in sent


async def test_token_is_fetched_once_and_reused_for_rate_ship_and_track(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    await carrier.quote(RECIPIENT, PARCEL)
    shipment = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    fake.scans[shipment.tracking_number] = [scan("OC", "2025-01-06T09:00:00-05:00", "Created")]
    await carrier.track(shipment.tracking_number)

    assert fake.token_requests == 1
    assert {r.headers["authorization"] for r in fake.requests} == {"Bearer token-1"}
    assert [r.path for r in fake.requests] == [RATE_PATH, REFERENCE_PATH, SHIP_PATH, TRACK_PATH]


async def test_token_is_refreshed_after_it_expires(
    carrier: FedExCarrier, fake: FakeFedEx, clock: Clock
) -> None:
    await carrier.quote(RECIPIENT, PARCEL)
    clock.now += fake.expires_in - 120  # still inside the lifetime minus the margin
    await carrier.quote(RECIPIENT, PARCEL)
    assert fake.token_requests == 1

    clock.now += 90  # within the refresh margin of the expiry
    await carrier.quote(RECIPIENT, PARCEL)

    assert fake.token_requests == 2
    assert [r.headers["authorization"] for r in fake.calls(RATE_PATH)] == [
        "Bearer token-1",
        "Bearer token-1",
        "Bearer token-2",
    ]


async def test_concurrent_first_calls_fetch_one_token(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    fake.delays["/oauth/token"] = 0.05

    quotes = await asyncio.gather(*(carrier.quote(RECIPIENT, PARCEL) for _ in range(5)))

    assert len(quotes) == 5
    assert fake.token_requests == 1


async def test_a_401_refreshes_the_token_and_retries_once(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    await carrier.quote(RECIPIENT, PARCEL)
    fake.valid_tokens.clear()  # FedEx revoked the token before its expiry

    quote = await carrier.quote(RECIPIENT, PARCEL)

    assert quote.amount_minor == 2680
    assert fake.token_requests == 2
    assert [(r.headers["authorization"], r.status) for r in fake.calls(RATE_PATH)] == [
        ("Bearer token-1", 200),
        ("Bearer token-1", 401),
        ("Bearer token-2", 200),
    ]


async def test_a_second_401_is_unavailable_without_looping(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    fake.reject_all_tokens = True

    with pytest.raises(ShippingUnavailable, match=re.escape("NOT.AUTHORIZED.ERROR")):
        await carrier.quote(RECIPIENT, PARCEL)

    assert fake.token_requests == 2
    assert len(fake.calls(RATE_PATH)) == 2


async def test_refused_client_credentials_are_unavailable(
    fedex_server: tuple[FakeFedEx, str], fake: FakeFedEx
) -> None:
    carrier = make_carrier(fedex_server[1], client_secret="wrong")
    try:
        with pytest.raises(ShippingUnavailable, match=re.escape("NOT.AUTHORIZED.ERROR")) as caught:
            await carrier.quote(RECIPIENT, PARCEL)
    finally:
        await carrier.close()

    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert fake.calls(RATE_PATH) == []


async def test_ship_sends_only_the_recipient_fields_and_our_reference(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    shipment = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )

    assert shipment.carrier == "fedex"
    assert shipment.service == "priority_overnight"
    assert shipment.tracking_number == "794900000001"
    call = fake.calls(SHIP_PATH)[0]
    requested = call.body["requestedShipment"]
    [recipient] = requested["recipients"]
    assert paths(recipient) == RECIPIENT_PATHS
    assert recipient == {
        "contact": {"personName": "Ada Lovelace", "phoneNumber": "+1 217 555 0100"},
        "address": {
            "streetLines": ["12 St James's Square", "Flat 3"],
            "city": "Springfield",
            "stateOrProvinceCode": "IL",
            "postalCode": "62701",
            "countryCode": "US",
        },
    }
    # Nothing personal anywhere else in the request.
    rest = json.dumps({**call.body, "requestedShipment": {**requested, "recipients": []}})
    for personal in ("Ada Lovelace", "St James", "Flat 3", "Springfield", "62701", "555 0100"):
        assert personal not in rest
    assert requested["shipper"] == {"address": {"postalCode": "10036", "countryCode": "US"}}
    [package] = requested["requestedPackageLineItems"]
    assert set(package) == {"weight", "declaredValue", "customerReferences"}
    assert package["customerReferences"] == [
        {"customerReferenceType": "CUSTOMER_REFERENCE", "value": "FCT-1001"}
    ]
    assert call.headers["x-customer-transaction-id"] == "ship-order-1"


async def test_ship_without_optional_fields_leaves_them_out(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    bare = Recipient("Ada Lovelace", "1 Main St", None, "Paris", None, "75001", "FR", None)

    await carrier.create_shipment(bare, PARCEL, reference="FCT-1002", idempotency_key="k-2")

    [recipient] = fake.calls(SHIP_PATH)[0].body["requestedShipment"]["recipients"]
    assert paths(recipient) == RECIPIENT_PATHS - {
        "contact.phoneNumber",
        "address.stateOrProvinceCode",
    }
    assert recipient["address"]["streetLines"] == ["1 Main St"]


async def test_retried_create_with_the_same_key_makes_one_shipment(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    first = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    retry = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
    )
    other = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-1002", idempotency_key="ship-order-2"
    )

    assert retry == first
    assert other.tracking_number != first.tracking_number
    assert len(fake.calls(SHIP_PATH)) == 2  # the retry found the first by its reference
    assert len(fake.created) == 2


async def test_a_create_retried_after_a_timeout_finds_the_label_by_reference(
    fedex_server: tuple[FakeFedEx, str], fake: FakeFedEx
) -> None:
    fake.dedupe_by_transaction_id = False  # the real FedEx would create a second label
    fake.late_replies[SHIP_PATH] = deque([0.8])  # created, but answered after the timeout
    carrier = make_carrier(fedex_server[1], timeout_seconds=0.3)
    try:
        shipment = await carrier.create_shipment(
            RECIPIENT, PARCEL, reference="FCT-2001", idempotency_key="ship-order-1"
        )
    finally:
        await carrier.close()

    assert len(fake.created) == 1
    assert shipment.tracking_number == fake.by_reference["FCT-2001"][0]
    assert [r.path for r in fake.requests] == [REFERENCE_PATH, SHIP_PATH, REFERENCE_PATH]


async def test_a_create_for_a_reference_already_shipped_buys_no_second_label(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    fake.dedupe_by_transaction_id = False
    first = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-2002", idempotency_key="ship-order-1"
    )
    # A later request (another worker, after a 503) uses a new key: the reference decides.
    again = await carrier.create_shipment(
        RECIPIENT, PARCEL, reference="FCT-2002", idempotency_key="ship-order-1-again"
    )

    assert again.tracking_number == first.tracking_number
    assert len(fake.created) == 1


async def test_a_failed_reference_lookup_creates_nothing(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    fake.fail(REFERENCE_PATH, 503, fedex_error("SERVICE.UNAVAILABLE.ERROR", "Try again later"))

    with pytest.raises(ShippingUnavailable):
        await carrier.create_shipment(
            RECIPIENT, PARCEL, reference="FCT-2003", idempotency_key="ship-order-1"
        )

    assert fake.created == []


async def test_track_maps_scan_events_oldest_first(carrier: FedExCarrier, fake: FakeFedEx) -> None:
    fake.scans["794900000001"] = [  # FedEx lists the newest first
        scan("DL", "2025-01-08T10:15:00-05:00", "Delivered", city="SPRINGFIELD"),
        scan("OD", "2025-01-08T07:40:00-05:00", "On FedEx vehicle for delivery"),
        scan("AR", "2025-01-07T22:05:00-05:00", "Arrived at FedEx location"),
        scan("DP", "2025-01-06T21:30:00-05:00", "Departed FedEx location"),
        scan("PU", "2025-01-06T17:00:00-05:00", "Picked up"),
        scan("OC", "2025-01-06T09:00:00-05:00", "Shipment information sent to FedEx"),
    ]

    events = await carrier.track("794900000001")

    assert [e.status for e in events] == [
        "label_created",
        "picked_up",
        "in_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert events[0].occurred_at == datetime(2025, 1, 6, 14, 0, tzinfo=UTC)
    assert events[0].description == "Shipment information sent to FedEx"
    assert events[-1].location == "SPRINGFIELD, TN, US"
    assert fake.calls(TRACK_PATH)[0].body["trackingInfo"] == [
        {"trackingNumberInfo": {"trackingNumber": "794900000001"}}
    ]


async def test_track_maps_exceptions(carrier: FedExCarrier, fake: FakeFedEx) -> None:
    event = scan("DE", "2025-01-08T10:15:00Z", "Delivery exception")
    event["exceptionDescription"] = "Customer not available or business closed"
    fake.scans["794900000002"] = [event]

    [event] = await carrier.track("794900000002")

    assert event.status == "exception"
    assert event.description == "Customer not available or business closed"


async def test_track_unknown_number_is_rejected(carrier: FedExCarrier, fake: FakeFedEx) -> None:
    with pytest.raises(ShippingRejected, match=re.escape("TRACKING.TRACKINGNUMBER.NOTFOUND")):
        await carrier.track("000000000000")


async def test_timeout_is_unavailable(fedex_server: tuple[FakeFedEx, str], fake: FakeFedEx) -> None:
    fake.delays[RATE_PATH] = 0.8
    carrier = make_carrier(fedex_server[1], timeout_seconds=0.3)
    try:
        with pytest.raises(ShippingUnavailable, match="timed out") as caught:
            await carrier.quote(RECIPIENT, PARCEL)
    finally:
        await carrier.close()

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


async def test_503_is_unavailable(carrier: FedExCarrier, fake: FakeFedEx) -> None:
    fake.fail(RATE_PATH, 503, fedex_error("SERVICE.UNAVAILABLE.ERROR", "Try again later"))

    with pytest.raises(ShippingUnavailable, match="503") as caught:
        await carrier.quote(RECIPIENT, PARCEL)

    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)


async def test_400_with_fedex_error_is_rejected_with_its_code(
    carrier: FedExCarrier, fake: FakeFedEx
) -> None:
    fake.fail(
        SHIP_PATH,
        400,
        fedex_error("RECIPIENT.POSTALCODE.INVALID", "Postal code 62701 is not valid for IL"),
    )

    with pytest.raises(ShippingRejected, match=re.escape("RECIPIENT.POSTALCODE.INVALID")) as caught:
        await carrier.create_shipment(
            RECIPIENT, PARCEL, reference="FCT-1001", idempotency_key="ship-order-1"
        )

    assert "62701" not in str(caught.value)  # codes only: FedEx's text may echo the address
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert fake.created == []


async def test_connection_refused_is_unavailable() -> None:
    carrier = make_carrier(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ShippingUnavailable, match="unreachable") as caught:
            await carrier.quote(RECIPIENT, PARCEL)
    finally:
        await carrier.close()

    assert isinstance(caught.value.__cause__, httpx.TransportError)


async def test_an_injected_client_is_used_and_left_open(
    fedex_server: tuple[FakeFedEx, str], fake: FakeFedEx
) -> None:
    async with httpx.AsyncClient() as client:
        carrier = make_carrier(fedex_server[1], client=client)
        await carrier.quote(RECIPIENT, PARCEL)
        await carrier.close()

        assert not client.is_closed
    assert fake.token_requests == 1


async def test_factory_builds_fedex_from_settings() -> None:
    settings = Settings(
        shipping_carrier="fedex",
        fedex_client_id="id",
        fedex_client_secret="secret",
        fedex_account_number="740561073",
    )  # type: ignore[arg-type]

    carrier = create_shipping_carrier(settings)
    try:
        assert isinstance(carrier, FedExCarrier)
        assert carrier.name == "fedex"
    finally:
        await carrier.close()


def test_factory_refuses_fedex_without_credentials() -> None:
    with pytest.raises(ValueError, match="FACET_FEDEX_CLIENT_SECRET"):
        create_shipping_carrier(
            Settings(shipping_carrier="fedex", fedex_client_id="id")  # type: ignore[arg-type]
        )
