"""Models and migrations agree on both databases, and every revision downgrades."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import alembic_config
from app.models import Base, include_name


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_diff)
    assert diff == []


async def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}")
    for target in ("head", "base", "head"):
        step = command.upgrade if target == "head" else command.downgrade
        await asyncio.to_thread(step, config, target)


def _insert_row(connection: Connection, table: str, values: dict[str, object]) -> None:
    """Insert a row giving every NOT NULL column without a default a dummy of its type."""
    row = dict(values)
    for column in sa.inspect(connection).get_columns(table):
        if column["name"] in row or column["nullable"] or column.get("default") is not None:
            continue
        python_type = column["type"].python_type
        dummy: object = {int: 1, str: "x", bool: False, dict: {}}.get(python_type)
        if python_type is datetime:
            dummy = datetime.now(UTC)
        elif python_type is date:
            dummy = date.today()
        row[column["name"]] = dummy
    metadata = sa.MetaData()
    connection.execute(sa.Table(table, metadata, autoload_with=connection).insert().values(row))


async def test_yellow_gold_is_renamed_everywhere_it_is_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gold.db'}"
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'gold.db'}")
    await asyncio.to_thread(command.upgrade, config, "0013")
    engine = sa.create_engine(url)
    # SQLite keeps UUIDs as 32 hex characters.
    product_id, variant_id, line_id = (uuid.uuid4().hex for _ in range(3))
    with engine.begin() as connection:
        _insert_row(connection, "products", {"id": product_id, "metal": "gold", "slug": "ring"})
        _insert_row(connection, "variants", {"id": variant_id, "product_id": product_id,
                                             "metal": "gold", "sku": "R-1"})  # fmt: skip
        _insert_row(connection, "order_lines", {
            "id": line_id, "variant_id": variant_id,
            "options": {"ring_size": "6", "metal": "gold"},
        })  # fmt: skip
    await asyncio.to_thread(command.upgrade, config, "head")

    def stored() -> tuple[object, ...]:
        with engine.connect() as connection:
            return (
                connection.scalar(sa.text("SELECT metal FROM products")),
                connection.scalar(sa.text("SELECT metal FROM variants")),
                json.loads(connection.scalar(sa.text("SELECT options FROM order_lines"))),
            )

    assert stored() == ("yellow_gold", "yellow_gold", {"ring_size": "6", "metal": "yellow_gold"})
    await asyncio.to_thread(command.downgrade, config, "0013")
    assert stored() == ("gold", "gold", {"ring_size": "6", "metal": "gold"})
    engine.dispose()
