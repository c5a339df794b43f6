"""users choose their time zone

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

``users.time_zone``: the IANA zone the user reads and types times in; empty (NULL) for the installation's
``web.time_zone``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table('users') as batch:
        batch.drop_column('time_zone')
