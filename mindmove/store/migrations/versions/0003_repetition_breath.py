"""breath coordination per repetition

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:10:00.000000
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breath_coordinated', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('inhale_overlap_pct', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('exhale_overlap_pct', sa.Float(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table('repetitions', schema=None) as batch_op:
        batch_op.drop_column('exhale_overlap_pct')
        batch_op.drop_column('inhale_overlap_pct')
        batch_op.drop_column('breath_coordinated')
