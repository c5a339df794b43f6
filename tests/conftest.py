"""Shared fixtures: every database test runs on SQLite and on PostgreSQL, inside a transaction that is
rolled back; PostgreSQL runs use their own throwaway database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

from kgys import migrate
from kgys.config import Settings
from kgys.db import make_engine, make_session_factory
from kgys.runtime import Runtime, make_runtime

PG_ADMIN_URL = os.environ.get("KGYS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ENGINES = [e for e in os.environ.get("KGYS_TEST_ENGINES", "sqlite,postgresql").split(",") if e]


def _pg_create(name: str) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _pg_drop(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory (keys, SQLite file) for the whole run."""
    return tmp_path_factory.mktemp("kgys-data")


def settings_for(data_dir: Path, url: str | None = None) -> Settings:
    """Dev-mode settings pointing at ``url`` (default SQLite in ``data_dir``)."""
    return Settings(mode="dev", data_dir=data_dir, database={"url": url}, security={"cookie_secure": False})


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Engine]:
    """A migrated database engine: SQLite file, or a fresh PostgreSQL database."""
    kind = request.param
    if kind == "sqlite":
        url = f"sqlite:///{data_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
        eng = make_engine(settings_for(data_dir), url=url)
        migrate.upgrade(eng)
        yield eng
        eng.dispose()
    else:
        name = f"kgys_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        url = _pg_create(name)
        eng = make_engine(settings_for(data_dir, url), url=url)
        migrate.upgrade(eng)
        yield eng
        eng.dispose()
        _pg_drop(name)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def rt(engine: Engine, connection: Connection, data_dir: Path) -> Runtime:
    """A runtime whose sessions all join the test's rolled-back transaction."""
    runtime = make_runtime(settings_for(data_dir, str(engine.url.render_as_string(hide_password=False))),
                           engine=engine)
    runtime.sessions = make_session_factory(connection, join_transaction_mode="create_savepoint",
                                            info=dict(runtime.sessions.kw["info"]))
    return runtime


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    """A session in the test's transaction."""
    s = rt.sessions()
    try:
        yield s
    finally:
        s.close()
