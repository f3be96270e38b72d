"""Unsafe production settings are refused before the service starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import PROJECT_ROOT
from app.core.settings import (
    AUTHORIZENET_LIVE_API,
    AUTHORIZENET_SANDBOX_API,
    DEFAULT_JWT_SECRET,
    DEFAULT_PRIVACY_HASH_SECRET,
    Settings,
    UnsafeSettingsError,
)
from app.main import create_app
from tests.conftest import make_settings

SAFE_SECRET = "production-secret-that-is-long-enough-0123456789"
SAFE_PRIVACY_SECRET = "production-privacy-hash-key-long-enough-9876543210"
UNUSED_DATABASE = "sqlite+aiosqlite:////nonexistent-dir/never-opened.db"


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "jwt_secret": SAFE_SECRET,
        "privacy_hash_secret": SAFE_PRIVACY_SECRET,
        "payment_provider": "stripe",
        "stripe_api_key": "sk_live_example",
        "stripe_webhook_secret": "whsec_example",
        "cors_origins": ["https://shop.example"],
    }
    values.update(overrides)
    return make_settings(UNUSED_DATABASE, **values)


def names(problems: list[str]) -> set[str]:
    """The environment variables the problems tell the operator to fix."""
    variables = (
        "FACET_JWT_SECRET",
        "FACET_PRIVACY_HASH_SECRET",
        "FACET_PAYMENT_PROVIDER",
        "FACET_CORS_ORIGINS",
    )
    return {v for v in variables for p in problems if v in p}


def test_safe_production_settings_have_no_problems() -> None:
    assert production().production_problems() == []


def test_production_with_stripe_needs_its_keys() -> None:
    problems = production(stripe_api_key="", stripe_webhook_secret="").production_problems()
    assert len(problems) == 1
    assert "FACET_STRIPE_API_KEY" in problems[0]


def test_production_with_authorizenet_needs_its_keys() -> None:
    keys = {
        "authorizenet_api_login_id": "login",
        "authorizenet_transaction_key": "key",
        "authorizenet_signature_key": "ABCDEF",
    }
    assert production(payment_provider="authorizenet", **keys).production_problems() == []
    for missing in keys:
        problems = production(
            payment_provider="authorizenet", **{**keys, missing: ""}
        ).production_problems()
        assert len(problems) == 1
        assert "FACET_AUTHORIZENET_SIGNATURE_KEY" in problems[0]


def test_authorizenet_uses_the_sandbox_outside_production_and_the_live_api_in_it() -> None:
    assert make_settings(UNUSED_DATABASE).authorizenet_endpoint == AUTHORIZENET_SANDBOX_API
    assert production().authorizenet_endpoint == AUTHORIZENET_LIVE_API
    chosen = production(authorizenet_api_base="https://example.test/request.api")
    assert chosen.authorizenet_endpoint == "https://example.test/request.api"


def test_default_jwt_secret_is_a_production_problem() -> None:
    problems = production(jwt_secret=DEFAULT_JWT_SECRET).production_problems()
    assert len(problems) == 1
    assert names(problems) == {"FACET_JWT_SECRET"}


def test_short_jwt_secret_is_a_production_problem() -> None:
    problems = production(jwt_secret="s" * 31).production_problems()
    assert names(problems) == {"FACET_JWT_SECRET"}


def test_jwt_secret_of_32_characters_is_accepted() -> None:
    assert production(jwt_secret="s" * 32).production_problems() == []


def test_default_privacy_hash_secret_is_a_production_problem() -> None:
    problems = production(privacy_hash_secret=DEFAULT_PRIVACY_HASH_SECRET).production_problems()
    assert names(problems) == {"FACET_PRIVACY_HASH_SECRET"}


def test_short_privacy_hash_secret_is_a_production_problem() -> None:
    problems = production(privacy_hash_secret="p" * 31).production_problems()
    assert names(problems) == {"FACET_PRIVACY_HASH_SECRET"}


def test_the_privacy_hash_secret_is_not_the_jwt_secret() -> None:
    """Rotating one key must not silently change what the other protects."""
    settings = production()
    assert settings.privacy_hash_secret.get_secret_value() != settings.jwt_secret.get_secret_value()
    assert "privacy_hash_secret" in Settings.model_fields


def test_fake_payment_provider_is_a_production_problem() -> None:
    problems = production(payment_provider="fake").production_problems()
    assert len(problems) == 1
    assert names(problems) == {"FACET_PAYMENT_PROVIDER"}


def test_wildcard_cors_is_a_production_problem() -> None:
    problems = production(cors_origins=["https://shop.example", "*"]).production_problems()
    assert len(problems) == 1
    assert names(problems) == {"FACET_CORS_ORIGINS"}


def test_every_unsafe_production_setting_is_listed_at_once() -> None:
    problems = production(
        jwt_secret=DEFAULT_JWT_SECRET, payment_provider="fake", cors_origins=["*"]
    ).production_problems()
    assert len(problems) == 3
    assert names(problems) == {"FACET_JWT_SECRET", "FACET_PAYMENT_PROVIDER", "FACET_CORS_ORIGINS"}


def test_development_defaults_are_not_refused() -> None:
    settings = make_settings(
        UNUSED_DATABASE,
        env="development",
        jwt_secret=DEFAULT_JWT_SECRET,
        payment_provider="fake",
        cors_origins=["*"],
    )
    assert settings.production_problems() == []


def test_production_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in list(os.environ):
        if key.startswith("FACET_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FACET_ENV", "production")
    monkeypatch.setenv("FACET_CORS_ORIGINS", '["*"]')
    settings = Settings()
    assert settings.is_production
    assert names(settings.production_problems()) == {
        "FACET_JWT_SECRET",
        "FACET_PRIVACY_HASH_SECRET",
        "FACET_PAYMENT_PROVIDER",
        "FACET_CORS_ORIGINS",
    }


def test_create_app_refuses_unsafe_production_settings() -> None:
    with pytest.raises(UnsafeSettingsError, match="refusing to start in production"):
        create_app(production(jwt_secret=DEFAULT_JWT_SECRET))


def test_create_app_accepts_safe_production_settings() -> None:
    app = create_app(production())
    assert app.state.settings.is_production


def test_serve_refuses_unsafe_production_settings_with_one_clear_line(tmp_path: Path) -> None:
    database = tmp_path / "serve.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACET_")}
    env.update(
        FACET_ENV="production",
        FACET_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        FACET_PAYMENT_PROVIDER="stripe",
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "refusing to start in production" in lines[0]
    assert "FACET_JWT_SECRET" in lines[0]
    assert "Traceback" not in result.stderr
    # It stopped before migrating, seeding or serving anything.
    assert "Uvicorn running" not in result.stdout + result.stderr
    assert not database.exists()
