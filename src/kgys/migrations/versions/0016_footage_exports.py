"""footage exports: several cameras over one range, built by the jobs worker

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

``footage_exports``: who asked for which cameras over which range and why, the state (queued, running, done,
failed, expired), progress, the claim counter and heartbeat of the worker building it, the zip's size and hash,
a failure's code and parameters, and when it was asked for, started, finished and expires.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('footage_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_by_name', sa.String(length=64), nullable=False),
    sa.Column('cameras', sa.JSON(), nullable=False),
    sa.Column('start', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('error_params', sa.JSON(), nullable=True),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_footage_exports_requested_by_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_footage_exports'))
    )
    with op.batch_alter_table('footage_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_footage_exports_requested_by'), ['requested_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_footage_exports_state'), ['state'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('footage_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_footage_exports_state'))
        batch_op.drop_index(batch_op.f('ix_footage_exports_requested_by'))

    op.drop_table('footage_exports')
