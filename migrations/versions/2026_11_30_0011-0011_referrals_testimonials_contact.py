"""Tell-a-friend referrals, testimonials and contact requests.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 05:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_suppressions',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_referral_suppressions'))
    )
    op.create_table('referral_codes',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_referral_codes_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_referral_codes_code'))
    )
    op.create_table('referrals',
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('referrer_id', sa.Uuid(), nullable=True),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('invited', 'converted', 'removed', name='referralstatus', native_enum=False, length=16), nullable=False),
    sa.Column('friend_name', sa.String(length=200), nullable=True),
    sa.Column('friend_email', sa.String(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('converted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('converted_via', sa.String(length=16), nullable=True),
    sa.Column('friend_data_removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['referrer_id'], ['accounts.id'], name=op.f('fk_referrals_referrer_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('address_hash', name=op.f('uq_referrals_address_hash'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_referrer_created', ['referrer_id', 'created_at'], unique=False)

    op.create_table('testimonials',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('verified_purchase', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='testimonialstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_testimonials_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_testimonials_product_id_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by'], ['accounts.id'], name=op.f('fk_testimonials_reviewed_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_testimonials'))
    )
    with op.batch_alter_table('testimonials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_testimonials_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_testimonials_status_created', ['status', 'created_at', 'id'], unique=False)

    op.create_table('support_requests',
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('topic', sa.Enum('order', 'product', 'account', 'privacy', 'other', name='contacttopic', native_enum=False, length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', name='supportstatus', native_enum=False, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['accounts.id'], name=op.f('fk_support_requests_answered_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_requests')),
    sa.UniqueConstraint('reference', name=op.f('uq_support_requests_reference'))
    )
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_requests_email'), ['email'], unique=False)
        batch_op.create_index('ix_support_requests_status_created', ['status', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('support_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_support_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_support_requests_email'))

    op.drop_table('support_requests')
    with op.batch_alter_table('testimonials', schema=None) as batch_op:
        batch_op.drop_index('ix_testimonials_status_created')
        batch_op.drop_index(batch_op.f('ix_testimonials_account_id'))

    op.drop_table('testimonials')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_referrer_created')

    op.drop_table('referrals')
    op.drop_table('referral_codes')
    op.drop_table('referral_suppressions')
