"""Engine and session factories, units of work, and the declarative base shared by every domain's models.

A unit of work either reads (:func:`reading`) or may write (:func:`transaction`, and every session a
factory makes by default). On SQLite (WAL) readers never wait: their transactions begin DEFERRED. Writers
begin IMMEDIATE, one at a time behind a :class:`WriteGate` (the threads of a process on a lock, the processes on
a file lock). A wait that runs out — the gate, SQLite's lock, PostgreSQL's pool, a deadlock — surfaces as
:class:`~kgys.errors.Busy`, which the HTTP layer answers 503 with Retry-After and :func:`retrying` runs again.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    Result,
    Select,
    TypeDecorator,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, ORMExecuteState, Session, sessionmaker

from kgys.config import Settings
from kgys.errors import Busy
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, busy_ms: int) -> None:
    # Let SQLAlchemy, not the driver, decide where transactions begin, so savepoints work.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={busy_ms}")
    cur.close()


# A session's execution option that says whether its transaction may write. On SQLite a writing transaction
# begins IMMEDIATE (it takes the write lock at its start, so one that reads and then writes never fails on a
# stale snapshot) behind this process's write gate; a reading one begins DEFERRED and never waits.
WRITE = "kgys_write"
READ_ONLY = "kgys_read_only"
_GATE_KEY = "kgys_write_gate"


class WriteGate:
    """The writers of one SQLite file, one at a time: first among the threads of this process, then among the
    processes that write it.

    SQLite lets one connection write at a time; the others poll its lock with growing sleeps (up to 100 ms
    apart), so many writers waiting there are served in no order and can starve. The gate queues the threads of
    one process on a lock of its own, and the one at its head then takes an exclusive ``flock`` on a file next
    to the database (``<database>-writers``), which every kgys process that writes the file takes the same way
    (the workers of ``kgys serve``, the jobs worker, the recorder), polling it at most 2 ms apart. SQLite's own
    wait is left to writers that are not kgys. The kernel lets the file lock go when its process ends, so a
    process killed while writing blocks no one. A writer that cannot pass within ``timeout`` seconds gets
    :class:`~kgys.errors.Busy`.
    """

    POLL_SECONDS = (0.0005, 0.001, 0.002)

    def __init__(self, timeout: float, lock_file: Path | None = None) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self.fd: int | None = None
        if lock_file is not None:
            self.fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def enter(self) -> None:
        """Wait for the gate; Busy after the timeout."""
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise self._busy()
        if self.fd is None:
            return
        try:
            tries = 0
            while not self._try_file_lock(self.fd):
                if time.monotonic() >= deadline:
                    raise self._busy()
                time.sleep(self.POLL_SECONDS[min(tries, len(self.POLL_SECONDS) - 1)])
                tries += 1
        except BaseException:
            self._lock.release()
            raise

    def leave(self) -> None:
        """Let the next writer in."""
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._lock.release()

    @staticmethod
    def _try_file_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    @staticmethod
    def _busy() -> Busy:
        return Busy("the database is busy with other writes; try again shortly", retry_after=1)


_gates: weakref.WeakKeyDictionary[Engine, tuple[int, WriteGate]] = weakref.WeakKeyDictionary()
_gates_guard = threading.Lock()


def writers_lock_file(database: str | None) -> Path | None:
    """The file the writers of SQLite database ``database`` lock (None for an in-memory or URI database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database + "-writers")


def _gate_for(engine: Engine) -> WriteGate:
    # One per engine and process: a forked worker makes a gate (and a file description, which a flock belongs
    # to) of its own; two engines on one file exclude each other through the file lock.
    with _gates_guard:
        pid, gate = _gates.get(engine, (0, None))
        if gate is None or pid != os.getpid():
            gate = WriteGate(engine.dialect.kgys_busy_seconds,  # type: ignore[attr-defined]
                             writers_lock_file(engine.url.database))
            if gate.fd is not None:
                weakref.finalize(engine, os.close, gate.fd)
            _gates[engine] = (os.getpid(), gate)
        return gate


def _sqlite_begin(conn: Connection) -> None:
    if not conn.get_execution_options().get(WRITE, False):
        conn.exec_driver_sql("BEGIN")
        return
    gate = _gate_for(conn.engine)
    gate.enter()
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        gate.leave()
        raise
    conn.info[_GATE_KEY] = gate


def _sqlite_end(conn: Connection) -> None:
    gate = conn.info.pop(_GATE_KEY, None)
    if gate is not None:
        gate.leave()


