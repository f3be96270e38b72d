"""FedEx over its REST API: OAuth client credentials, Rate, Ship and Track.

Only the recipient's `RECIPIENT_FIELDS` and the parcel's weight and declared value
leave the store (P3); a quote needs even less (state, postal code, country).
`DISCLOSURE` lists every field FedEx receives, by its JSON path.
Every httpx failure becomes a port error; no httpx type crosses the port.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from app.adapters.disclosure import (
    CONFIGURATION,
    FIXED,
    Channel,
    DataKind,
    DisclosedField,
    Processor,
    ProcessorRole,
    Wire,
    argument,
    dto_field,
)
from app.adapters.shipping.base import (
    Parcel,
    Quote,
    Recipient,
    Shipment,
    ShippingCarrier,
    ShippingError,
    ShippingRejected,
    ShippingUnavailable,
    TrackingEvent,
)

log = logging.getLogger("facet.shipping.fedex")

OAUTH_PATH = "/oauth/token"
RATE_PATH = "/rate/v1/rates/quotes"
SHIP_PATH = "/ship/v1/shipments"
TRACK_PATH = "/track/v1/trackingnumbers"
REFERENCE_PATH = "/track/v1/referencenumbers"
# FedEx echoes this header as `customerTransactionId`; we send our idempotency key.
TRANSACTION_HEADER = "x-customer-transaction-id"

# FedEx does not deduplicate create-shipment requests: a create whose answer was lost may
# still have bought a label. So every create first looks for a shipment carrying the
# order's reference, and a failed create is retried once, after looking again.
SHIP_ATTEMPTS = 2
# How far back a shipment for the reference is looked for (ship dates are in FedEx's days).
REFERENCE_LOOKBACK = timedelta(days=30)

DEFAULT_SERVICE_TYPE = "PRIORITY_OVERNIGHT"
PICKUP_TYPE = "DROPOFF_AT_FEDEX_LOCATION"

# ISO 4217 minor-unit exponents other than 2.
_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"}
_ZERO_DECIMAL |= {"VND", "VUV", "XAF", "XOF", "XPF"}
_THREE_DECIMAL = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}

# FedEx scan event types; anything else seen after pickup is movement, so in_transit.
EVENT_STATUS = {
    "OC": "label_created",  # shipment information sent to FedEx
    "PU": "picked_up",
    "PX": "picked_up",
    "OD": "out_for_delivery",
    "DL": "delivered",
    "DE": "exception",  # delivery exception
    "SE": "exception",  # shipment exception
    "CD": "exception",  # clearance delay
    "DY": "exception",  # delay
    "DD": "exception",  # delivery delay
    "CA": "exception",  # shipment cancelled
    "RS": "exception",  # returning to shipper
}
DEFAULT_EVENT_STATUS = "in_transit"


def _exponent(currency: str) -> int:
    code = currency.upper()
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    return 2


def to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-_exponent(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(_exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


_SHIPMENT = "requestedShipment"
_RECIPIENT = f"{_SHIPMENT}.recipients[]"  # ship: the label's recipient
_DESTINATION = f"{_SHIPMENT}.recipient.address"  # rate: where a quote is for
_PACKAGE = f"{_SHIPMENT}.requestedPackageLineItems[]"


def _json_paths(*paths: str) -> tuple[Wire, ...]:
    return tuple(Wire(Channel.json, path) for path in paths)


def _recipient_field(name: str, purpose: str, *paths: str) -> DisclosedField:
    return DisclosedField(
        f"recipient {name.replace('_', ' ')}",
        DataKind.personal,
        purpose,
        (dto_field(Recipient, name),),
        _json_paths(*paths),
    )


DISCLOSURE = Processor(
    key="fedex",
    name="FedEx",
    role=ProcessorRole.carrier,
    description=(
        "Quotes, labels and delivers the parcel and reports its tracking. It receives the "
        "recipient's name, address and phone for the label and the parcel's weight and "
        "declared value; never an email address, an account or what the parcel holds."
    ),
    third_party=True,
    at_erasure=(
        "FedEx holds each shipment's recipient name, address and phone. FedEx offers no API"
        " to delete them; they stay under FedEx's own retention rules (ask FedEx under its "
        "privacy policy)."
    ),
    privacy_policy="https://www.fedex.com/en-us/privacy-policy.html",
    location="United States (FedEx Corporation), and the countries the parcel travels through",
    port=ShippingCarrier,
    receives=(
        _recipient_field(
            "full_name", "The name on the shipping label.", f"{_RECIPIENT}.contact.personName"
        ),
        _recipient_field(
            "phone",
            "So the driver can reach the recipient about the delivery (when given).",
            f"{_RECIPIENT}.contact.phoneNumber",
        ),
        _recipient_field(
            "line1", "The street address on the label.", f"{_RECIPIENT}.address.streetLines[]"
        ),
        _recipient_field(
            "line2",
            "The address's second line on the label (when given).",
            f"{_RECIPIENT}.address.streetLines[]",
        ),
        _recipient_field("city", "The city on the label.", f"{_RECIPIENT}.address.city"),
        _recipient_field(
            "region",
            "The state or province, for the label and the quote (when given).",
            f"{_RECIPIENT}.address.stateOrProvinceCode",
            f"{_DESTINATION}.stateOrProvinceCode",
        ),
        _recipient_field(
            "postal_code",
            "The postal code, for the label and the quote.",
            f"{_RECIPIENT}.address.postalCode",
            f"{_DESTINATION}.postalCode",
        ),
        _recipient_field(
            "country",
            "The country, for the label and the quote.",
            f"{_RECIPIENT}.address.countryCode",
            f"{_DESTINATION}.countryCode",
        ),
        DisclosedField(
            "parcel weight",
            DataKind.order,
            "The parcel's weight in kilograms, for the rate and the label.",
            (dto_field(Parcel, "weight_grams"),),
            _json_paths(f"{_PACKAGE}.weight.value", f"{_PACKAGE}.weight.units"),
        ),
        DisclosedField(
            "declared value",
            DataKind.order,
            "The order's total, declared for insurance and customs.",
            (dto_field(Parcel, "declared_value_minor"),),
            _json_paths(f"{_PACKAGE}.declaredValue.amount"),
        ),
        DisclosedField(
            "currency",
            DataKind.order,
            "The currency of the declared value and of the quote.",
            (dto_field(Parcel, "currency"),),
            _json_paths(f"{_PACKAGE}.declaredValue.currency", f"{_SHIPMENT}.preferredCurrency"),
        ),
        DisclosedField(
            "order number",
            DataKind.reference,
            "Printed on the label as the shipper's reference, and used to find a label "
            "already bought for the order so a retry never buys a second one.",
            (argument(ShippingCarrier.create_shipment, "reference"),),
            _json_paths(
                f"{_PACKAGE}.customerReferences[].value",
                f"{_PACKAGE}.customerReferences[].customerReferenceType",
                "referencesInformation.value",
                "referencesInformation.type",
            ),
        ),
        DisclosedField(
            "tracking number",
            DataKind.reference,
            "FedEx's own number for the parcel, to ask where it is.",
            (argument(ShippingCarrier.track, "tracking_number"),),
            _json_paths("trackingInfo[].trackingNumberInfo.trackingNumber"),
        ),
        DisclosedField(
            "idempotency key",
            DataKind.technical,
            "Derived from the order's id; FedEx echoes it back with the label.",
            (argument(ShippingCarrier.create_shipment, "idempotency_key"),),
            (Wire(Channel.header, "x-customer-transaction-id"),),
        ),
        DisclosedField(
            "ship-from address",
            DataKind.store,
            "The postal code and country the store ships from.",
            (CONFIGURATION,),
            _json_paths(
                f"{_SHIPMENT}.shipper.address.postalCode",
                f"{_SHIPMENT}.shipper.address.countryCode",
            ),
        ),
        DisclosedField(
            "account",
            DataKind.store,
            "The store's FedEx account number and API credentials: who pays for the label.",
            (CONFIGURATION,),
            (
                *_json_paths("accountNumber.value", "referencesInformation.accountNumber"),
                Wire(Channel.form, "grant_type"),
                Wire(Channel.form, "client_id"),
                Wire(Channel.form, "client_secret"),
                Wire(Channel.header, "Authorization"),
            ),
        ),
        DisclosedField(
            "service options",
            DataKind.technical,
            "The service, pickup, packaging, label format and rate type, the same for every "
            "parcel, and the date range of a reference search.",
            (FIXED,),
            (
                *_json_paths(
                    f"{_SHIPMENT}.serviceType",
                    f"{_SHIPMENT}.pickupType",
                    f"{_SHIPMENT}.packagingType",
                    f"{_SHIPMENT}.rateRequestType[]",
                    f"{_SHIPMENT}.shippingChargesPayment.paymentType",
                    f"{_SHIPMENT}.labelSpecification.imageType",
                    f"{_SHIPMENT}.labelSpecification.labelStockType",
                    "labelResponseOptions",
                    "includeDetailedScans",
                    "referencesInformation.shipDateBegin",
                    "referencesInformation.shipDateEnd",
                ),
                Wire(Channel.header, "X-locale"),
            ),
        ),
        DisclosedField(
            "client library",
            DataKind.technical,
            "The HTTP library's name and version.",
            (FIXED,),
            (Wire(Channel.header, "User-Agent"),),
        ),
    ),
)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # on the carrier's clock


class FedExCarrier:
    name = "fedex"
    disclosure = DISCLOSURE

    def __init__(
        self,
        *,
        api_base: str,
        client_id: str,
        client_secret: str,
        account_number: str,
        ship_from_postal_code: str,
        ship_from_country: str,
        timeout_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
        service_type: str = DEFAULT_SERVICE_TYPE,
        clock: Callable[[], float] = time.monotonic,
        token_refresh_margin_seconds: float = 60.0,
    ) -> None:
        self._base = api_base.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._account_number = account_number
        self._ship_from = {"postalCode": ship_from_postal_code, "countryCode": ship_from_country}
        self._timeout = httpx.Timeout(timeout_seconds)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=self._timeout)
        self._service_type = service_type
        self._clock = clock
        self._refresh_margin = token_refresh_margin_seconds
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    # -- the port -----------------------------------------------------------------------

    async def quote(self, recipient: Recipient, parcel: Parcel) -> Quote:
        destination = {"postalCode": recipient.postal_code, "countryCode": recipient.country}
        if recipient.region:
            destination["stateOrProvinceCode"] = recipient.region
        payload = {
            "accountNumber": {"value": self._account_number},
            "requestedShipment": {
                "shipper": {"address": self._ship_from},
                "recipient": {"address": destination},
                "pickupType": PICKUP_TYPE,
                "serviceType": self._service_type,
                "rateRequestType": ["ACCOUNT"],
                "preferredCurrency": parcel.currency,
                "requestedPackageLineItems": [_package(parcel)],
            },
        }
        body = await self._post(RATE_PATH, payload)
        try:
            details = body["output"]["rateReplyDetails"]
            detail = next(
                (d for d in details if d.get("serviceType") == self._service_type), details[0]
            )
            rated = detail["ratedShipmentDetails"]
            chosen = next((r for r in rated if r.get("rateType") == "ACCOUNT"), rated[0])
            currency = str(chosen.get("currency") or chosen["shipmentRateDetail"]["currency"])
            amount = Decimal(str(chosen["totalNetCharge"]))
            return Quote(
                service=str(detail["serviceType"]).lower(),
                amount_minor=to_minor(amount, currency),
                currency=currency.upper(),
            )
        except (KeyError, IndexError, TypeError, AttributeError, InvalidOperation) as e:
            raise ShippingUnavailable("FedEx rate reply has an unexpected shape") from e

    async def create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment:
        """One label per reference: look it up, create only when none exists, and after a
        create that failed without a clear refusal (timeout, 5xx), look up again before
        the retry. A failed look-up fails the call rather than risk a second label."""
        attempt = 1
        while True:
            existing = await self._shipment_for_reference(reference)
            if existing is not None:
                return existing
            try:
                return await self._create_shipment(
                    recipient, parcel, reference=reference, idempotency_key=idempotency_key
                )
            except ShippingUnavailable:
                if attempt >= SHIP_ATTEMPTS:
                    raise
                attempt += 1

    async def _shipment_for_reference(self, reference: str) -> Shipment | None:
        today = datetime.now(UTC).date()
        payload = {
            "includeDetailedScans": False,
            "referencesInformation": {
                "type": "CUSTOMER_REFERENCE",
                "value": reference,
                "accountNumber": self._account_number,
                "shipDateBegin": (today - REFERENCE_LOOKBACK).isoformat(),
                "shipDateEnd": (today + timedelta(days=1)).isoformat(),
            },
        }
        body = await self._post(REFERENCE_PATH, payload)
        try:
            for complete in body["output"]["completeTrackResults"]:
                for result in complete.get("trackResults") or []:
                    if result.get("error"):
                        continue  # FedEx answers "not found" as an error entry
                    number = result["trackingNumberInfo"]["trackingNumber"]
                    service = (result.get("serviceDetail") or {}).get("type")
                    return Shipment(
                        carrier=self.name,
                        service=str(service or self._service_type).lower(),
                        tracking_number=str(number),
                    )
        except (KeyError, TypeError, AttributeError) as e:
            raise ShippingUnavailable("FedEx reference reply has an unexpected shape") from e
        return None

    async def _create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment:
        package = _package(parcel)
        package["customerReferences"] = [
            {"customerReferenceType": "CUSTOMER_REFERENCE", "value": reference}
        ]
        payload = {
            "labelResponseOptions": "URL_ONLY",
            "accountNumber": {"value": self._account_number},
            "requestedShipment": {
                "shipper": {"address": self._ship_from},
                "recipients": [_recipient_party(recipient)],
                "pickupType": PICKUP_TYPE,
                "serviceType": self._service_type,
                "packagingType": "YOUR_PACKAGING",
                "shippingChargesPayment": {"paymentType": "SENDER"},
                "labelSpecification": {"imageType": "PDF", "labelStockType": "PAPER_4X6"},
                "requestedPackageLineItems": [package],
            },
        }
        body = await self._post(SHIP_PATH, payload, headers={TRANSACTION_HEADER: idempotency_key})
        try:
            shipment = body["output"]["transactionShipments"][0]
            tracking_number = str(shipment["masterTrackingNumber"])
            service = str(shipment.get("serviceType") or self._service_type).lower()
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            raise ShippingUnavailable("FedEx ship reply has an unexpected shape") from e
        return Shipment(carrier=self.name, service=service, tracking_number=tracking_number)

    async def track(self, tracking_number: str) -> list[TrackingEvent]:
        payload = {
            "includeDetailedScans": True,
            "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": tracking_number}}],
        }
        body = await self._post(TRACK_PATH, payload)
        try:
            results = body["output"]["completeTrackResults"]
            complete = next(
                (r for r in results if r.get("trackingNumber") == tracking_number), results[0]
            )
            result = complete["trackResults"][0]
            error = result.get("error")
            scans = result.get("scanEvents") or []
            if error:
                code = error.get("code") if isinstance(error, dict) else None
                raise ShippingRejected(f"FedEx track refused: {code or 'unknown error'}")
            events = [event for event in map(_tracking_event, scans) if event is not None]
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            raise ShippingUnavailable("FedEx track reply has an unexpected shape") from e
        return sorted(events, key=lambda event: event.occurred_at)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- HTTP and the token -------------------------------------------------------------

    async def _post(
        self, path: str, payload: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> Any:
        token = await self._access_token()
        response = await self._send(path, payload, token, headers)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            # Revoked or expired early: one fresh token, one retry.
            token = await self._access_token(stale=token)
            response = await self._send(path, payload, token, headers)
        try:
            response.raise_for_status()
        except httpx.HTTPStatusError as e:
            raise _status_error(path, response) from e
        return _json(response, path)

    async def _send(
        self, path: str, payload: dict[str, Any], token: str, headers: dict[str, str] | None
    ) -> httpx.Response:
        request_headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-locale": "en_US",
            **(headers or {}),
        }
        try:
            return await self._client.post(
                self._base + path, json=payload, headers=request_headers, timeout=self._timeout
            )
        except httpx.TimeoutException as e:
            raise ShippingUnavailable(f"FedEx {path} timed out") from e
        except httpx.HTTPError as e:
            raise ShippingUnavailable(f"FedEx {path} unreachable ({type(e).__name__})") from e

    async def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, fetched once for concurrent callers; `stale` forces a new
        one unless another caller already replaced it."""
        async with self._token_lock:
            token = self._token
            if token is not None and token.value != stale and self._clock() < token.expires_at:
                return token.value
            self._token = await self._fetch_token()
            return self._token.value

    async def _fetch_token(self) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        started = self._clock()
        try:
            response = await self._client.post(
                self._base + OAUTH_PATH,
                data=form,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
            )
            response.raise_for_status()
        except httpx.TimeoutException as e:
            raise ShippingUnavailable("FedEx OAuth timed out") from e
        except httpx.HTTPStatusError as e:
            # Refused credentials are our configuration, not the shipment: retry later.
            raise ShippingUnavailable(_status_detail(OAUTH_PATH, e.response)) from e
        except httpx.HTTPError as e:
            raise ShippingUnavailable(f"FedEx OAuth unreachable ({type(e).__name__})") from e
        body = _json(response, OAUTH_PATH)
        try:
            value = body["access_token"]
            lifetime = float(body["expires_in"])
            if not isinstance(value, str) or not value:
                raise TypeError("access_token is not a string")
        except (KeyError, TypeError, ValueError) as e:
            raise ShippingUnavailable("FedEx OAuth reply has an unexpected shape") from e
        log.info("fedex token fetched", extra={"expires_in": lifetime})
        margin = min(self._refresh_margin, lifetime / 2)
        return _Token(value=value, expires_at=started + lifetime - margin)


