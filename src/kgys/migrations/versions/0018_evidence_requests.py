"""evidence requests: footage asked for under judicial authority, the decision, the second approval, releases

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

``footage_requests``: the investigation number, requesting unit, purpose, requester, state, when its provisional
holds lapse, and a version for conditional updates. ``evidence_scope_items``: each camera × range asked for or
granted, with the legal hold keeping it. ``evidence_decisions``: the authority, number, date, outcome, validity,
a refusal's reason and the scanned decision's hash, size and type. ``evidence_approvals``: the second person's
answer. ``evidence_releases``: what was released to whom, under which approval.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('footage_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('investigation_no', sa.String(length=64), nullable=False),
    sa.Column('requesting_unit', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_by_name', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('hold_until', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_footage_requests_requested_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_footage_requests'))
    )
    with op.batch_alter_table('footage_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_footage_requests_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_footage_requests_investigation_no'), ['investigation_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_footage_requests_requested_by'), ['requested_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_footage_requests_requesting_unit'), ['requesting_unit'], unique=False)
        batch_op.create_index(batch_op.f('ix_footage_requests_state'), ['state'], unique=False)

    op.create_table('evidence_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('authority_kind', sa.String(length=16), nullable=False),
    sa.Column('authority_name', sa.String(length=200), nullable=False),
    sa.Column('decision_no', sa.String(length=64), nullable=False),
    sa.Column('provision', sa.String(length=64), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('valid_until', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('document_size', sa.Integer(), nullable=False),
    sa.Column('document_type', sa.String(length=32), nullable=False),
    sa.Column('document_name', sa.String(length=200), nullable=False),
    sa.Column('recorded_by', sa.Integer(), nullable=False),
    sa.Column('recorded_by_name', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by'], ['users.id'], name=op.f('fk_evidence_decisions_recorded_by_users')),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], name=op.f('fk_evidence_decisions_request_id_footage_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_decisions')),
    sa.UniqueConstraint('request_id', name=op.f('uq_evidence_decisions_request_id'))
    )
    op.create_table('evidence_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=False),
    sa.Column('approver_name', sa.String(length=64), nullable=False),
    sa.Column('at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_evidence_approvals_approver_id_users')),
    sa.ForeignKeyConstraint(['decision_id'], ['evidence_decisions.id'], name=op.f('fk_evidence_approvals_decision_id_evidence_decisions')),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], name=op.f('fk_evidence_approvals_request_id_footage_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_approvals')),
    sa.UniqueConstraint('request_id', name=op.f('uq_evidence_approvals_request_id'))
    )
    op.create_table('evidence_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('approved_by_name', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_by_name', sa.String(length=64), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['evidence_approvals.id'], name=op.f('fk_evidence_releases_approval_id_evidence_approvals')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_evidence_releases_created_by_users')),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], name=op.f('fk_evidence_releases_request_id_footage_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_releases'))
    )
    with op.batch_alter_table('evidence_releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_releases_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_releases_request_id'), ['request_id'], unique=False)

    op.create_table('evidence_scope_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('camera_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('start', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['camera_id'], ['cameras.id'], name=op.f('fk_evidence_scope_items_camera_id_cameras')),
    sa.ForeignKeyConstraint(['hold_id'], ['legal_holds.id'], name=op.f('fk_evidence_scope_items_hold_id_legal_holds')),
    sa.ForeignKeyConstraint(['request_id'], ['footage_requests.id'], name=op.f('fk_evidence_scope_items_request_id_footage_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_evidence_scope_items_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_scope_items'))
    )
    with op.batch_alter_table('evidence_scope_items', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_scope_items_camera_start', ['camera_id', 'start'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_scope_items_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_scope_items_site_id'), ['site_id'], unique=False)



def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('evidence_scope_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_scope_items_site_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_scope_items_request_id'))
        batch_op.drop_index('ix_evidence_scope_items_camera_start')

    op.drop_table('evidence_scope_items')
    with op.batch_alter_table('evidence_releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_releases_request_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_releases_created_at'))

    op.drop_table('evidence_releases')
    op.drop_table('evidence_approvals')
    op.drop_table('evidence_decisions')
    with op.batch_alter_table('footage_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_footage_requests_state'))
        batch_op.drop_index(batch_op.f('ix_footage_requests_requesting_unit'))
        batch_op.drop_index(batch_op.f('ix_footage_requests_requested_by'))
        batch_op.drop_index(batch_op.f('ix_footage_requests_investigation_no'))
        batch_op.drop_index(batch_op.f('ix_footage_requests_created_at'))

    op.drop_table('footage_requests')
