"""Revision 0008 moves `orders.marketing_opt_in` into the consent ledger, and its
downgrade puts the flags back (both databases)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from app.cli import alembic_config
from app.core.db import create_engine
from app.core.settings import get_settings
from app.privacy.subjects import email_subject
from tests.conftest import PG_TEST_DATABASE, recreate_pg_database, unavailable

WHEN = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'consent-migration.db'}"
    try:
        return await recreate_pg_database(f"{PG_TEST_DATABASE}_consent_migration")
    except (OSError, TimeoutError) as exc:
        unavailable("PostgreSQL", exc)
        raise


def _order(number: str, email: str, account_id: uuid.UUID | None, opt_in: bool) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "number": number, "account_id": account_id, "status": "paid",
        "email": email, "phone": None, "shipping_address": {}, "billing_address": None,
        "marketing_opt_in": opt_in, "referral_code": None, "order_token_hash": "0" * 64,
        "currency": "USD", "subtotal_minor": 100, "shipping_minor": 0, "tax_minor": 0,
        "total_minor": 100, "capture_mode": "automatic", "payment_provider": "fake",
        "payment_intent_id": None, "payment_state": "captured", "payment_attempt": 0,
        "amount_refunded_minor": 0, "reserved_until": WHEN, "stock_released": False,
        "created_at": WHEN, "updated_at": WHEN,
    }  # fmt: skip


def _seed(connection: Connection, account_id: uuid.UUID) -> None:
    tables = sa.MetaData()
    accounts = sa.Table("accounts", tables, autoload_with=connection)
    orders = sa.Table("orders", tables, autoload_with=connection)
    # SQLite reflects these as plain CHAR and JSON-less text: bind them as the models do.
    for column in (accounts.c.id, orders.c.id, orders.c.account_id):
        column.type = sa.Uuid()
    orders.c.shipping_address.type = sa.JSON()
    connection.execute(
        accounts.insert().values(
            id=account_id, email="member@example.com", password_hash="x", full_name="M",
            role="customer", is_active=True, adult_verified_at=WHEN, created_at=WHEN,
            updated_at=WHEN,
        )
    )  # fmt: skip
    connection.execute(
        orders.insert(),
        [
            _order("FJ-MEMBER01", "member@example.com", account_id, True),
            _order("FJ-GUEST001", "Guest@Example.com", None, True),
            _order("FJ-SILENT01", "silent@example.com", None, False),
        ],
    )


def _read(connection: Connection, query: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in connection.execute(sa.text(query))]


async def test_order_opt_ins_move_into_the_ledger_and_back(fresh_url: str) -> None:
    config = alembic_config(fresh_url)
    await asyncio.to_thread(command.upgrade, config, "0007")
    engine = create_engine(fresh_url)
    account_id = uuid.uuid4()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_seed, account_id)

        await asyncio.to_thread(command.upgrade, config, "0008")
        async with engine.connect() as connection:
            events = await connection.run_sync(
                _read,
                "SELECT subject, purpose, granted, source, policy_version FROM consent_events",
            )
            contacts = await connection.run_sync(
                _read, "SELECT subject, email FROM privacy_contact_addresses"
            )
        guest = email_subject(get_settings(), "guest@example.com")
        assert sorted(events) == sorted(
            [
                (f"account:{account_id}", "marketing_email", True, "checkout", 1),
                (guest, "marketing_email", True, "checkout", 1),
            ]
        )
        assert contacts == [(guest, "Guest@Example.com")]

        await asyncio.to_thread(command.downgrade, config, "0007")
        async with engine.connect() as connection:
            flags = await connection.run_sync(
                _read, "SELECT number, marketing_opt_in FROM orders ORDER BY number"
            )
        assert [(n, bool(f)) for n, f in flags] == [
            ("FJ-GUEST001", True), ("FJ-MEMBER01", True), ("FJ-SILENT01", False)
        ]  # fmt: skip
    finally:
        await engine.dispose()
