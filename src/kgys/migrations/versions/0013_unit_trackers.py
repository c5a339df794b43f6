"""trackers of units: their broker logins, and the outbox of messages to them (assignments)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``unit_trackers``: a unit's tracker login on the MQTT broker (a hash of its password, enabled or revoked).
``unit_downlinks``: assignments (and their cancellations) for a unit's tracker, written with the assignment and
published by the intake at QoS 1, marked sent once the broker has them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('unit_trackers',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('issued_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_trackers_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_unit_trackers')),
    sa.UniqueConstraint('username', name=op.f('uq_unit_trackers_username'))
    )
    op.create_table('unit_downlinks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_unit_downlinks_assignment_id_assignments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_downlinks_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_downlinks'))
    )
    with op.batch_alter_table('unit_downlinks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_downlinks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_downlinks_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_downlinks_unit_id'), ['unit_id'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('unit_downlinks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_downlinks_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_downlinks_sent_at'))
        batch_op.drop_index(batch_op.f('ix_unit_downlinks_created_at'))

    op.drop_table('unit_downlinks')
    op.drop_table('unit_trackers')
