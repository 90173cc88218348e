"""home programmes, patient devices and invitations, session location

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 15:26:05.425614
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('home_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('days_per_week', sa.Integer(), nullable=False),
    sa.Column('breathing_sessions_per_day', sa.Integer(), nullable=False),
    sa.Column('breathing_minutes', sa.Float(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('patient_id', 'version')
    )
    with op.batch_alter_table('home_programmes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_programmes_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=160), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('patient_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_devices_patient_id'), ['patient_id'], unique=False)

    op.create_table('home_programme_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('exercise', sa.String(length=80), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=True),
    sa.Column('sets', sa.Integer(), nullable=False),
    sa.Column('repetitions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['programme_id'], ['home_programmes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('home_programme_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_home_programme_items_programme_id'), ['programme_id'], unique=False)

    op.create_table('patient_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=160), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['patient_devices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_invitations_patient_id'), ['patient_id'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location', sa.String(length=10), server_default='clinic', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_column('location')

    with op.batch_alter_table('patient_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_invitations_patient_id'))

    op.drop_table('patient_invitations')
    with op.batch_alter_table('home_programme_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_programme_items_programme_id'))

    op.drop_table('home_programme_items')
    with op.batch_alter_table('patient_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_devices_patient_id'))

    op.drop_table('patient_devices')
    with op.batch_alter_table('home_programmes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_home_programmes_patient_id'))

    op.drop_table('home_programmes')
