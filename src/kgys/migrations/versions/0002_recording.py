"""recording

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

Segments, quarantine, gaps, camera health, recording alerts, legal holds, destruction records and
per-site retention policies.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('destructions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destructions'))
    )
    op.create_index(op.f('ix_destructions_at'), 'destructions', ['at'], unique=False)
    op.create_index(op.f('ix_destructions_camera_id'), 'destructions', ['camera_id'], unique=False)
    op.create_index(op.f('ix_destructions_site_id'), 'destructions', ['site_id'], unique=False)
    op.create_table('retention_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('min_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_retention_policies_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_policies')),
    sa.UniqueConstraint('site_id', name=op.f('uq_retention_policies_site_id'))
    )
    op.create_table('camera_health',
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('codec', sa.String(length=16), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('fps', sa.Float(), nullable=True),
    sa.Column('bitrate_kbps', sa.Float(), nullable=True),
    sa.Column('keyframe_interval', sa.Float(), nullable=True),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_segment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('restarts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_camera_health_camera_id_cameras'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('camera_id', name=op.f('pk_camera_health'))
    )
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_legal_holds_camera_id_cameras')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_legal_holds_created_by_id_users')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_legal_holds_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    op.create_index('ix_legal_holds_camera_start', 'legal_holds', ['camera_id', 'start'], unique=False)
    op.create_index(op.f('ix_legal_holds_site_id'), 'legal_holds', ['site_id'], unique=False)
    op.create_table('recording_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_recording_alerts_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_recording_alerts_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_alerts'))
    )
    op.create_index(op.f('ix_recording_alerts_camera_id'), 'recording_alerts', ['camera_id'], unique=False)
    op.create_index(op.f('ix_recording_alerts_created_at'), 'recording_alerts', ['created_at'], unique=False)
    op.create_index(op.f('ix_recording_alerts_kind'), 'recording_alerts', ['kind'], unique=False)
    op.create_index(op.f('ix_recording_alerts_site_id'), 'recording_alerts', ['site_id'], unique=False)
    op.create_table('recording_gaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cause', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_recording_gaps_camera_id_cameras'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_recording_gaps_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_gaps'))
    )
    op.create_index('ix_recording_gaps_camera_start', 'recording_gaps', ['camera_id', 'start'], unique=False)
    op.create_index(op.f('ix_recording_gaps_site_id'), 'recording_gaps', ['site_id'], unique=False)
    op.create_table('recording_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_recording_quarantine_camera_id_cameras')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_recording_quarantine_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_quarantine'))
    )
    op.create_index(op.f('ix_recording_quarantine_camera_id'), 'recording_quarantine', ['camera_id'], unique=False)
    op.create_index(op.f('ix_recording_quarantine_detected_at'), 'recording_quarantine', ['detected_at'], unique=False)
    op.create_index(op.f('ix_recording_quarantine_site_id'), 'recording_quarantine', ['site_id'], unique=False)
    op.create_table('recording_segments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('prev_sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('codec', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_recording_segments_camera_id_cameras')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_recording_segments_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording_segments')),
    sa.UniqueConstraint('camera_id', 'start', name=op.f('uq_recording_segments_camera_id')),
    sa.UniqueConstraint('path', name=op.f('uq_recording_segments_path'))
    )
    op.create_index('ix_recording_segments_camera_end', 'recording_segments', ['camera_id', 'end'], unique=False)
    op.create_index(op.f('ix_recording_segments_site_id'), 'recording_segments', ['site_id'], unique=False)
    op.create_index(op.f('ix_recording_segments_start'), 'recording_segments', ['start'], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f('ix_recording_segments_start'), table_name='recording_segments')
    op.drop_index(op.f('ix_recording_segments_site_id'), table_name='recording_segments')
    op.drop_index('ix_recording_segments_camera_end', table_name='recording_segments')
    op.drop_table('recording_segments')
    op.drop_index(op.f('ix_recording_quarantine_site_id'), table_name='recording_quarantine')
    op.drop_index(op.f('ix_recording_quarantine_detected_at'), table_name='recording_quarantine')
    op.drop_index(op.f('ix_recording_quarantine_camera_id'), table_name='recording_quarantine')
    op.drop_table('recording_quarantine')
    op.drop_index(op.f('ix_recording_gaps_site_id'), table_name='recording_gaps')
    op.drop_index('ix_recording_gaps_camera_start', table_name='recording_gaps')
    op.drop_table('recording_gaps')
    op.drop_index(op.f('ix_recording_alerts_site_id'), table_name='recording_alerts')
    op.drop_index(op.f('ix_recording_alerts_kind'), table_name='recording_alerts')
    op.drop_index(op.f('ix_recording_alerts_created_at'), table_name='recording_alerts')
    op.drop_index(op.f('ix_recording_alerts_camera_id'), table_name='recording_alerts')
    op.drop_table('recording_alerts')
    op.drop_index(op.f('ix_legal_holds_site_id'), table_name='legal_holds')
    op.drop_index('ix_legal_holds_camera_start', table_name='legal_holds')
    op.drop_table('legal_holds')
    op.drop_table('camera_health')
    op.drop_table('retention_policies')
    op.drop_index(op.f('ix_destructions_site_id'), table_name='destructions')
    op.drop_index(op.f('ix_destructions_camera_id'), table_name='destructions')
    op.drop_index(op.f('ix_destructions_at'), table_name='destructions')
    op.drop_table('destructions')
