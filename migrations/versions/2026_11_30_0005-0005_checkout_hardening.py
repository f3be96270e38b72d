"""Checkout hardening: carts claimed once, idempotency keys bound to their caller.

A cart remembers when its lines last became an order, so a late duplicate checkout
is told so. Idempotency keys need no schema change: their scope now names the caller.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('carts') as batch:
        batch.add_column(sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True))
    # Answers stored under the old, caller-less scope can never be replayed again, and they
    # hold order tokens in plain text: drop them now rather than at the 24-hour purge.
    op.execute("DELETE FROM idempotency_keys WHERE scope = 'checkout'")


def downgrade() -> None:
    with op.batch_alter_table('carts') as batch:
        batch.drop_column('checked_out_at')
