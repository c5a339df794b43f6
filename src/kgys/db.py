"""Engine and session factories, and the declarative base shared by every domain's models."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVarTuple

from sqlalchemy import DateTime, Engine, MetaData, Result, Select, TypeDecorator, create_engine, event, func, select
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from kgys.config import Settings
from kgys.secretbox import private_dir

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; every table of every domain hangs off this metadata."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC datetime is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


Ts = TypeVarTuple("Ts")


def page_of(session: Session, stmt: Select[*Ts], *, page: int,
            per_page: int) -> tuple[Result[*Ts], int]:
    """One page of an ordered query (page from 1) and how many rows the whole query has."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return session.execute(stmt.offset((page - 1) * per_page).limit(per_page)), int(total)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin, so savepoints work.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


IMMEDIATE = "kgys_sqlite_immediate"


def _sqlite_begin(conn: Any) -> None:
    # With IMMEDIATE a transaction takes the write lock at its start, so one that reads and then writes waits
    # for another writer (busy_timeout) instead of failing with "database is locked" on a stale snapshot.
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing; either way leave it readable and writable by its owner only (0600).

    SQLite gives its -wal and -shm files the mode of the database file, so they are private too.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if side.exists() and side.stat().st_mode & 0o077:
            side.chmod(0o600)


def make_engine(settings: Settings, url: str | None = None) -> Engine:
    """Create the engine for the configured database (SQLite WAL by default).

    The data directory is made private to the service's user (0700) and the SQLite file 0600.
    """
    db_url = url or settings.database_url
    private_dir(settings.data_dir)
    if db_url.startswith("sqlite"):
        file = make_url(db_url).database
        if file and file != ":memory:" and not file.startswith("file:"):
            private_dir(Path(file).parent)
            private_file(Path(file))
        engine = create_engine(db_url, echo=settings.database.echo, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        db_url,
        echo=settings.database.echo,
        pool_size=settings.database.pool_size,
        pool_pre_ping=True,
    )


def writer_engine(engine: Engine) -> Engine:
    """The engine for units of work that may write: on SQLite their transactions begin IMMEDIATE."""
    return engine.execution_options(**{IMMEDIATE: True}) if engine.dialect.name == "sqlite" else engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; sessions never expire objects on commit."""
    return sessionmaker(bind=writer_engine(engine), expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
