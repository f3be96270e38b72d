"""Privacy requests from people without an account, inquiries and legal disclosures.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:55:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_inquiries',
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', 'closed', name='inquirystatus', native_enum=False, length=16), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_inquiries')),
    sa.UniqueConstraint('reference', name=op.f('uq_privacy_inquiries_reference'))
    )
    with op.batch_alter_table('privacy_inquiries', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_inquiries_created_at_id', ['created_at', 'id'], unique=False)

    op.create_table('privacy_requests',
    sa.Column('kind', sa.Enum('access', 'rectification', 'erasure', name='requestkind', native_enum=False, length=16), nullable=False),
    sa.Column('status', sa.Enum('awaiting_verification', 'awaiting_staff', 'completed', name='requeststatus', native_enum=False, length=24), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verify_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_privacy_requests_token_hash'))
    )
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.create_index('ix_privacy_requests_created_at_id', ['created_at', 'id'], unique=False)

    op.create_table('legal_disclosures',
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('subject_email', sa.String(length=254), nullable=True),
    sa.Column('data_categories', sa.JSON(), nullable=False),
    sa.Column('recipient', sa.String(length=300), nullable=False),
    sa.Column('legal_basis', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('disclosed_on', sa.Date(), nullable=False),
    sa.Column('recorded_by', sa.Uuid(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subject_erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_legal_disclosures_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by'], ['accounts.id'], name=op.f('fk_legal_disclosures_recorded_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_disclosures'))
    )
    with op.batch_alter_table('legal_disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_disclosures_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_legal_disclosures_recorded_at_id', ['recorded_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('legal_disclosures', schema=None) as batch_op:
        batch_op.drop_index('ix_legal_disclosures_recorded_at_id')
        batch_op.drop_index(batch_op.f('ix_legal_disclosures_account_id'))

    op.drop_table('legal_disclosures')
    with op.batch_alter_table('privacy_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_requests_created_at_id')

    op.drop_table('privacy_requests')
    with op.batch_alter_table('privacy_inquiries', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_inquiries_created_at_id')

    op.drop_table('privacy_inquiries')
