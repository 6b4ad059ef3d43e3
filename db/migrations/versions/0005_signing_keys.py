"""Per-user Ed25519 signing keys, signed audit events, and login throttling by user name.

Adds the wrapped private key and public key of each account, the signature / signer key
fingerprint / signed-state digest of each audit event, and the ``login_throttle`` table (failed
sign-ins per user *name*, known or not: a time-based back-off instead of the permanent lock, so
the old ``users.locked`` and ``users.failed_logins`` columns go).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('signing_key', sa.Text(), nullable=True))
        batch.add_column(sa.Column('public_key', sa.String(length=64), nullable=True))
        batch.drop_column('locked')
        batch.drop_column('failed_logins')
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('state_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('signer_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('signature', sa.String(length=128), nullable=True))
    op.create_index('ix_audit_events_entity', 'audit_events', ['entity', 'entity_id'])
    op.create_table(
        'login_throttle',
        sa.Column('username', sa.String(length=64), primary_key=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('blocked_until', sa.String(length=40), nullable=True),
        sa.Column('last_failure_at', sa.String(length=40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('login_throttle')
    op.drop_index('ix_audit_events_entity', table_name='audit_events')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_column('signature')
        batch.drop_column('signer_key')
        batch.drop_column('state_sha256')
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('locked', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_column('public_key')
        batch.drop_column('signing_key')
