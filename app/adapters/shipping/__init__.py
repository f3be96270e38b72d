"""The shipping carrier chosen by settings."""

from __future__ import annotations

from app.adapters.shipping.base import ShippingCarrier
from app.adapters.shipping.fedex import FedExCarrier
from app.adapters.shipping.free import FreeShipping
from app.core.settings import Settings, ShippingCarrierName


def create_shipping_carrier(settings: Settings) -> ShippingCarrier:
    match settings.shipping_carrier:
        case ShippingCarrierName.free:
            return FreeShipping()
        case ShippingCarrierName.fedex:
            missing = [
                name
                for name, value in (
                    ("FACET_FEDEX_CLIENT_ID", settings.fedex_client_id.get_secret_value()),
                    ("FACET_FEDEX_CLIENT_SECRET", settings.fedex_client_secret.get_secret_value()),
                    ("FACET_FEDEX_ACCOUNT_NUMBER", settings.fedex_account_number),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"FedEx shipping needs {', '.join(missing)}")
            return FedExCarrier(
                api_base=settings.fedex_api_base,
                client_id=settings.fedex_client_id.get_secret_value(),
                client_secret=settings.fedex_client_secret.get_secret_value(),
                account_number=settings.fedex_account_number,
                ship_from_postal_code=settings.ship_from_postal_code,
                ship_from_country=settings.ship_from_country,
                timeout_seconds=settings.shipping_timeout_seconds,
            )


__all__ = ["create_shipping_carrier"]
