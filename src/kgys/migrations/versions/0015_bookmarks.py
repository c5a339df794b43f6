"""bookmarks on recordings

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

``bookmarks``: a moment or a stretch of a camera's recording marked with a note by the user who made it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('bookmarks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_bookmarks_camera_id_cameras'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_bookmarks_created_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookmarks'))
    )
    with op.batch_alter_table('bookmarks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookmarks_camera_id'), ['camera_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookmarks_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookmarks_start'), ['start'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('bookmarks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bookmarks_start'))
        batch_op.drop_index(batch_op.f('ix_bookmarks_created_by'))
        batch_op.drop_index(batch_op.f('ix_bookmarks_camera_id'))

    op.drop_table('bookmarks')
