"""dispatch: units, their positions and status history, incidents made of alerts, assignments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_sign', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('station', sa.String(length=120), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_path', sa.String(length=400), nullable=False),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('members', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_since', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('field_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['field_user_id'], ['users.id'], name=op.f('fk_units_field_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_units_jurisdiction_id_jurisdictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('call_sign', name=op.f('uq_units_call_sign')),
    sa.UniqueConstraint('field_user_id', name=op.f('uq_units_field_user_id'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_units_jurisdiction_path'), ['jurisdiction_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_units_status'), ['status'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('scope_path', sa.String(length=400), nullable=False),
    sa.Column('capabilities', sa.JSON(), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('reported_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_incidents_site_id_sites'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('number', name=op.f('uq_incidents_number'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_scope_path'), ['scope_path'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_state'), ['state'], unique=False)

    op.create_table('unit_positions',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('reported_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_positions_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_unit_positions'))
    )
    with op.batch_alter_table('unit_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_positions_reported_at'), ['reported_at'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('active_unit_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('assigned_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=64), nullable=False),
    sa.Column('acknowledged_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('en_route_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('on_scene_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_assignments_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assignments_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('active_unit_id', name=op.f('uq_assignments_active_unit_id'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_unit_id'), ['unit_id'], unique=False)

    op.create_table('incident_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_entries_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_entries'))
    )
    with op.batch_alter_table('incident_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_entries_incident_id'), ['incident_id'], unique=False)

    op.create_table('unit_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('by', sa.String(length=80), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_unit_status_changes_assignment_id_assignments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_status_changes_unit_id_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_unit_status_changes_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_status_changes'))
    )
    with op.batch_alter_table('unit_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_status_changes_unit_id'), ['unit_id'], unique=False)

    op.create_table('incident_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('open_alert_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_incident_alerts_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_alerts_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_alerts')),
    sa.UniqueConstraint('incident_id', 'alert_id', name=op.f('uq_incident_alerts_incident_id')),
    sa.UniqueConstraint('open_alert_id', name=op.f('uq_incident_alerts_open_alert_id'))
    )
    with op.batch_alter_table('incident_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_alerts_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_alerts_incident_id'), ['incident_id'], unique=False)



def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('incident_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_alerts_incident_id'))
        batch_op.drop_index(batch_op.f('ix_incident_alerts_alert_id'))

    op.drop_table('incident_alerts')
    with op.batch_alter_table('unit_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_status_changes_unit_id'))

    op.drop_table('unit_status_changes')
    with op.batch_alter_table('incident_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_entries_incident_id'))

    op.drop_table('incident_entries')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_unit_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_state'))
        batch_op.drop_index(batch_op.f('ix_assignments_incident_id'))

    op.drop_table('assignments')
    with op.batch_alter_table('unit_positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_positions_reported_at'))

    op.drop_table('unit_positions')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_state'))
        batch_op.drop_index(batch_op.f('ix_incidents_site_id'))
        batch_op.drop_index(batch_op.f('ix_incidents_scope_path'))
        batch_op.drop_index(batch_op.f('ix_incidents_created_at'))

    op.drop_table('incidents')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_status'))
        batch_op.drop_index(batch_op.f('ix_units_jurisdiction_path'))
        batch_op.drop_index(batch_op.f('ix_units_jurisdiction_id'))

    op.drop_table('units')
