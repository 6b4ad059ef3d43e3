"""The whole randomisation list, imaged subjects or not (the analysis population).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 14:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('randomised_subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('subject_code', sa.String(length=64), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trial_id', 'subject_code', name='uq_randomised_subject')
    )


def downgrade() -> None:
    op.drop_table('randomised_subjects')
