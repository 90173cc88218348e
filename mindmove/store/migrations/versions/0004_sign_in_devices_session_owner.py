"""known browsers for sign-in, the process that owns a session, sessions that recorded
nothing; interrupted sessions that ended before they started are repaired

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 16:00:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('known_devices',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'device_hash')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_pid', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('owner_start_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('recorded_nothing', sa.Boolean(), nullable=True))
        batch_op.drop_index('ix_sessions_patient_started')
        batch_op.create_index('ix_sessions_patient_started_data', ['patient_id', 'started_at', 'recorded_nothing'],
                              unique=False)
    # Closed sessions already in the store: did they record anything?
    op.execute("UPDATE sessions SET recorded_nothing = NOT ("
               "EXISTS (SELECT 1 FROM samples WHERE samples.session_id = sessions.id) "
               "OR EXISTS (SELECT 1 FROM session_metrics WHERE session_metrics.session_id = sessions.id) "
               "OR EXISTS (SELECT 1 FROM gait_results WHERE gait_results.session_id = sessions.id) "
               "OR EXISTS (SELECT 1 FROM breath_results WHERE breath_results.session_id = sessions.id)) "
               "WHERE status <> 'running'")
    # An interrupted session was given its last write as its end, which could fall a moment
    # before its start (the two clocks were read separately): it ends when it started.
    op.execute("UPDATE sessions SET ended_at = started_at WHERE ended_at < started_at")


def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_patient_started_data')
        batch_op.create_index('ix_sessions_patient_started', ['patient_id', 'started_at'], unique=False)
        batch_op.drop_column('recorded_nothing')
        batch_op.drop_column('owner_start_s')
        batch_op.drop_column('owner_pid')
    op.drop_table('known_devices')
