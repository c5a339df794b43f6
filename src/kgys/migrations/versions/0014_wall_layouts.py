"""video wall layouts: saved per user, shared per role

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``wall_layouts``: a named grid of rows × columns with its tiles (cell rectangles and the camera each shows),
owned by a user and optionally shared with every user of one role; versioned for concurrent edits.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('wall_layouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('shared_role', sa.String(length=32), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('cols', sa.Integer(), nullable=False),
    sa.Column('tiles', sa.JSON(), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_wall_layouts_owner_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wall_layouts'))
    )
    with op.batch_alter_table('wall_layouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wall_layouts_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wall_layouts_shared_role'), ['shared_role'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('wall_layouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wall_layouts_shared_role'))
        batch_op.drop_index(batch_op.f('ix_wall_layouts_owner_id'))

    op.drop_table('wall_layouts')
