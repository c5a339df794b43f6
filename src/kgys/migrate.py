"""Schema migrations: ``upgrade`` brings any database to the newest revision, one process at a time.

Only ``kgys db upgrade`` (and ``kgys serve`` / ``kgys demo`` at start) migrate. ``upgrade`` holds a lock for
the whole migration — PostgreSQL's transaction-level advisory lock, SQLite's write lock (``BEGIN IMMEDIATE``)
— so processes started at the same moment migrate once and in turn. Every other process calls
:func:`wait_for_schema`, which waits a bounded time for a migration under way and otherwise refuses with the
command to run.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from kgys.db import WRITE
from kgys.errors import ConfigurationError
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


MIGRATION_LOCK = 0x6B677973  # "kgys": PostgreSQL advisory lock key held while migrating


def upgrade(engine: Engine, revision: str = "head", *, box: SecretBox | None = None) -> None:
    """Apply every migration up to ``revision``, holding the migration lock (another migrator waits); ``box``
    seals stored secrets where a migration must (0005 seals the TOTP secrets stored in clear before it)."""
    cfg = alembic_config(engine)
    cfg.attributes["secret_box"] = box
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE, the write lock for the whole run
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)


def wait_for_schema(engine: Engine, *, timeout: float, poll: float = 0.5) -> None:
    """Return once the database is at the newest revision; wait up to ``timeout`` seconds for a migration under
    way, then refuse with the command to run. A database newer than this kgys is refused at once."""
    want = head(engine)
    known = {rev.revision for rev in ScriptDirectory.from_config(alembic_config(engine)).walk_revisions()}
    deadline = time.monotonic() + timeout
    while True:
        have = current(engine)
        if have == want:
            return
        if have is not None and have not in known:
            raise ConfigurationError(
                f"the database schema is at revision {have}, newer than this kgys ({want}); "
                "run the kgys version that upgraded it"
            )
        if time.monotonic() >= deadline:
            raise ConfigurationError(
                f"the database schema is at revision {have or '(empty)'} but this kgys needs {want}; "
                "run `kgys db upgrade` first"
            )
        log.info("waiting for the database schema to reach revision %s (at %s)", want, have or "(empty)")
        time.sleep(poll)


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
