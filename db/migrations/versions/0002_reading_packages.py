"""Reading packages: per-package HMAC key and import provenance.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Databases from before this revision may already hold the tables (they were created on first
    # use): keep those.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if 'reading_packages' not in existing:
        op.create_table('reading_packages',
        sa.Column('package_id', sa.String(length=32), nullable=False),
        sa.Column('reader_id', sa.Integer(), nullable=False),
        sa.Column('hmac_key', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.String(length=40), nullable=False),
        sa.Column('case_codes_json', sa.Text(), nullable=False),
        sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
        sa.Column('merged_event_id', sa.Integer(), nullable=False),
        sa.Column('imports', sa.Integer(), nullable=False),
        sa.Column('last_import_at', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('package_id')
        )
        op.create_index(op.f('ix_reading_packages_reader_id'), 'reading_packages', ['reader_id'], unique=False)
    if 'package_read_imports' not in existing:
        op.create_table('package_read_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('package_id', sa.String(length=32), nullable=False),
        sa.Column('case_code', sa.String(length=16), nullable=False),
        sa.Column('package_read_id', sa.Integer(), nullable=False),
        sa.Column('master_read_id', sa.Integer(), nullable=False),
        sa.Column('content_sha256', sa.String(length=64), nullable=False),
        sa.Column('sign_event_hash', sa.String(length=64), nullable=False),
        sa.Column('imported_at', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('master_read_id'),
        sa.UniqueConstraint('package_id', 'package_read_id', name='uq_package_read')
        )
        op.create_index(op.f('ix_package_read_imports_case_code'), 'package_read_imports', ['case_code'], unique=False)
        op.create_index(op.f('ix_package_read_imports_package_id'), 'package_read_imports', ['package_id'],
                        unique=False)


def downgrade() -> None:
    op.drop_table('package_read_imports')
    op.drop_table('reading_packages')
