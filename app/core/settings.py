"""Service settings, read from `FACET_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"  # noqa: S105


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class PaymentProviderName(StrEnum):
    fake = "fake"
    stripe = "stripe"


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

    redis_url: str | None = None
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: int = 15 * 60

    payment_provider: PaymentProviderName = PaymentProviderName.fake
    shipping_carrier: ShippingCarrierName = ShippingCarrierName.free
    mail_backend: MailBackendName = MailBackendName.sink
    mail_dir: Path = Path("./var/mail")

    log_level: str = "INFO"

    @property
    def is_production(self) -> bool:
        return self.env == Environment.production

    def production_problems(self) -> list[str]:
        """What makes these settings unsafe to run in production (empty when safe)."""
        if not self.is_production:
            return []
        problems = []
        if self.jwt_secret.get_secret_value() == DEFAULT_JWT_SECRET:
            problems.append("FACET_JWT_SECRET is the development default")
        elif len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("FACET_JWT_SECRET must be at least 32 characters")
        if self.payment_provider == PaymentProviderName.fake:
            problems.append("FACET_PAYMENT_PROVIDER is the fake provider")
        if "*" in self.cors_origins:
            problems.append("FACET_CORS_ORIGINS allows '*'")
        return problems


class UnsafeSettingsError(RuntimeError):
    """Raised at start-up when production settings are unsafe."""


@lru_cache
def get_settings() -> Settings:
    return Settings()
