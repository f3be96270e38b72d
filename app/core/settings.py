"""Service settings, read from `FACET_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105
DEFAULT_PRIVACY_HASH_SECRET = "dev-only-insecure-privacy-hash-secret-change-me"  # noqa: S105


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


AUTHORIZENET_SANDBOX_API = "https://apitest.authorize.net/xml/v1/request.api"
AUTHORIZENET_LIVE_API = "https://api.authorize.net/xml/v1/request.api"


class PaymentProviderName(StrEnum):
    """The payment processor that handles an order's payment.

    - `stripe`: Stripe (cards, 3-D Secure).
    - `authorizenet`: Authorize.Net.
    - `fake`: a built-in stand-in that moves no money, for local runs and tests.
    """

    fake = "fake"
    stripe = "stripe"
    authorizenet = "authorizenet"


class CaptureSetting(StrEnum):
    """When the card is charged.

    - `automatic`: charged when the buyer pays.
    - `manual`: authorised (held on the card) when the buyer pays, charged when staff ship.
    """

    automatic = "automatic"
    manual = "manual"


class ShippingCarrierName(StrEnum):
    free = "free"
    fedex = "fedex"


class MailBackendName(StrEnum):
    sink = "sink"
    smtp = "smtp"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FACET_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    database_url: str = "sqlite+aiosqlite:///./facet.db"
    database_echo: bool = False

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    jwt_audience: str = "facet-api"
    jwt_issuer: str = "facet"
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)

    cors_origins: list[str] = ["http://localhost:3000", "http://127.0.0.1:3000"]
    max_body_bytes: int = 1_000_000

    # Shared throttle counters; when unset they live in the database (see core/ratelimit.py).
    redis_url: str | None = None

    # Public catalog answers cached per process, keyed by the catalog version every staff
    # write and availability change advances (so a change shows on the next read anywhere).
    catalog_cache: bool = True
    catalog_cache_entries: int = Field(default=1000, ge=1, le=1_000_000)
    # Also how long a top-seller ranking may lag the sales behind it.
    catalog_cache_seconds: float = Field(default=60.0, gt=0, le=3600)

    # --- Accounts: password throttling, registration and login sessions ---
    # Failed password checks per (account, client address) in a window before 429.
    login_max_failures_per_account_ip: int = Field(default=5, ge=1)
    # Per account from every address: higher, so strangers cannot lock the owner out.
    login_max_failures_per_account: int = Field(default=30, ge=1)
    # Per client address over every account: high, so one office NAT is not locked out.
    login_max_failures_per_ip: int = Field(default=100, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    # Accounts created per client address per hour.
    registrations_per_ip_per_hour: int = Field(default=10, ge=1)
    # A login session ends this long after login, however often it is refreshed.
    session_max_days: int = Field(default=30, ge=1, le=365)
    # How long a process trusts a session it found live; a revocation made by another
    # process takes effect within this many seconds.
    session_check_cache_seconds: int = Field(default=10, ge=0, le=300)

    # Tax as basis points of the subtotal (825 = 8.25 %); shipping is always free.
    tax_rate_bps: int = Field(default=0, ge=0, le=5000)
    cart_abandoned_days: int = Field(default=30, ge=1)
    order_reservation_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    outbox_in_process: bool = Field(
        default=True, description="Deliver the outbox inside the API process too."
    )

    payment_provider: PaymentProviderName = PaymentProviderName.fake
    # "manual" authorizes at checkout and captures when staff ship (high-value jewelry).
    payment_capture: CaptureSetting = CaptureSetting.automatic
    stripe_api_key: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = "https://api.stripe.com"
    payment_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # The fake processor keeps its payments in memory; with a file here it also appends
    # every charge as a JSON line, so a run across several processes can be audited.
    fake_payments_ledger: str = ""

    # -- Authorize.Net (issue 13) --
    # The API login id and transaction key of the store's gateway account.
    authorizenet_api_login_id: SecretStr = SecretStr("")
    authorizenet_transaction_key: SecretStr = SecretStr("")
    # The webhook signature key (hex), from the merchant interface's API credentials page.
    authorizenet_signature_key: SecretStr = SecretStr("")
    # The JSON API endpoint; empty picks the sandbox outside production, the live one in it.
    authorizenet_api_base: str = ""

    # -- Payment hardening: card testing (issue 7) --
    # Payment attempts counted per order and per client address over this window.
    payment_attempt_window_seconds: int = Field(default=3600, ge=60)
    # Attempts on one order beyond this answer 429 until the window ends.
    payment_attempts_per_order: int = Field(default=5, ge=1)
    # Attempts from one client address (over all orders) beyond this answer 429.
    payment_attempts_per_address: int = Field(default=20, ge=1)
    # At this many attempts on one order in the window (or declines in all) the order is
    # cancelled and its stock released: a card tester cannot hold stock by retrying.
    payment_attempts_cancel_order_at: int = Field(default=10, ge=2)

    shipping_carrier: ShippingCarrierName = ShippingCarrierName.free
    fedex_api_base: str = "https://apis.fedex.com"
    fedex_client_id: SecretStr = SecretStr("")
    fedex_client_secret: SecretStr = SecretStr("")
    fedex_account_number: str = ""
    shipping_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    ship_from_postal_code: str = "10036"
    ship_from_country: str = "US"

    mail_backend: MailBackendName = MailBackendName.sink
    mail_dir: Path = Path("./var/mail")
    mail_from: str = "Facet Fine Jewelry <orders@facet.example>"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    # Processors register (P3): who the SMTP relay is, for GET /v1/privacy/processors.
    # The relay's operator, e.g. "Postmark (ActiveCampaign LLC)".
    smtp_provider_name: str | None = None
    # Its privacy policy's URL.
    smtp_provider_privacy_url: str | None = None
    # Where it processes the mail, e.g. "United States".
    smtp_provider_location: str | None = None

    log_level: str = "INFO"

    # ---- checkout and carts ----
    # The store's one currency (ISO 4217): every price, cart and order is in it.
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Distinct items a cart may hold, and units one order may take: a fine-jewelry
    # order is a few pieces, so these stop one cart from reserving a shelf.
    cart_max_lines: int = Field(default=20, ge=1, le=500)
    order_max_units: int = Field(default=20, ge=1, le=5000)
    # Checkouts (not replays) one client address may start per window.
    checkout_max_per_ip: int = Field(default=10, ge=1)
    checkout_window_seconds: int = Field(default=3600, ge=1)

    # Privacy: coarse technical data about requests (P4).
    # Daily technical-data rows older than this are deleted by `facet purge`.
    technical_data_retention_days: int = Field(default=90, ge=1, le=3650)
    # How often each process writes its in-memory request counts; 0 writes only at shutdown.
    technical_data_flush_seconds: float = Field(default=30.0, ge=0, le=3600)

    # ---- Privacy: consent ledger, opt-out links, newsletter, email verification ----
    # Keys the email hashes of the consent ledger and signs opt-out tokens. Its own key, so
    # rotating the JWT secret does not orphan the ledger (rotating this one does).
    privacy_hash_secret: SecretStr = SecretStr(DEFAULT_PRIVACY_HASH_SECRET)
    # The API's public origin: one-click opt-out links in marketing mail point here.
    public_api_url: str = "http://localhost:8000"
    # The storefront page that takes a token from an email link (verification, newsletter).
    storefront_url: str = "http://localhost:3000"
    # An email verification or newsletter confirmation link works this long.
    email_token_hours: int = Field(default=48, ge=1, le=24 * 14)
    # Verification emails one account may ask for per hour.
    email_verification_resends_per_hour: int = Field(default=3, ge=1)
    # Newsletter requests (subscribe, unsubscribe-by-email) per client address per hour.
    newsletter_requests_per_ip_per_hour: int = Field(default=10, ge=1)
    # Campaign messages queued per database round trip.
    campaign_batch_size: int = Field(default=500, ge=1, le=10_000)

    # Privacy: requests from people without an account, inquiries, retention (issue 9).
    # Hours a request's verification link stays valid; unverified requests are then purged.
    privacy_request_verify_hours: int = Field(default=48, ge=1, le=24 * 30)
    # Privacy requests and inquiries one client address may send per hour.
    privacy_requests_per_ip_per_hour: int = Field(default=10, ge=1)
    # Days within which an inquiry is answered (its due date, stated in the acknowledgement).
    privacy_inquiry_due_days: int = Field(default=30, ge=1, le=90)
    # Where someone may escalate an inquiry not resolved by its due date (P13).
    privacy_escalation_body: str = (
        "the data-protection authority of the country where you live or work (in the EU/EEA "
        "your national supervisory authority, listed at edpb.europa.eu; in the UK the "
        "Information Commissioner's Office, ico.org.uk; in California the California "
        "Privacy Protection Agency, cppa.ca.gov)"
    )
    # Answered or closed inquiries are deleted this many days after they were closed.
    privacy_inquiry_retention_days: int = Field(default=365, ge=1, le=3650)
    # Sent outbox messages (their copies of names and addresses) are deleted after this.
    outbox_sent_retention_days: int = Field(default=90, ge=1, le=3650)
    # Login sessions and refresh tokens are deleted this many days after they expire.
    ended_session_retention_days: int = Field(default=30, ge=0, le=3650)

    # ---- Referrals, testimonials and contact requests ----
    # Referrals one customer may send per day (accepted or not, each counts).
    referrals_per_account_per_day: int = Field(default=10, ge=1)
    # Days a referral stays open for conversion; then the friend's name and email are purged.
    referral_window_days: int = Field(default=30, ge=1, le=365)
    # Contact-form messages per client address per hour.
    contact_requests_per_ip_per_hour: int = Field(default=5, ge=1)
    # Answered contact requests are deleted this many days after the answer (see README).
    support_request_retention_days: int = Field(default=365, ge=1, le=3650)

    @property
    def is_production(self) -> bool:
        return self.env == Environment.production

    @property
    def authorizenet_endpoint(self) -> str:
        if self.authorizenet_api_base:
            return self.authorizenet_api_base
        return AUTHORIZENET_LIVE_API if self.is_production else AUTHORIZENET_SANDBOX_API

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe to run in production (empty when safe)."""
        if not self.is_production:
            return []
        problems = []
        if self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET:
            problems.append("FACET_JWT_SECRET is the development default")
        elif len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("FACET_JWT_SECRET must be at least 32 characters")
        if self.privacy_hash_secret.get_secret_value() == DEFAULT_PRIVACY_HASH_SECRET:
            problems.append("FACET_PRIVACY_HASH_SECRET is the development default")
        elif len(self.privacy_hash_secret.get_secret_value()) < 32:
            problems.append("FACET_PRIVACY_HASH_SECRET must be at least 32 characters")
        if self.payment_provider == PaymentProviderName.fake:
            problems.append("FACET_PAYMENT_PROVIDER is the fake provider")
        elif self.payment_provider == PaymentProviderName.authorizenet:
            if not all(
                key.get_secret_value()
                for key in (
                    self.authorizenet_api_login_id,
                    self.authorizenet_transaction_key,
                    self.authorizenet_signature_key,
                )
            ):
                problems.append(
                    "FACET_AUTHORIZENET_API_LOGIN_ID, FACET_AUTHORIZENET_TRANSACTION_KEY and "
                    "FACET_AUTHORIZENET_SIGNATURE_KEY must be set"
                )
        elif not (
            self.stripe_api_key.get_secret_value() and self.stripe_webhook_secret.get_secret_value()
        ):
            problems.append("FACET_STRIPE_API_KEY and FACET_STRIPE_WEBHOOK_SECRET must be set")
        if "*" in self.cors_origins:
            problems.append("FACET_CORS_ORIGINS allows '*'")
        return problems


class UnsafeSettingsError(RuntimeError):
    """Raised at start-up when production settings are unsafe."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
