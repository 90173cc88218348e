"""sign-in throttle, audit client, session index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 18:59:25.522216
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=220), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client', sa.String(length=120), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_audit_log_patient_code'), ['patient_code'], unique=False)

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_patient_started', ['patient_id', 'started_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_patient_started')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_patient_code'))
        batch_op.drop_column('client')

    op.drop_table('login_throttle')

