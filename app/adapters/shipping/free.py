"""Free insured shipping: the embedded carrier that needs no external service.

Tracking numbers derive from the idempotency key, so a retried create returns the
same number. Tracking is synthetic: each number moves from label_created to
in_transit to delivered as time passes, on a schedule derived from the number.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from app.adapters.disclosure import Processor, ProcessorRole
from app.adapters.shipping.base import (
    Parcel,
    Quote,
    Recipient,
    Shipment,
    ShippingRejected,
    TrackingEvent,
)

SERVICE = "free_insured"
TRACKING_PREFIX = "FCT"
_TRACKING_NUMBER = re.compile(rf"^{TRACKING_PREFIX}\d{{12}}$")


def tracking_number_for(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return f"{TRACKING_PREFIX}{int.from_bytes(digest[:8], 'big') % 10**12:012d}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


DISCLOSURE = Processor(
    key="free",
    name="Facet free shipping",
    role=ProcessorRole.carrier,
    description=(
        "Built into Facet: quotes free insured shipping and makes up tracking numbers. "
        "Facet tells no carrier anything."
    ),
    third_party=False,
    location="Inside Facet",
)


class FreeShipping:
    name = "free"
    disclosure = DISCLOSURE

    def __init__(
        self,
        *,
        in_transit_after: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._in_transit_after = in_transit_after
        self._clock = clock
        # When this process first saw each number. A number created elsewhere (another
        # worker, before a restart) starts its synthetic journey when first tracked.
        self._first_seen: dict[str, datetime] = {}

    def _start(self, tracking_number: str) -> datetime:
        return self._first_seen.setdefault(tracking_number, self._clock())

    def delivery_delay(self, tracking_number: str) -> timedelta:
        """Two to four days, depending on the number's last digit."""
        return timedelta(days=2 + int(tracking_number[-1]) % 3)

    async def quote(self, recipient: Recipient, parcel: Parcel) -> Quote:
        return Quote(service=SERVICE, amount_minor=0, currency=parcel.currency)

    async def create_shipment(
        self, recipient: Recipient, parcel: Parcel, *, reference: str, idempotency_key: str
    ) -> Shipment:
        tracking_number = tracking_number_for(idempotency_key)
        self._start(tracking_number)
        return Shipment(carrier=self.name, service=SERVICE, tracking_number=tracking_number)

    async def track(self, tracking_number: str) -> list[TrackingEvent]:
        if not _TRACKING_NUMBER.fullmatch(tracking_number):
            raise ShippingRejected("not a free-shipping tracking number")
        start = self._start(tracking_number)
        now = self._clock()
        schedule = [
            (start, "label_created", "Shipping label created"),
            (start + self._in_transit_after, "in_transit", "In transit"),
            (start + self.delivery_delay(tracking_number), "delivered", "Delivered"),
        ]
        return [
            TrackingEvent(occurred_at=at, status=status, description=description)
            for at, status, description in schedule
            if at <= now
        ]

    async def close(self) -> None:
        return None
