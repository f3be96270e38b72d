"""Privacy policy versions and acceptances; coarse technical data.

Seeds version 1 of the privacy policy from app/privacy/policy/v1.md, so every
database starts with a policy in force.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 04:00:00+00:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST_POLICY = Path(__file__).resolve().parents[2] / "app" / "privacy" / "policy" / "v1.md"
FIRST_EFFECTIVE_ON = date(2026, 11, 30)


def upgrade() -> None:
    versions = op.create_table('privacy_policy_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('text_markdown', sa.Text(), nullable=False),
    sa.Column('material', sa.Boolean(), nullable=False),
    sa.Column('notice_until', sa.Date(), nullable=True),
    sa.Column('notice_text', sa.String(length=500), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['published_by'], ['accounts.id'], name=op.f('fk_privacy_policy_versions_published_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_privacy_policy_versions'))
    )
    op.create_table('technical_data_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('route', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('browser', sa.String(length=40), nullable=False),
    sa.Column('os', sa.String(length=40), nullable=False),
    sa.Column('referrer_host', sa.String(length=253), nullable=False),
    sa.Column('ip_prefix', sa.String(length=64), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technical_data_daily')),
    sa.UniqueConstraint('day', 'method', 'route', 'status', 'browser', 'os', 'referrer_host', 'ip_prefix', name='uq_technical_data_daily_bucket')
    )
    with op.batch_alter_table('technical_data_daily', schema=None) as batch_op:
        batch_op.create_index('ix_technical_data_daily_day_id', ['day', 'id'], unique=False)

    op.create_table('privacy_policy_acceptances',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_privacy_policy_acceptances_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version'], ['privacy_policy_versions.version'], name=op.f('fk_privacy_policy_acceptances_version_privacy_policy_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_policy_acceptances')),
    sa.UniqueConstraint('account_id', 'version', name=op.f('uq_privacy_policy_acceptances_account_id'))
    )

    op.bulk_insert(versions, [{
        'version': 1,
        'effective_on': FIRST_EFFECTIVE_ON,
        'text_markdown': FIRST_POLICY.read_text(encoding='utf-8'),
        'material': False,
        'notice_until': None,
        'notice_text': None,
        'published_at': datetime(2026, 11, 30, tzinfo=UTC),
        'published_by': None,
    }])


def downgrade() -> None:
    op.drop_table('privacy_policy_acceptances')
    with op.batch_alter_table('technical_data_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_technical_data_daily_day_id')

    op.drop_table('technical_data_daily')
    op.drop_table('privacy_policy_versions')
