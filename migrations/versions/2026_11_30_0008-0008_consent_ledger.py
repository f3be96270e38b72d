"""Consent ledger, contact addresses, newsletter confirmations, campaigns, email
verification; outbox messages record their subject and purpose.

`orders.marketing_opt_in` moves into the ledger: every order that opted in becomes a
`marketing_email` grant (source `checkout`, at the order's time, under the policy version
then in force) for the order's account, or for the keyed hash of its email when it was a
guest order (whose address is kept as the hash subject's contact address). The downgrade
sets the flag again on the orders whose subject's checkout grants it came from.

The email hash must match app/privacy/subjects.py: HMAC-SHA256 of the normalized address
under a key derived from FACET_PRIVACY_HASH_SECRET, read here from the settings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 04:15:00+00:00
"""

import hashlib
import hmac
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.settings import get_settings

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _email_subject(email: str) -> str:
    secret = get_settings().privacy_hash_secret.get_secret_value()
    key = hashlib.sha256(f"email-subject:{secret}".encode()).digest()
    normalized = email.replace("\x00", "").strip().lower()
    return "email:" + hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


def _subject_of(account_id: object, email: str) -> str:
    return f"account:{account_id}" if account_id is not None else _email_subject(email)


def _move_order_opt_ins_into_the_ledger() -> None:
    bind = op.get_bind()
    orders = sa.table('orders', sa.column('account_id', sa.Uuid()), sa.column('email', sa.String()),
                      sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('marketing_opt_in', sa.Boolean()))
    versions = sa.table('privacy_policy_versions', sa.column('version', sa.Integer()),
                        sa.column('effective_on', sa.Date()))
    events = sa.table('consent_events', sa.column('subject', sa.String()),
                      sa.column('purpose', sa.String()), sa.column('granted', sa.Boolean()),
                      sa.column('source', sa.String()), sa.column('policy_version', sa.Integer()),
                      sa.column('recorded_at', sa.DateTime(timezone=True)))
    contacts = sa.table('privacy_contact_addresses', sa.column('subject', sa.String()),
                        sa.column('email', sa.String()),
                        sa.column('updated_at', sa.DateTime(timezone=True)))
    policy = sorted(bind.execute(sa.select(versions.c.version, versions.c.effective_on)).all())
    rows = bind.execute(
        sa.select(orders.c.account_id, orders.c.email, orders.c.created_at)
        .where(orders.c.marketing_opt_in.is_(True))
        .order_by(orders.c.created_at)
    ).all()
    new_events, addresses = [], {}
    for account_id, email, created_at in rows:
        subject = _subject_of(account_id, email)
        in_force = [v for v, day in policy if day <= created_at.date()]
        new_events.append({
            'subject': subject, 'purpose': 'marketing_email', 'granted': True,
            'source': 'checkout', 'policy_version': in_force[-1] if in_force else None,
            'recorded_at': created_at,
        })
        if account_id is None:
            addresses[subject] = {'subject': subject, 'email': email, 'updated_at': created_at}
    if new_events:
        op.bulk_insert(events, new_events)
    if addresses:
        op.bulk_insert(contacts, list(addresses.values()))


def _restore_order_opt_ins() -> None:
    bind = op.get_bind()
    orders = sa.table('orders', sa.column('id', sa.Uuid()), sa.column('account_id', sa.Uuid()),
                      sa.column('email', sa.String()), sa.column('marketing_opt_in', sa.Boolean()))
    events = sa.table('consent_events', sa.column('subject', sa.String()),
                      sa.column('purpose', sa.String()), sa.column('granted', sa.Boolean()),
                      sa.column('source', sa.String()))
    opted_in = set(bind.execute(
        sa.select(events.c.subject).where(
            events.c.purpose == 'marketing_email', events.c.granted.is_(True),
            events.c.source == 'checkout',
        )
    ).scalars())
    if not opted_in:
        return
    ids = [
        order_id
        for order_id, account_id, email in bind.execute(
            sa.select(orders.c.id, orders.c.account_id, orders.c.email)
        ).all()
        if _subject_of(account_id, email) in opted_in
    ]
    for start in range(0, len(ids), 500):
        bind.execute(
            orders.update().where(orders.c.id.in_(ids[start:start + 500]))
            .values(marketing_opt_in=True)
        )


def upgrade() -> None:
    events = op.create_table('consent_events',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('purpose', sa.Enum('marketing_email', 'marketing_mail', 'marketing_phone', 'newsletter', 'testimonial_name', name='purpose', native_enum=False, length=32), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('registration', 'checkout', 'preferences', 'opt_out_link', 'newsletter', 'staff', 'verified_email', name='consentsource', native_enum=False, length=24), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_events_purpose_seq', ['purpose', 'seq'], unique=False)
        batch_op.create_index('ix_consent_events_subject_purpose_seq', ['subject', 'purpose', 'seq'], unique=False)

    op.create_table('newsletter_confirmations',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_confirmations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_newsletter_confirmations_token_hash'))
    )
    op.create_table('privacy_contact_addresses',
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_privacy_contact_addresses'))
    )
    op.create_table('campaigns',
    sa.Column('purpose', sa.Enum('marketing_email', 'marketing_mail', 'marketing_phone', 'newsletter', 'testimonial_name', name='purpose', native_enum=False, length=32), nullable=False),
    sa.Column('subject_line', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['accounts.id'], name=op.f('fk_campaigns_created_by_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_created', ['created_at', 'id'], unique=False)

    op.create_table('email_verification_tokens',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_email_verification_tokens_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_verification_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_email_verification_tokens_token_hash'))
    )
    with op.batch_alter_table('email_verification_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_verification_tokens_account_id'), ['account_id'], unique=False)

    op.create_table('campaign_recipients',
    sa.Column('campaign_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_recipients_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('campaign_id', 'subject', name=op.f('uq_campaign_recipients_campaign_id'))
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))

    _move_order_opt_ins_into_the_ledger()
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('marketing_opt_in')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_subject', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('purpose', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('headers')
        batch_op.drop_column('purpose')
        batch_op.drop_column('data_subject')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('marketing_opt_in', sa.Boolean(), nullable=False, server_default=sa.false()))
    _restore_order_opt_ins()

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('email_verified_at')

    op.drop_table('campaign_recipients')
    with op.batch_alter_table('email_verification_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_verification_tokens_account_id'))

    op.drop_table('email_verification_tokens')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_created')

    op.drop_table('campaigns')
    op.drop_table('privacy_contact_addresses')
    op.drop_table('newsletter_confirmations')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_events_subject_purpose_seq')
        batch_op.drop_index('ix_consent_events_purpose_seq')

    op.drop_table('consent_events')
