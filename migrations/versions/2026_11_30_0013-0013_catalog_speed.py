"""Catalog version and full-text search.

The catalog version is one counter row that cached public answers are keyed by.
Text search (`q`) keeps its meaning, a case-insensitive substring of the name or the
description, and gains an index: trigram GIN indexes on PostgreSQL (pg_trgm serves
`LIKE '%...%'` itself), an FTS5 trigram table kept in step by triggers on SQLite.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 06:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE products_search USING fts5("
    "product_id UNINDEXED, name, description, tokenize='trigram')",
    "INSERT INTO products_search (product_id, name, description) "
    "SELECT id, name, description FROM products",
    "CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN "
    "INSERT INTO products_search (product_id, name, description) "
    "VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER products_search_update AFTER UPDATE OF id, name, description ON products "
    "BEGIN DELETE FROM products_search WHERE product_id = old.id; "
    "INSERT INTO products_search (product_id, name, description) "
    "VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN "
    "DELETE FROM products_search WHERE product_id = old.id; END",
)
POSTGRES_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_products_search_name ON products USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX ix_products_search_description ON products "
    "USING gin (lower(description) gin_trgm_ops)",
)


def upgrade() -> None:
    op.create_table(
        'catalog_versions',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_versions')),
    )
    op.execute("INSERT INTO catalog_versions (id, version) VALUES (1, 0)")
    statements = SQLITE_SEARCH if op.get_bind().dialect.name == "sqlite" else POSTGRES_SEARCH
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER products_search_{trigger}")
        op.execute("DROP TABLE products_search")
    else:
        op.execute("DROP INDEX ix_products_search_description")
        op.execute("DROP INDEX ix_products_search_name")
    op.drop_table('catalog_versions')
