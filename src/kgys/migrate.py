"""Schema migrations: ``upgrade`` brings any database to the newest revision."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from kgys.secretbox import SecretBox

log = logging.getLogger(__name__)

# Indexes that migrations create on PostgreSQL only (operator classes, expressions); the models do not
# describe them, so schema comparison leaves them alone.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_sites_path_prefix", "ix_sites_name_lower", "ix_sites_search_trgm"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Schema comparison filter: skip the PostgreSQL-only indexes listed above."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at kgys's migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, box: SecretBox | None = None) -> None:
    """Apply every migration up to ``revision``; ``box`` seals stored secrets where a migration must
    (0005 seals the TOTP secrets stored in clear before it)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        cfg.attributes["secret_box"] = box
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None when empty."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(engine: Engine) -> str | None:
    """The newest revision shipped."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision against ``engine`` (developers only)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)
