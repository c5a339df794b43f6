"""destructions pending

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21

Footage deleted by retention that no destruction record covers yet; sealed into destruction records about
once an hour per camera.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('destructions_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destructions_pending'))
    )
    op.create_index(op.f('ix_destructions_pending_camera_id'), 'destructions_pending', ['camera_id'], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f('ix_destructions_pending_camera_id'), table_name='destructions_pending')
    op.drop_table('destructions_pending')
