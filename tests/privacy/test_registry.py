"""The personal-data registry's declarations and the layering contracts (no database)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import JSON, Column, MetaData, String, Table, Text

import app.models  # noqa: F401  (every model registered on Base.metadata)
from app.core.db import Base
from app.core.settings import get_settings
from app.privacy_handlers import create_registry

ROOT = Path(__file__).resolve().parents[2]


def undeclared_columns(metadata: MetaData) -> list[str]:
    """String, Text and JSON columns that say neither pii True nor pii False."""
    return [
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text | JSON) and "pii" not in column.info
    ]


def personal_tables(metadata: MetaData) -> set[str]:
    return {
        table.name
        for table in metadata.sorted_tables
        if any(column.info.get("pii") is True for column in table.columns)
    }


def test_every_text_and_json_column_declares_whether_it_holds_personal_data() -> None:
    assert undeclared_columns(Base.metadata) == []


def test_a_column_that_declares_nothing_is_caught() -> None:
    metadata = MetaData()
    Table(
        "notes", metadata,
        Column("body", Text), Column("title", String(20), info={"pii": False}),
    )  # fmt: skip
    assert undeclared_columns(metadata) == ["notes.body"]


def test_every_table_with_personal_columns_has_a_registered_handler() -> None:
    covered = create_registry(get_settings()).covered_tables()
    assert personal_tables(Base.metadata) - covered == set()


def test_a_personal_table_without_a_handler_is_caught() -> None:
    metadata = MetaData()
    Table("guestbook_entries", metadata, Column("author", String(80), info={"pii": True}))
    assert personal_tables(metadata) - create_registry(get_settings()).covered_tables() == {
        "guestbook_entries"
    }


def test_handlers_only_claim_tables_that_exist() -> None:
    assert create_registry(get_settings()).covered_tables() <= set(Base.metadata.tables)


def test_the_layering_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "BROKEN" not in result.stdout


def test_erasure_runs_orders_before_messages_and_the_account_last() -> None:
    """A link must outlive the data it leads to: orders are found through the account,
    the messages about them through the orders' addresses."""
    tables = [handler.tables for handler in create_registry(get_settings()).handlers]
    position = {table: i for i, owned in enumerate(tables) for table in owned}
    assert position["idempotency_keys"] < position["orders"] < position["outbox_messages"]
    assert position["accounts"] == len(tables) - 1
