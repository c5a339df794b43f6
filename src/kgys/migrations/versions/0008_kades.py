"""protected persons' panic alerts (KADES)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Protection orders, the phones registered against them, and the app messages already taken (so that a message
the app sends again is stored once).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kgys.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table('protection_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('court', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('person_name', sa.String(length=160), nullable=False),
    sa.Column('person_phone', sa.String(length=40), nullable=False),
    sa.Column('aggressor', sa.Text(), nullable=False),
    sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
    sa.Column('jurisdiction_path', sa.String(length=400), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], name=op.f('fk_protection_orders_jurisdiction_id_jurisdictions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protection_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_protection_orders_number'))
    )
    with op.batch_alter_table('protection_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_protection_orders_jurisdiction_id'), ['jurisdiction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_protection_orders_jurisdiction_path'), ['jurisdiction_path'], unique=False)

    op.create_table('kades_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('registered_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', kgys.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_latitude', sa.Float(), nullable=True),
    sa.Column('last_longitude', sa.Float(), nullable=True),
    sa.Column('battery', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['protection_orders.id'], name=op.f('fk_kades_phones_order_id_protection_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kades_phones')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_kades_phones_token_hash'))
    )
    with op.batch_alter_table('kades_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kades_phones_order_id'), ['order_id'], unique=False)

    op.create_table('kades_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_id', sa.Integer(), nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('received_at', kgys.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['phone_id'], ['kades_phones.id'], name=op.f('fk_kades_messages_phone_id_kades_phones'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kades_messages')),
    sa.UniqueConstraint('phone_id', 'msg_id', name=op.f('uq_kades_messages_phone_id'))
    )
    with op.batch_alter_table('kades_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kades_messages_received_at'), ['received_at'], unique=False)



def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('kades_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kades_messages_received_at'))

    op.drop_table('kades_messages')
    with op.batch_alter_table('kades_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kades_phones_order_id'))

    op.drop_table('kades_phones')
    with op.batch_alter_table('protection_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_protection_orders_jurisdiction_path'))
        batch_op.drop_index(batch_op.f('ix_protection_orders_jurisdiction_id'))

    op.drop_table('protection_orders')
