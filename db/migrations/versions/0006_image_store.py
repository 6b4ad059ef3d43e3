"""The trial's managed image store: a de-identified, content-addressed copy of every imported
series, named by the hash of its stored files (``scans.store_hash``, ``scans.store_files``, and
the copy's de-identified ``scans.store_series_uid``, which DICOM SEG exports reference); and
a ``settings`` table for the store's folder (given at ``db init --image-store``) and the trial's
UID-mapping key. Scans imported before this revision keep their site files until
``lungread trial store-images`` copies them in.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'settings',
        sa.Column('key', sa.String(length=64), primary_key=True),
        sa.Column('value', sa.Text(), nullable=False),
    )
    with op.batch_alter_table('scans') as batch:
        batch.add_column(sa.Column('store_hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('store_files', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('store_series_uid', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('scans') as batch:
        batch.drop_column('store_series_uid')
        batch.drop_column('store_files')
        batch.drop_column('store_hash')
    op.drop_table('settings')
