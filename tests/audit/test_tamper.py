"""The tamper matrix: every way of cutting or rewriting the audit log, and what catches it.

A committed log of 34 entries, checkpoints signed every 10 entries (at 10, 20 and 30) and handed to a
directory witness; entries 31–34 are the unsigned tail. The allowed tail is 10 + 5 entries and
600 + 300 seconds (the settings below). Each case tampers with the database as its owner would (the
append-only triggers lifted), then verifies plainly and against the witness, single-process and with
workers. ``caught_by`` says which verification names it: ``plain`` (plain ``kgys audit verify``),
``witness`` (only ``kgys audit verify --witness``), or ``window`` (nothing can: the undetectable window
after the last checkpoint that docs/audit.md states).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, text

from kgys import migrate
from kgys.audit import scheduled as audit_scheduled
from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.canonical import chain_hash
from kgys.audit.checkpoints import Checkpoint, TailPolicy
from kgys.audit.hashing import payload_of
from kgys.audit.models import AuditEntry
from kgys.audit.parallel import verify_database_parallel
from kgys.audit.report import VerifyReport
from kgys.audit.verify import stream_entries, verify_database
from kgys.config import Settings
from kgys.db import make_engine
from kgys.runtime import make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_create, _pg_drop

ENTRIES = 34
EVERY = 10
POLICY = TailPolicy(max_entries=EVERY + 5, max_seconds=600 + 300)


def _guards(conn: Connection, *, on: bool) -> None:
    for table in ("audit_entries", "audit_checkpoints"):
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {table}_append_only"))
        elif not on:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_update"))
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_delete"))


class Log:
    """The committed log, its witness folder, and a way to put both tables back after a case."""

    def __init__(self, engine: Engine, url: str, key: Any, witness_dir: Path) -> None:
        self.engine, self.url, self.key, self.witness_dir = engine, url, key, witness_dir
        with engine.connect() as conn:
            self.entries = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_entries ORDER BY seq"))]
            self.cps = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_checkpoints ORDER BY seq"))]
            self.head_ts = [r[1] for r in stream_entries(conn)][-1]

    def sql(self, statement: str, params: dict[str, Any] | list[dict[str, Any]] | None = None) -> None:
        """Run a statement with the append-only triggers lifted."""
        with self.engine.begin() as conn:
            _guards(conn, on=False)
            conn.execute(text(statement), params or {})

    def rewrite(self, first: int, last: int = ENTRIES, reason: str = "rewritten") -> None:
        """Change the reason of entries first..last and recompute every hash from ``first`` on."""
        with self.engine.begin() as conn:
            _guards(conn, on=False)
            rows = list(stream_entries(conn))
            prev = rows[first - 2][14] if first > 1 else "0" * 64
            for row in rows[first - 1:]:
                new = list(row)
                if row[0] <= last:
                    new[8] = reason
                new[13] = prev
                prev = chain_hash(prev, payload_of(tuple(new)))
                conn.execute(text("UPDATE audit_entries SET reason=:r, prev_hash=:p, entry_hash=:h WHERE seq=:s"),
                             {"r": new[8], "p": new[13], "h": prev, "s": row[0]})

    def forge_tail(self, count: int) -> None:
        """Append ``count`` entries with correct hashes (but nothing signed), dated like the head."""
        with self.engine.begin() as conn:
            rows = list(stream_entries(conn))
            prev, seq = rows[-1][14], rows[-1][0]
            ts = datetime.fromisoformat(rows[-1][1]) if isinstance(rows[-1][1], str) else rows[-1][1]
            for _ in range(count):
                seq += 1
                row = (seq, ts, None, "mallory", "site.update", "site", "X", None, None, None, None, None,
                       "{}", prev, "")
                h = chain_hash(prev, payload_of(row))
                conn.execute(insert(AuditEntry), {
                    "seq": seq, "ts": ts, "actor_id": None, "actor": "mallory", "action": "site.update",
                    "object_type": "site", "object_id": "X", "details": "{}", "prev_hash": prev, "entry_hash": h})
                prev = h

    def restore(self) -> None:
        """Put the original entries and checkpoints back."""
        with self.engine.begin() as conn:
            _guards(conn, on=False)
            for table, rows in (("audit_entries", self.entries), ("audit_checkpoints", self.cps)):
                conn.execute(text(f"DELETE FROM {table}"))
                cols = list(rows[0])
                values = ", ".join(":" + c for c in cols)
                conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({values})"), rows)
            _guards(conn, on=True)

    def held(self) -> dict[str, list[Checkpoint]]:
        """What the witness folder holds."""
        return {"board": witness_mod.read_held(str(self.witness_dir))}

    def verify(self, *, witness: bool, now: datetime) -> list[VerifyReport]:
        """Single-process and two-worker reports (all problems), plainly or against the witness."""
        held = self.held() if witness else None
        with self.engine.connect() as conn:
            single = verify_database(conn, self.key, stop_at_first=False, witnesses=held, tail=POLICY, now=now)
        return [single, verify_database_parallel(self.url, self.key, jobs=2, stop_at_first=False, min_per_job=1,
                                                 witnesses=held, tail=POLICY, now=now)]


@pytest.fixture(scope="module", params=ENGINES)
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    """A committed, witnessed log in a database of its own."""
    data_dir = tmp_path_factory.mktemp("tamper")
    name = f"kgys_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{data_dir / 'log.db'}" if request.param == "sqlite" else _pg_create(name)
    settings = Settings(mode="dev", data_dir=data_dir, database={"url": url}, audit={
        "checkpoint_every_entries": EVERY, "unsigned_tail_margin_entries": 5,
        "witnesses": [{"type": "directory", "name": "board", "path": str(data_dir / "board")}]})
    engine = make_engine(settings, url=url)
    try:
        migrate.upgrade(engine)
        rt = make_runtime(settings, engine=engine)
        for i in range(ENTRIES):  # one transaction each, as requests would
            with rt.sessions.begin() as s:
                audit_service.append(s, actor=factories.admin(), action="test.write", object_type="thing",
                                     object_id=i, reason="gerekçe", details={"i": i})
        done = audit_scheduled.deliver(rt.sessions, settings.audit)
        assert (done.delivered, done.failed) == (3, 0)
        yield Log(engine, url, rt.signer.public, data_dir / "board")
    finally:
        engine.dispose()
        if request.param != "sqlite":
            _pg_drop(name)


@dataclass(frozen=True)
class Case:
    """One way of tampering, and what names it: (caught_by, seq, kind) of the first problem."""

    name: str
    tamper: Callable[[Log], None]
    caught_by: str  # plain | witness | window
    first: tuple[int, str] | None = None


CASES = [
    Case("alter an entry", lambda g: g.sql("UPDATE audit_entries SET reason='forged' WHERE seq=5"),
         "plain", (5, "altered")),
    Case("delete an entry", lambda g: g.sql("DELETE FROM audit_entries WHERE seq=15"), "plain", (15, "deleted")),
    Case("forge a tail longer than allowed", lambda g: g.forge_tail(POLICY.max_entries - 3),
         "plain", (31, "unsigned")),
    Case("forge a short tail", lambda g: g.forge_tail(3), "window"),
    Case("truncate the end", lambda g: g.sql("DELETE FROM audit_entries WHERE seq >= 28"), "plain", (30, "deleted")),
    Case("truncate the end and delete the checkpoints it reaches",
         lambda g: (g.sql("DELETE FROM audit_entries WHERE seq >= 28"),
                    g.sql("DELETE FROM audit_checkpoints WHERE seq >= 28")), "witness", (30, "witness")),
    Case("truncate to a checkpoint and delete the later checkpoints",
         lambda g: (g.sql("DELETE FROM audit_entries WHERE seq > 20"),
                    g.sql("DELETE FROM audit_checkpoints WHERE seq > 20")), "witness", (30, "witness")),
    Case("delete a checkpoint in the middle", lambda g: g.sql("DELETE FROM audit_checkpoints WHERE seq = 20"),
         "plain", (30, "checkpoint")),
    Case("rewrite the chain and recompute the hashes", lambda g: g.rewrite(5, 5), "plain", (10, "altered")),
    Case("rewrite the chain, recompute, delete every checkpoint",
         lambda g: (g.rewrite(5, 5), g.sql("DELETE FROM audit_checkpoints")), "plain", (1, "unsigned")),
    Case("rewrite the chain, recompute, delete the checkpoints after the rewrite",
         lambda g: (g.rewrite(25, 25), g.sql("DELETE FROM audit_checkpoints WHERE seq >= 25")),
         "witness", (30, "witness")),
    Case("rewrite after the last checkpoint and recompute", lambda g: g.rewrite(32, 33), "window"),
    Case("delete the unsigned tail", lambda g: g.sql("DELETE FROM audit_entries WHERE seq > 30"), "window"),
]


def _first(report: VerifyReport) -> tuple[int, str] | None:
    return (report.problems[0].seq, report.problems[0].kind) if report.problems else None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tampering_is_caught_or_inside_the_stated_window(log: Log, case: Case) -> None:
    now = datetime.fromisoformat(log.head_ts) if isinstance(log.head_ts, str) else log.head_ts
    assert all(r.ok for r in log.verify(witness=True, now=now))  # the untouched log verifies both ways
    case.tamper(log)
    try:
        plain = log.verify(witness=False, now=now)
        witnessed = log.verify(witness=True, now=now)
        assert plain[0] == plain[1] and witnessed[0] == witnessed[1]  # workers report what one process does
        if case.caught_by == "plain":
            assert _first(plain[0]) == case.first, plain[0].problems
            assert not witnessed[0].ok
        elif case.caught_by == "witness":
            assert plain[0].ok, plain[0].problems
            assert _first(witnessed[0]) == case.first, witnessed[0].problems
        else:
            assert plain[0].ok and witnessed[0].ok, (plain[0].problems, witnessed[0].problems)
    finally:
        log.restore()


@pytest.mark.parametrize("case", [c for c in CASES if c.caught_by != "plain"], ids=lambda c: c.name)
def test_what_plain_verify_misses_it_catches_once_the_tail_outlives_the_allowed_age(log: Log, case: Case) -> None:
    """Past the allowed age, an unsigned tail means checkpoints were deleted or are not being signed."""
    head = datetime.fromisoformat(log.head_ts) if isinstance(log.head_ts, str) else log.head_ts
    case.tamper(log)
    try:
        later = head + timedelta(seconds=POLICY.max_seconds + 1)
        report = log.verify(witness=False, now=later)[0]
        tail_left = report.unsigned_tail > 0
        assert report.ok is not tail_left, report.problems
        if tail_left:
            assert [p.kind for p in report.problems] == ["unsigned"]
    finally:
        log.restore()
