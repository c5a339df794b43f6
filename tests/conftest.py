"""Shared fixtures: every database test runs on SQLite and on PostgreSQL, inside a transaction that is
rolled back; PostgreSQL runs use their own throwaway database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session

from kgys import migrate
from kgys.accounts import security
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


_TEMPLATES: dict[str, str] = {}  # per test process: the migrated template of each engine (file path, database)


def _template(kind: str) -> str:
    """The database this test process migrated once (an SQLite file, a PostgreSQL database), made when first
    asked for; every fresh database of a test is a copy of it."""
    if kind not in _TEMPLATES:
        where = Path(tempfile.mkdtemp(prefix="kgys-template-"))
        if kind == "sqlite":
            path = where / "template.db"
            url = f"sqlite:///{path}"
        else:
            path = where  # the keys' folder only
            url = _pg_create(f"kgys_template_{os.getpid()}_{uuid.uuid4().hex[:8]}")
        eng = make_engine(settings_for(where, url), url=url)
        try:
            migrate.upgrade(eng)
        finally:
            eng.dispose()
        if kind == "sqlite":
            with sqlite3.connect(path) as db:  # everything in the file itself, no -wal beside it
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            _TEMPLATES[kind] = str(path)
        else:
            shutil.rmtree(where, ignore_errors=True)
            _TEMPLATES[kind] = url.rsplit("/", 1)[1]
    return _TEMPLATES[kind]


def migrated_database(kind: str, data_dir: Path, prefix: str = "kgys_test", file: str = "kgys.db"
                      ) -> tuple[str, str | None]:
    """A fresh database at the newest revision, of its own, as the migrations leave it: a copy of this process's
    migrated template (``file`` in ``data_dir`` on SQLite; ``CREATE DATABASE … TEMPLATE`` on PostgreSQL), so
    that each test need not run every migration again. Its URL, and on PostgreSQL its name (to drop)."""
    template = _template(kind)
    if kind == "sqlite":
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, data_dir / file)
        return f"sqlite:///{data_dir / file}", None
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    """The migrated templates are removed when the run ends."""
    yield
    for kind, template in _TEMPLATES.items():
        if kind == "sqlite":
            shutil.rmtree(Path(template).parent, ignore_errors=True)
        else:
            _pg_drop(template)
    _TEMPLATES.clear()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """Argon2id with the least work for the passwords this test process hashes (the users the tests make, the
    sign-ins they check): each costs milliseconds instead of most of a second, the algorithm and the checks
    stay the same. The kgys processes a test starts hash with their own, real parameters."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory (keys, SQLite file) for the whole run."""
    return tmp_path_factory.mktemp("kgys-data")


def settings_for(data_dir: Path, url: str | None = None) -> Settings:
    """Dev-mode settings pointing at ``url`` (default SQLite in ``data_dir``)."""
    return Settings(mode="dev", data_dir=data_dir, database={"url": url}, security={"cookie_secure": False})


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Engine]:
    """A migrated database engine: SQLite file, or a fresh PostgreSQL database (each a copy of the migrated
    template: under xdist a worker runs module after module, each on both engines, so this is set up again at
    every change of engine)."""
    kind = request.param
    url, pg_name = migrated_database(kind, data_dir, file=f"test-{uuid.uuid4().hex[:8]}.db")
    eng = make_engine(settings_for(data_dir, url if pg_name else None), url=url)
    yield eng
    eng.dispose()
    if pg_name:
        _pg_drop(pg_name)


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


# The modules that take longest, longest first (measured on the 2-core machine the suite runs on). Under
# ``--dist loadscope`` a module runs whole on one worker, and a worker takes its next module a little before it is
# done with the last; xdist's own order (most tests first) leaves these, which have few tests, to the end, where
# one of them keeps one worker busy for minutes while the other has nothing left to do. Sent first, they overlap
# with the many short modules instead. The others follow, most tests first, as xdist would send them.
LONG_MODULES = (
    "tests/web/test_authz_matrix.py",
    "tests/web/test_fuzz.py",
    "tests/web/test_no_english.py",
    "tests/recording/test_restart.py",
    "tests/cli/test_demo.py",
    "tests/cli/test_demo_cameras.py",
    "tests/cli/test_demo_devices.py",
    "tests/recording/test_recorder.py",
    "tests/browser/test_evidence.py",
    "tests/test_wheel.py",
    "tests/browser/test_wall.py",
    "tests/recording/test_jobs.py",
    "tests/browser/test_playback.py",
    "tests/browser/test_video.py",
    "tests/browser/test_exports.py",
    "tests/web/test_serving.py",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of :data:`LONG_MODULES` first, in that order, then the others by their number of tests (the
    order within each module stays as pytest's ordering by fixtures left it)."""
    rank = {module: n for n, module in enumerate(LONG_MODULES)}
    count = Counter(item.nodeid.split("::", 1)[0] for item in items)

    def key(item: pytest.Item) -> tuple[int, int]:
        module = item.nodeid.split("::", 1)[0]
        return rank.get(module, len(rank)), -count[module]

    items.sort(key=key)