def _sqlite_checkin(dbapi_conn: Any, record: Any) -> None:
    # A connection that goes back to the pool with its gate still taken (it was invalidated mid-transaction)
    # lets the gate go.
    gate = record.info.pop(_GATE_KEY, None)
    if gate is not None:
        gate.leave()


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is the database saying it is too busy now (a lock or pool wait ran out, a deadlock or
    serialization failure was resolved against us): the unit of work may be retried as a whole."""
    if isinstance(exc, Busy | PoolTimeout):
        return True
    if isinstance(exc, OperationalError | DBAPIError):
        orig = exc.orig
        code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None)
        return code in BUSY_CODES
    return False


# SQLite: locked and busy (the write lock or a stale snapshot). PostgreSQL: serialization failure, deadlock,
# lock not available, too many connections.
BUSY_CODES = frozenset({"SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_BUSY_TIMEOUT", "SQLITE_LOCKED",
                        "40001", "40P01", "55P03", "53300"})


def as_busy(exc: BaseException) -> Busy:
    """The :class:`~kgys.errors.Busy` that stands for a busy-database error."""
    busy = exc if isinstance(exc, Busy) else Busy("the database is busy; try again shortly", retry_after=1)
    return busy


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing; either way leave it readable and writable by its owner only (0600).

    SQLite gives its -wal and -shm files the mode of the database file, so they are private too; the writers'
    lock file (:class:`WriteGate`) is created 0600.
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

    The connection pool is as large as the server's worker threads plus the process's own background work, so
    that no thread waits on the pool while holding nothing; a wait that still runs out is :class:`Busy`. The
    data directory is made private to the service's user (0700) and the SQLite file 0600.
    """
    db_url = url or settings.database_url
    dbs = settings.database
    pool_size = max(dbs.pool_size, settings.web.threads + 4)
    private_dir(settings.data_dir)  # database, keys and recordings: the service user's only (0700)
    if db_url.startswith("sqlite"):
        file = make_url(db_url).database
        if file and file != ":memory:" and not file.startswith("file:"):
            private_dir(Path(file).parent)
            private_file(Path(file))
        engine = create_engine(db_url, echo=dbs.echo, connect_args={"timeout": dbs.busy_seconds},
                               pool_size=pool_size, max_overflow=dbs.max_overflow, pool_timeout=dbs.pool_timeout)
        engine.dialect.kgys_busy_seconds = dbs.busy_seconds  # type: ignore[attr-defined]
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=int(dbs.busy_seconds * 1000)))
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "commit", _sqlite_end)
        event.listen(engine, "rollback", _sqlite_end)
        event.listen(engine.pool, "checkin", _sqlite_checkin)
        return engine
    return create_engine(
        db_url,
        echo=dbs.echo,
        pool_size=pool_size,
        max_overflow=dbs.max_overflow,
        pool_timeout=dbs.pool_timeout,
        pool_pre_ping=True,
    )


def make_session_factory(engine: Engine | Connection, **kw: Any) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; sessions never expire objects on commit.

    Its sessions may write (on SQLite they begin IMMEDIATE behind the write gate); :func:`reading` gives one
    that only reads and never waits on a writer.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False, execution_options={WRITE: True}, **kw)
    _guard_reads(factory)
    return factory


def _guard_reads(factory: sessionmaker[Session]) -> None:
    if not event.contains(factory, "before_flush", _refuse_flush):
        event.listen(factory, "before_flush", _refuse_flush)
        event.listen(factory, "do_orm_execute", _refuse_dml)


class ReadOnlyTransaction(RuntimeError):
    """A write was attempted in a unit of work opened for reading: a programming error."""


def _refuse_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if session.info.get(READ_ONLY) and (session.new or session.dirty or session.deleted):
        raise ReadOnlyTransaction("a read-only unit of work tried to write; open it with db.transaction()")


def _refuse_dml(state: ORMExecuteState) -> None:
    if state.session.info.get(READ_ONLY) and (state.is_insert or state.is_update or state.is_delete):
        raise ReadOnlyTransaction("a read-only unit of work tried to write; open it with db.transaction()")


def read_session(factory: sessionmaker[Session]) -> Session:
    """A session that only reads: on SQLite it begins DEFERRED and never waits on the write lock."""
    return factory(execution_options={WRITE: False}, info={**factory.kw.get("info", {}), READ_ONLY: True})


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads; it ends with a rollback."""
    session = read_session(factory)
    try:
        yield session
    finally:
        session.close()


def unit_of_work(session: Session) -> Iterator[Session]:
    """Yield ``session``, then commit it; on any error roll back, a busy database raised as
    :class:`~kgys.errors.Busy`; close it either way. The one ending of every unit of work (jobs, commands,
    requests)."""
    try:
        yield session
        session.commit()
    except BaseException as exc:
        session.rollback()
        if is_busy(exc) and not isinstance(exc, Busy):
            raise as_busy(exc) from exc
        raise
    finally:
        session.close()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that may write: commit on success, roll back on any error; a busy database is
    :class:`~kgys.errors.Busy`."""
    yield from unit_of_work(factory())


T = TypeVar("T")


def retrying(factory: sessionmaker[Session], work: Callable[[Session], T], *, attempts: int = 3,
             pause: float = 0.2) -> T:
    """Run ``work`` in one unit of work; when the database is busy, run it again as a whole (at most
    ``attempts`` times, waiting ``pause`` seconds more each time) before giving up with Busy."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                return work(session)
        except Busy:
            if attempt == attempts:
                raise
            log.info("database busy; unit of work retried (%s of %s)", attempt + 1, attempts)
            time.sleep(pause * attempt)
    raise AssertionError("unreachable")
