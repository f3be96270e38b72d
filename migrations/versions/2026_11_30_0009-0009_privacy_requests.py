"""Stop collecting the billing address: orders never used it (P1, collect only what is
needed); the payment processor is the one that checks a card's billing details.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 04:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("billing_address")


def downgrade() -> None:
    # The addresses dropped on upgrade are gone for good: the column comes back empty.
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("billing_address", sa.JSON(), nullable=True))
