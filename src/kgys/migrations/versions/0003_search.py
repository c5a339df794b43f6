"""search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

A stored search form of each site (name, code and address folded for Turkish), filled for existing
sites; on PostgreSQL a trigram index on it when the pg_trgm extension is available. An index in the
registry's list order (priority, name, id).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)


_FOLD = (("İ", "i"), ("I", "i"), ("ı", "i"), ("Ç", "ç"), ("Ğ", "ğ"), ("Ö", "ö"), ("Ş", "ş"), ("Ü", "ü"))


def _fold(text: str) -> str:
    for upper, lower in _FOLD:
        text = text.replace(upper, lower)
    return text.lower()


def search_text(name: str | None, code: str | None, address: str | None) -> str:
    """The search form as kgys.sites.service computed it when this revision was written."""
    return "\n".join(_fold(v or "") for v in (name, code, address))


def _fill(conn: sa.Connection) -> None:
    sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("code", sa.String),
                     sa.column("name", sa.String), sa.column("address", sa.String),
                     sa.column("search_text", sa.Text))
    rows = conn.execute(sa.select(sites.c.id, sites.c.name, sites.c.code, sites.c.address)).all()
    values = [{"key": r.id, "text": search_text(r.name, r.code, r.address)} for r in rows]
    for start in range(0, len(values), 5000):
        conn.execute(sites.update().where(sites.c.id == sa.bindparam("key"))
                     .values(search_text=sa.bindparam("text")), values[start:start + 5000])


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))
        batch_op.create_index('ix_sites_priority_name_id', ['priority', 'name', 'id'], unique=False)
    conn = op.get_bind()
    _fill(conn)
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin_nested():
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        except sa.exc.DBAPIError:
            log.warning("pg_trgm is not available; site search runs without a trigram index")
            return
        op.execute("CREATE INDEX ix_sites_search_trgm ON sites USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    """Revert."""
    op.execute("DROP INDEX IF EXISTS ix_sites_search_trgm")
    with op.batch_alter_table('sites', schema=None) as batch_op:
        batch_op.drop_index('ix_sites_priority_name_id')
        batch_op.drop_column('search_text')
