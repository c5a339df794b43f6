"""floor plans of sites, and the outbox of messages to a site's devices (lockdown orders)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

``site_floor_plans``: the floor plan images of a site (the image itself lies in the data folder under its
SHA-256). ``device_downlinks``: lockdown orders and their ends, written with what decided them and published by
the intake at QoS 1, marked sent once the broker has them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('site_floor_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_floor_plans_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site_floor_plans'))
    )
    with op.batch_alter_table('site_floor_plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_site_floor_plans_site_id'), ['site_id'], unique=False)

    op.create_table('device_downlinks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('sent_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_device_downlinks_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_device_downlinks_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_downlinks'))
    )
    with op.batch_alter_table('device_downlinks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_downlinks_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_downlinks_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_device_downlinks_site_id'), ['site_id'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('device_downlinks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_downlinks_site_id'))
        batch_op.drop_index(batch_op.f('ix_device_downlinks_sent_at'))
        batch_op.drop_index(batch_op.f('ix_device_downlinks_created_at'))

    op.drop_table('device_downlinks')
    with op.batch_alter_table('site_floor_plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_site_floor_plans_site_id'))

    op.drop_table('site_floor_plans')
