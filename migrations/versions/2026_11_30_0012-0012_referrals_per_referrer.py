"""A referral row per referrer and address; the unique invitation in its own table.

Every accepted referral now appears in its referrer's list (unique per referrer and
address hash), while "one invitation per address, ever" moves to `referral_invitations`,
keyed by the address hash, with the email it queued (so a removal finds that email even
after the referrals dropped the address). Each existing referral sent (or queued) the one
invitation of its address, so each becomes an invitation row, linked to its email where
the referral still holds the address; every referral keeps its referrer.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 06:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'referral_invitations',
        sa.Column('address_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('message_id', sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ['message_id'], ['outbox_messages.id'],
            name=op.f('fk_referral_invitations_message_id_outbox_messages'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('address_hash', name=op.f('pk_referral_invitations')),
    )
    # The invitation's email, where the referral still holds the address it went to.
    op.execute(
        "INSERT INTO referral_invitations (address_hash, created_at, message_id) "
        "SELECT r.address_hash, r.created_at, ("
        "SELECT m.id FROM outbox_messages AS m "
        "WHERE m.kind = 'referral_invitation' AND lower(m.recipient) = r.friend_email "
        "ORDER BY m.created_at LIMIT 1) "
        "FROM referrals AS r"
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_constraint('uq_referrals_address_hash', type_='unique')
        batch_op.create_unique_constraint(
            'uq_referrals_referrer_address', ['referrer_id', 'address_hash']
        )
        batch_op.create_index('ix_referrals_address_hash', ['address_hash'], unique=False)


def downgrade() -> None:
    # The old shape holds one referral per address: keep the first (the one whose
    # invitation was sent) and drop the later referrers' rows.
    op.execute(
        'DELETE FROM referrals WHERE EXISTS ('
        'SELECT 1 FROM referrals AS earlier '
        'WHERE earlier.address_hash = referrals.address_hash '
        'AND (earlier.created_at < referrals.created_at '
        'OR (earlier.created_at = referrals.created_at AND earlier.id < referrals.id)))'
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_address_hash')
        batch_op.drop_constraint('uq_referrals_referrer_address', type_='unique')
        batch_op.create_unique_constraint('uq_referrals_address_hash', ['address_hash'])
    op.drop_table('referral_invitations')
