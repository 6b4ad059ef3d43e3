"""The adjudicator's rationale: free text and a reason from a fixed list, kept with the decision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('adjudication_tasks') as batch:
        batch.add_column(sa.Column('rationale_reason', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('rationale', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('adjudication_tasks') as batch:
        batch.drop_column('rationale')
        batch.drop_column('rationale_reason')