def _package(parcel: Parcel) -> dict[str, Any]:
    return {
        "weight": {"units": "KG", "value": float(Decimal(parcel.weight_grams).scaleb(-3))},
        "declaredValue": {
            "amount": float(to_major(parcel.declared_value_minor, parcel.currency)),
            "currency": parcel.currency,
        },
    }


def _recipient_party(recipient: Recipient) -> dict[str, Any]:
    """Exactly the port's RECIPIENT_FIELDS, in FedEx's shape."""
    contact = {"personName": recipient.full_name}
    if recipient.phone:
        contact["phoneNumber"] = recipient.phone
    address: dict[str, Any] = {
        "streetLines": [line for line in (recipient.line1, recipient.line2) if line],
        "city": recipient.city,
        "postalCode": recipient.postal_code,
        "countryCode": recipient.country,
    }
    if recipient.region:
        address["stateOrProvinceCode"] = recipient.region
    return {"contact": contact, "address": address}


def _tracking_event(scan: dict[str, Any]) -> TrackingEvent | None:
    try:
        occurred_at = datetime.fromisoformat(str(scan["date"]))
    except (KeyError, ValueError):
        extra = {"event_type": scan.get("eventType")}
        log.warning("fedex scan event without a usable date", extra=extra)
        return None
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    event_type = str(scan.get("eventType") or "")
    place = scan.get("scanLocation") or {}
    parts = [place.get(key) for key in ("city", "stateOrProvinceCode", "countryCode")]
    location = ", ".join(str(part) for part in parts if part) or None
    description = scan.get("exceptionDescription") or scan.get("eventDescription") or event_type
    return TrackingEvent(
        occurred_at=occurred_at.astimezone(UTC),
        status=EVENT_STATUS.get(event_type, DEFAULT_EVENT_STATUS),
        description=str(description),
        location=location,
    )


def _json(response: httpx.Response, path: str) -> Any:
    try:
        return response.json(parse_float=Decimal)
    except ValueError as e:
        raise ShippingUnavailable(f"FedEx {path} replied with something other than JSON") from e


def _error_codes(response: httpx.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [str(error["code"]) for error in errors if isinstance(error, dict) and error.get("code")]


def _status_detail(path: str, response: httpx.Response) -> str:
    # Codes only: FedEx's messages may echo the address we sent.
    codes = ", ".join(_error_codes(response)) or "no error code"
    return f"FedEx {path} answered HTTP {response.status_code}: {codes}"


def _status_error(path: str, response: httpx.Response) -> ShippingError:
    status = response.status_code
    detail = _status_detail(path, response)
    # A second 401, 403 and throttling are about our account, not this shipment.
    if 400 <= status < 500 and status not in (401, 403, 408, 429):
        return ShippingRejected(detail)
    return ShippingUnavailable(detail)
