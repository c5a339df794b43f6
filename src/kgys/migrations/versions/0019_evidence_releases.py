"""evidence releases: the options, state and package of each release, its clips and one-time download links

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08

``evidence_releases`` gains the recipient's organisation, the options (faces redacted, a watermark, the original
segments included), the state the jobs worker moves it through with its progress, claim counter and heartbeat, the
reviewer, the package's hash, size and expiry, the download and the hand-over receipt.
``evidence_release_clips``: each clip cut for a release, with its segments, hash, detections and the reviewer's
edits. ``evidence_release_links``: one-time download links (the token's SHA-256 only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHEN = kgys.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table('evidence_releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_org', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('redact', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('watermark', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('include_segments', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=False, server_default='queued'))
        batch_op.add_column(sa.Column('progress', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('attempt', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('heartbeat_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('finished_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('error_params', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('package_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('package_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('downloaded_at', WHEN, nullable=True))
        batch_op.add_column(sa.Column('downloaded_by_name', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('receipt', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_releases_state'), ['state'], unique=False)

    op.create_table('evidence_release_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', WHEN, nullable=False),
    sa.Column('end', WHEN, nullable=False),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('detections_sha256', sa.String(length=64), nullable=True),
    sa.Column('faces', sa.Integer(), nullable=False),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('edits', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_evidence_release_clips_camera_id_cameras')),
    sa.ForeignKeyConstraint(['release_id'], ['evidence_releases.id'], name=op.f('fk_evidence_release_clips_release_id_evidence_releases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_evidence_release_clips_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_release_clips')),
    sa.UniqueConstraint('release_id', 'position', name=op.f('uq_evidence_release_clips_release_id'))
    )
    with op.batch_alter_table('evidence_release_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_release_clips_release_id'), ['release_id'], unique=False)

    op.create_table('evidence_release_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('expires_at', WHEN, nullable=False),
    sa.Column('used_at', WHEN, nullable=True),
    sa.Column('used_by_name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['evidence_releases.id'], name=op.f('fk_evidence_release_links_release_id_evidence_releases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_release_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_evidence_release_links_token_sha256'))
    )
    with op.batch_alter_table('evidence_release_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_release_links_release_id'), ['release_id'], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('evidence_release_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_release_links_release_id'))
    op.drop_table('evidence_release_links')
    with op.batch_alter_table('evidence_release_clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_release_clips_release_id'))
    op.drop_table('evidence_release_clips')
    with op.batch_alter_table('evidence_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_releases_state'))
        for name in ('receipt', 'downloaded_by_name', 'downloaded_at', 'expires_at', 'package_bytes',
                     'package_sha256', 'reviewed_at', 'reviewed_by_name', 'error_params', 'error_code',
                     'finished_at', 'heartbeat_at', 'attempt', 'progress', 'state', 'include_segments',
                     'watermark', 'redact', 'recipient_org'):
            batch_op.drop_column(name)
