"""Verification in worker processes reports exactly what the single-process path reports."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Engine, text

from kgys import migrate
from kgys.audit import service as audit_service
from kgys.audit.parallel import verify_database_parallel
from kgys.audit.signing import Signer
from kgys.audit.verify import VerifyReport, verify_database
from kgys.db import make_engine
from kgys.runtime import make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_create, _pg_drop, settings_for

ENTRIES = 40
# three workers split 1–40 into 1–14, 15–28 and 29–40: 14/15 and 28/29 are range borders
SEQS = [1, 4, 14, 15, 28, 29, 40]


class Log:
    """A committed audit log of ENTRIES entries with a checkpoint every 10, and a way to put it back."""

    def __init__(self, engine: Engine, url: str, key: Ed25519PublicKey) -> None:
        self.engine, self.url, self.key = engine, url, key
        with engine.connect() as conn:
            self.rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_entries ORDER BY seq"))]

    def tamper(self, sql: str, params: dict[str, object] | None = None) -> None:
        """Run ``sql`` against the log with the append-only guards lifted."""
        with self.engine.begin() as conn:
            _guards(conn, on=False)
            conn.execute(text(sql), params or {})

    def restore(self) -> None:
        """Put the original entries back."""
        with self.engine.begin() as conn:
            _guards(conn, on=False)
            conn.execute(text("DELETE FROM audit_entries"))
            cols = list(self.rows[0])
            conn.execute(text(f"INSERT INTO audit_entries ({', '.join(cols)}) "
                              f"VALUES ({', '.join(':' + c for c in cols)})"), self.rows)
            _guards(conn, on=True)

    def both(self, *, stop_at_first: bool, key: Ed25519PublicKey | None = None) -> tuple[VerifyReport, ...]:
        """The single-process report and the reports with two and three workers."""
        use = key or self.key
        with self.engine.connect() as conn:
            single = verify_database(conn, use, stop_at_first=stop_at_first)
        return single, *(verify_database_parallel(self.url, use, jobs=j, stop_at_first=stop_at_first,
                                                  min_per_job=1) for j in (2, 3))


def _guards(conn: Connection, *, on: bool) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ALTER TABLE audit_entries {'ENABLE' if on else 'DISABLE'} TRIGGER "
                          "audit_entries_append_only"))
    elif not on:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_entries_no_delete"))


@pytest.fixture(scope="module", params=ENGINES)
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    """A committed log in a database of its own (workers read it over their own connections)."""
    data_dir: Path = tmp_path_factory.mktemp("verify-jobs")
    name = f"kgys_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{data_dir / 'log.db'}" if request.param == "sqlite" else _pg_create(name)
    engine = make_engine(settings_for(data_dir, url), url=url)
    try:
        migrate.upgrade(engine)
        rt = make_runtime(settings_for(data_dir, url), engine=engine)
        signer: Signer = rt.signer
        with rt.sessions.begin() as s:
            s.info[audit_service.CHECKPOINT_EVERY_KEY] = 10
            for i in range(ENTRIES):
                audit_service.append(s, actor=factories.admin(), action="test.write", object_type="thing",
                                     object_id=i, reason="gerekçe", details={"i": i})
        yield Log(engine, url, signer.public)
    finally:
        engine.dispose()
        if request.param != "sqlite":
            _pg_drop(name)


def _check(log: Log, change: Callable[[], None], *, first: tuple[int, str] | None) -> None:
    change()
    try:
        for stop in (True, False):
            single, *parallel = log.both(stop_at_first=stop)
            assert all(p == single for p in parallel), (stop, single, parallel)
            if first is None:
                assert single.ok
            else:
                assert (single.problems[0].seq, single.problems[0].kind) == first
    finally:
        log.restore()


def test_clean_log_gives_the_same_report(log: Log) -> None:
    _check(log, lambda: None, first=None)
    single, two, three = log.both(stop_at_first=True)
    assert (three.entries, three.last_seq, three.checkpoints, three.last_checkpoint_seq) == (ENTRIES, ENTRIES, 4, 40)


@pytest.mark.parametrize("seq", SEQS)
def test_altered_entry_is_named_alike(log: Log, seq: int) -> None:
    _check(log, lambda: log.tamper("UPDATE audit_entries SET reason='forged' WHERE seq=:s", {"s": seq}),
           first=(seq, "altered"))


@pytest.mark.parametrize("seq", SEQS)
def test_deleted_entry_is_named_alike(log: Log, seq: int) -> None:
    # the last entry carries a checkpoint, so its deletion is caught by the checkpoint
    _check(log, lambda: log.tamper("DELETE FROM audit_entries WHERE seq=:s", {"s": seq}),
           first=(seq, "deleted"))


def test_deleted_run_across_a_border_is_named_alike(log: Log) -> None:
    _check(log, lambda: log.tamper("DELETE FROM audit_entries WHERE seq BETWEEN 13 AND 16"), first=(13, "deleted"))


@pytest.mark.parametrize("seq", SEQS)
def test_replaced_entry_is_named_alike(log: Log, seq: int) -> None:
    """An entry rewritten with a fresh hash of its own breaks the link of the entry after it."""
    def forge() -> None:
        log.tamper("UPDATE audit_entries SET actor='mallory', entry_hash=:h WHERE seq=:s", {"h": "e" * 64, "s": seq})

    _check(log, forge, first=(seq, "altered"))


def test_forged_entry_after_the_head_is_named_alike(log: Log) -> None:
    head = log.rows[-1]
    _check(log, lambda: log.tamper(
        "INSERT INTO audit_entries (seq, ts, actor_id, actor, action, object_type, object_id, details, prev_hash, "
        "entry_hash) VALUES (:seq, :ts, NULL, 'mallory', 'site.update', 'site', 'X', '{}', :prev, :h)",
        {"seq": ENTRIES + 1, "ts": head["ts"], "prev": head["entry_hash"], "h": "f" * 64}),
        first=(ENTRIES + 1, "altered"))


def test_inserted_entry_is_named_alike(log: Log) -> None:
    row = log.rows[20]
    _check(log, lambda: log.tamper("UPDATE audit_entries SET prev_hash=:h WHERE seq=:s",
                                   {"h": "a" * 64, "s": row["seq"]}), first=(row["seq"], "inserted"))


def test_wrong_key_gives_the_same_report(log: Log) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    for stop in (True, False):
        single, *parallel = log.both(stop_at_first=stop, key=other)
        assert all(p == single for p in parallel)
        assert single.problems[0].kind == "checkpoint"
