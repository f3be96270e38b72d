"""Payment hardening: attempts, refunds, disputes, amount checks, customer action.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # payment_state gains partially_refunded and disputed: a non-native enum, no DDL.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_review', sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column('payment_failure_notified_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('expiry_retry_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('expiry_retry_at')
        batch_op.drop_column('payment_failure_notified_at')
        batch_op.drop_column('payment_review')
