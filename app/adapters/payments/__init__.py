"""Payment adapters: the port lives in `base`, the implementation is chosen from settings."""

from __future__ import annotations

from pathlib import Path

from app.adapters.payments.authorizenet import AuthorizeNetPaymentProvider
from app.adapters.payments.base import PaymentProvider
from app.adapters.payments.fake import DEV_WEBHOOK_SECRET, FakePaymentProvider
from app.adapters.payments.stripe import StripePaymentProvider
from app.core.settings import PaymentProviderName, Settings


def create_payment_provider(settings: Settings) -> PaymentProvider:
    webhook_secret = settings.stripe_webhook_secret.get_secret_value()
    match settings.payment_provider:
        case PaymentProviderName.fake:
            return FakePaymentProvider(
                webhook_secret=webhook_secret or DEV_WEBHOOK_SECRET,
                ledger=Path(settings.fake_payments_ledger)
                if settings.fake_payments_ledger
                else None,
            )
        case PaymentProviderName.stripe:
            api_key = settings.stripe_api_key.get_secret_value()
            if not api_key or not webhook_secret:
                raise ValueError(
                    "FACET_STRIPE_API_KEY and FACET_STRIPE_WEBHOOK_SECRET are required "
                    "with FACET_PAYMENT_PROVIDER=stripe"
                )
            return StripePaymentProvider(
                api_key=api_key,
                webhook_secret=webhook_secret,
                api_base=settings.stripe_api_base,
                timeout=settings.payment_timeout_seconds,
            )
        case PaymentProviderName.authorizenet:
            credentials = (
                settings.authorizenet_api_login_id.get_secret_value(),
                settings.authorizenet_transaction_key.get_secret_value(),
                settings.authorizenet_signature_key.get_secret_value(),
            )
            if not all(credentials):
                raise ValueError(
                    "FACET_AUTHORIZENET_API_LOGIN_ID, FACET_AUTHORIZENET_TRANSACTION_KEY and "
                    "FACET_AUTHORIZENET_SIGNATURE_KEY are required with "
                    "FACET_PAYMENT_PROVIDER=authorizenet"
                )
            login_id, transaction_key, signature_key = credentials
            return AuthorizeNetPaymentProvider(
                api_login_id=login_id,
                transaction_key=transaction_key,
                signature_key=signature_key,
                api_base=settings.authorizenet_endpoint,
                currency=settings.currency,
                timeout=settings.payment_timeout_seconds,
            )
