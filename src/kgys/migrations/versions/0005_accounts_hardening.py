"""accounts hardening

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-06

TOTP secrets are sealed with the installation's key (room for the sealed form, and the clear-text secrets
already stored are sealed here); the newest accepted TOTP step (no replay); a per-user credentials
version that ends viewing tickets when the user's sign-ins are revoked.

Sealing needs the key: ``kgys.migrate.upgrade`` hands the runtime's box in as ``secret_box``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from kgys.secretbox import PREFIX

revision: str = '0005'
down_revision: str | None = '0006'  # after the audit checkpoint chain, which shipped first
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

users = sa.table('users', sa.column('id', sa.Integer()), sa.column('totp_secret', sa.String()))


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('credentials_version', sa.Integer(), server_default='0', nullable=False))
    conn = op.get_bind()
    clear = [(i, s) for i, s in conn.execute(sa.select(users.c.id, users.c.totp_secret).where(
        users.c.totp_secret.is_not(None))) if not str(s).startswith(PREFIX)]
    if not clear:
        return
    box = context.config.attributes.get('secret_box')
    if box is None:
        raise RuntimeError('sealing the stored TOTP secrets needs the credentials key; run `kgys db upgrade`')
    for user_id, secret in clear:
        conn.execute(users.update().where(users.c.id == user_id).values(totp_secret=box.seal_text(str(secret))))


def downgrade() -> None:
    """Revert (the sealed TOTP secrets are opened again)."""
    conn = op.get_bind()
    box = context.config.attributes.get('secret_box')
    sealed = [(i, s) for i, s in conn.execute(sa.select(users.c.id, users.c.totp_secret).where(
        users.c.totp_secret.is_not(None))) if str(s).startswith(PREFIX)]
    for user_id, secret in sealed:
        if box is None:
            raise RuntimeError('opening the sealed TOTP secrets needs the credentials key')
        conn.execute(users.update().where(users.c.id == user_id).values(totp_secret=box.open_text(str(secret))))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('credentials_version')
        batch_op.drop_column('totp_last_step')
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=True)
