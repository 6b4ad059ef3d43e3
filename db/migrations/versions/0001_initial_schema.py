"""Initial schema: users, trial + charter, subjects, visits, scans, tasks, reads, masks, adjudication, audit, lock, unblinding.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 14:15:21.913523
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('ts', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('old_json', sa.Text(), nullable=False),
    sa.Column('new_json', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash'),
    sa.UniqueConstraint('prev_hash')
    )
    op.create_table('mask_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('codec', sa.String(length=32), nullable=False),
    sa.Column('shape', sa.String(length=64), nullable=False),
    sa.Column('dtype', sa.String(length=16), nullable=False),
    sa.Column('n_runs', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('trials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('charter_json', sa.Text(), nullable=False),
    sa.Column('worklist_seed', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('database_locks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('locked_by', sa.Integer(), nullable=False),
    sa.Column('locked_at', sa.String(length=40), nullable=False),
    sa.Column('open_tasks', sa.Integer(), nullable=False),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['locked_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trial_id')
    )
    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trial_id', 'code', name='uq_subject_code')
    )
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subjects_trial_id'), ['trial_id'], unique=False)

    op.create_table('unblindings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trial_id', sa.Integer(), nullable=False),
    sa.Column('unblinded_by', sa.Integer(), nullable=False),
    sa.Column('unblinded_at', sa.String(length=40), nullable=False),
    sa.Column('file_name', sa.Text(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('n_subjects', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['trial_id'], ['trials.id'], ),
    sa.ForeignKeyConstraint(['unblinded_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('trial_id')
    )
    op.create_table('randomization',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id')
    )
    op.create_table('visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('visit_day', sa.Integer(), nullable=True),
    sa.Column('study_date', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject_id', 'name', name='uq_visit_name')
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visits_subject_id'), ['subject_id'], unique=False)

    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('series_uid', sa.String(length=128), nullable=False),
    sa.Column('folder', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('image_key', sa.String(length=32), nullable=False),
    sa.Column('files_json', sa.Text(), nullable=False),
    sa.Column('display_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('image_key'),
    sa.UniqueConstraint('series_uid'),
    sa.UniqueConstraint('visit_id')
    )
    op.create_table('read_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('reader_id', sa.Integer(), nullable=False),
    sa.Column('reader_slot', sa.Integer(), nullable=False),
    sa.Column('case_code', sa.String(length=16), nullable=False),
    sa.Column('order_index', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['reader_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_code'),
    sa.UniqueConstraint('scan_id', 'reader_id', name='uq_task_scan_reader')
    )
    with op.batch_alter_table('read_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_tasks_reader_id'), ['reader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_tasks_scan_id'), ['scan_id'], unique=False)

    op.create_table('reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('metrics_json', sa.Text(), nullable=False),
    sa.Column('lesion_pct', sa.Float(), nullable=True),
    sa.Column('solid_pct', sa.Float(), nullable=True),
    sa.Column('normal_ct', sa.Boolean(), nullable=True),
    sa.Column('confidence', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('not_evaluable_reason', sa.Text(), nullable=True),
    sa.Column('algorithm_version', sa.String(length=64), nullable=True),
    sa.Column('protocol_hash', sa.String(length=64), nullable=True),
    sa.Column('lung_mask_sha', sa.String(length=64), nullable=True),
    sa.Column('lesion_mask_sha', sa.String(length=64), nullable=True),
    sa.Column('saved_at', sa.String(length=40), nullable=False),
    sa.Column('signed_by', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.String(length=40), nullable=True),
    sa.Column('sign_meaning', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['lesion_mask_sha'], ['mask_blobs.sha256'], ),
    sa.ForeignKeyConstraint(['lung_mask_sha'], ['mask_blobs.sha256'], ),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], ),
    sa.ForeignKeyConstraint(['signed_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['read_tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id', 'revision', name='uq_read_task_revision')
    )
    with op.batch_alter_table('reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reads_scan_id'), ['scan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reads_task_id'), ['task_id'], unique=False)

    op.create_table('adjudication_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scan_id', sa.Integer(), nullable=False),
    sa.Column('adjudicator_id', sa.Integer(), nullable=True),
    sa.Column('case_code', sa.String(length=16), nullable=False),
    sa.Column('read_a_id', sa.Integer(), nullable=False),
    sa.Column('read_b_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('choice', sa.String(length=8), nullable=True),
    sa.Column('chosen_read_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.String(length=40), nullable=True),
    sa.Column('sign_meaning', sa.Text(), nullable=True),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['adjudicator_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['chosen_read_id'], ['reads.id'], ),
    sa.ForeignKeyConstraint(['read_a_id'], ['reads.id'], ),
    sa.ForeignKeyConstraint(['read_b_id'], ['reads.id'], ),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_code')
    )
    with op.batch_alter_table('adjudication_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adjudication_tasks_adjudicator_id'), ['adjudicator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_adjudication_tasks_scan_id'), ['scan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('adjudication_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_adjudication_tasks_scan_id'))
        batch_op.drop_index(batch_op.f('ix_adjudication_tasks_adjudicator_id'))

    op.drop_table('adjudication_tasks')
    with op.batch_alter_table('reads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reads_task_id'))
        batch_op.drop_index(batch_op.f('ix_reads_scan_id'))

    op.drop_table('reads')
    with op.batch_alter_table('read_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_read_tasks_scan_id'))
        batch_op.drop_index(batch_op.f('ix_read_tasks_reader_id'))

    op.drop_table('read_tasks')
    op.drop_table('scans')
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visits_subject_id'))

    op.drop_table('visits')
    op.drop_table('randomization')
    op.drop_table('unblindings')
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subjects_trial_id'))

    op.drop_table('subjects')
    op.drop_table('database_locks')
    op.drop_table('users')
    op.drop_table('trials')
    op.drop_table('mask_blobs')
    op.drop_table('audit_events')
