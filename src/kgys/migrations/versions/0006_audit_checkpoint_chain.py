"""audit checkpoint chain

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-06

Each signed checkpoint carries the hash of the checkpoint before it (``prev_checkpoint_hash``), and an
outbox holds the checkpoints still to be handed to the configured witnesses.

Checkpoints already in the database were signed without that hash; they keep an empty
``prev_checkpoint_hash`` (their signatures cannot be redone without the key, which a migration does not
hold). Verification accepts such unchained checkpoints only as the leading run, hashes them into the
checkpoint chain in order, and the first checkpoint signed after the upgrade seals that run.

The column is added with a plain ``ALTER TABLE … ADD COLUMN`` (no table copy on SQLite), so the
append-only triggers on ``audit_checkpoints`` stay in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.add_column('audit_checkpoints', sa.Column('prev_checkpoint_hash', sa.String(length=64), nullable=True))
    op.create_table('audit_witness_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('witness', sa.String(length=64), nullable=False),
    sa.Column('checkpoint_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_witness_outbox'))
    )
    op.create_index(op.f('ix_audit_witness_outbox_next_attempt_at'), 'audit_witness_outbox', ['next_attempt_at'],
                    unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f('ix_audit_witness_outbox_next_attempt_at'), table_name='audit_witness_outbox')
    op.drop_table('audit_witness_outbox')
    op.execute("ALTER TABLE audit_checkpoints DROP COLUMN prev_checkpoint_hash")  # keeps the triggers on SQLite
