"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 18:59:20.875508
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('patient_code', sa.String(length=64), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('camera_setups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('metres_per_pixel', sa.Float(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('care_teams',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=160), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('care_team_members',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['care_teams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id')
    )
    op.create_table('patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=160), nullable=False),
    sa.Column('care_team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['care_team_id'], ['care_teams.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('profile_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('patient_id', 'version')
    )
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_profile_versions_patient_id'), ['patient_id'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('exercise', sa.String(length=80), nullable=True),
    sa.Column('profile_version_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_write_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('station', sa.String(length=120), nullable=False),
    sa.Column('active_s', sa.Float(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_version_id'], ['profile_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sessions_started_at'), ['started_at'], unique=False)

    op.create_table('breath_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('breaths', sa.Integer(), nullable=False),
    sa.Column('rate_bpm', sa.Float(), nullable=True),
    sa.Column('resting_rate_bpm', sa.Float(), nullable=True),
    sa.Column('ie_ratio', sa.Float(), nullable=True),
    sa.Column('pacer_target_bpm', sa.Float(), nullable=True),
    sa.Column('pacer_agreement_pct', sa.Float(), nullable=True),
    sa.Column('rate_difference_bpm', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('breath_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_breath_results_session_id'), ['session_id'], unique=False)

    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('pain', sa.Integer(), nullable=True),
    sa.Column('mood', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_id', 'phase')
    )
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkins_session_id'), ['session_id'], unique=False)

    op.create_table('cues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('t_s', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('message_key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('limit', sa.Float(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('cues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cues_session_id'), ['session_id'], unique=False)

    op.create_table('gait_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('strides', sa.Integer(), nullable=False),
    sa.Column('cadence_steps_per_min', sa.Float(), nullable=True),
    sa.Column('gait_speed_m_s', sa.Float(), nullable=True),
    sa.Column('step_time_symmetry', sa.Float(), nullable=True),
    sa.Column('stride_time_cv_pct', sa.Float(), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('gait_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gait_results_session_id'), ['session_id'], unique=False)

    op.create_table('repetitions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('index', sa.Integer(), nullable=False),
    sa.Column('angle_name', sa.String(length=80), nullable=False),
    sa.Column('t_start_s', sa.Float(), nullable=False),
    sa.Column('t_end_s', sa.Float(), nullable=False),
    sa.Column('peak_deg', sa.Float(), nullable=False),
    sa.Column('hold_s', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repetitions_session_id'), ['session_id'], unique=False)

    op.create_table('samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=80), nullable=False),
    sa.Column('t_s', sa.Float(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.create_index('ix_samples_session_channel_t', ['session_id', 'channel', 't_s'], unique=False)

    op.create_table('session_metrics',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('min_deg', sa.Float(), nullable=True),
    sa.Column('max_deg', sa.Float(), nullable=True),
    sa.Column('rom_deg', sa.Float(), nullable=True),
    sa.Column('safe_min_deg', sa.Float(), nullable=True),
    sa.Column('safe_max_deg', sa.Float(), nullable=True),
    sa.Column('time_in_range_pct', sa.Float(), nullable=True),
    sa.Column('range_exceeded', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('session_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_session_metrics_session_name', ['session_id', 'name'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('session_metrics', schema=None) as batch_op:
        batch_op.drop_index('ix_session_metrics_session_name')

    op.drop_table('session_metrics')
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.drop_index('ix_samples_session_channel_t')

    op.drop_table('samples')
    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repetitions_session_id'))

    op.drop_table('repetitions')
    with op.batch_alter_table('gait_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gait_results_session_id'))

    op.drop_table('gait_results')
    with op.batch_alter_table('cues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cues_session_id'))

    op.drop_table('cues')
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkins_session_id'))

    op.drop_table('checkins')
    with op.batch_alter_table('breath_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breath_results_session_id'))

    op.drop_table('breath_results')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_started_at'))
        batch_op.drop_index(batch_op.f('ix_sessions_patient_id'))

    op.drop_table('sessions')
    with op.batch_alter_table('profile_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_profile_versions_patient_id'))

    op.drop_table('profile_versions')
    op.drop_table('patients')
    op.drop_table('care_team_members')
    op.drop_table('users')
    op.drop_table('care_teams')
    op.drop_table('camera_setups')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')

