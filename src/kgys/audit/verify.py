"""Recompute the audit chain, check every signed checkpoint and the checkpoint chain, against witnesses too.

The core is pure (:func:`verify_chain` over plain tuples), so an outsider can run it on an export as
well as on the live database; :func:`verify_database` streams the rows in. Besides every entry's hash and
link, a run checks the checkpoints' signatures and their chain (:mod:`kgys.audit.checkpoints`), that the
log reaches every checkpoint with the hash it signed, optionally that every checkpoint a witness holds is
in the database unchanged, and optionally that the unsigned tail is no longer than checkpoints allow.
The same work split over worker processes is :mod:`kgys.audit.parallel`.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, literal_column, select

from kgys.audit.canonical import GENESIS_HASH
from kgys.audit.checkpoints import (
    Checkpoint,
    TailPolicy,
    check_checkpoints,
    compare_with_witness,
    in_order,
    tail_problems,
)
from kgys.audit.hashing import ENTRY_COLUMNS, entry_hash_of, fast_path_agrees, slow_hash
from kgys.audit.models import AuditCheckpoint, AuditEntry
from kgys.audit.report import Problem, VerifyReport, hash_problem, link_problem, seq_problem
from kgys.db import utcnow

__all__ = ["ENTRY_COLUMNS", "Checkpoint", "Problem", "TailPolicy", "VerifyReport", "read_checkpoints",
           "stream_entries", "verify_chain", "verify_database"]


@dataclass
class Walk:
    """What one pass over a run of entries found. ``first`` (seq, prev_hash, own hash matches) is filled
    when the caller checks the first row's links itself (a range of a parallel run). ``unsigned_from`` is
    the ``ts`` of the first row after the last checkpoint matched in this run (of the run's first row when
    none matched; None when the last match was the run's last row)."""

    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    last_checkpoint_seq: int = 0
    problems: list[Problem] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    stopped: bool = False
    first: tuple[int, str, bool] | None = None
    unsigned_from: datetime | str | None = None


def walk(rows: Iterable[tuple[Any, ...]], wanted: dict[int, list[Checkpoint]], *, expected_seq: int | None,
         prev: str | None, stop_at_first: bool) -> Walk:
    """Check entries in seq order: sequence, links, hashes, and the checkpoints in ``wanted`` (popped)."""
    w = Walk()
    hash_of = entry_hash_of if fast_path_agrees() else slow_hash
    problems = w.problems
    pending = True  # the next row's ts is the start of the unsigned run
    for row in rows:
        seq = row[0]
        w.entries += 1
        if pending:
            w.unsigned_from, pending = row[1], False
        if expected_seq is None or prev is None:
            ok = hash_of(row) == row[14]
            w.first = (seq, row[13], ok)
            if not ok and stop_at_first:
                w.stopped = True
                return w
        else:
            if seq != expected_seq:
                problems.append(seq_problem(seq, expected_seq))
                if stop_at_first:
                    w.stopped = True
                    return w
            if row[13] != prev:
                problems.append(link_problem(seq))
                if stop_at_first:
                    w.stopped = True
                    return w
            elif hash_of(row) != row[14]:
                problems.append(hash_problem(seq))
                if stop_at_first:
                    w.stopped = True
                    return w
        if wanted:
            for cp in wanted.pop(seq, []):
                w.matched.append(seq)
                w.last_checkpoint_seq = max(w.last_checkpoint_seq, seq)
                w.unsigned_from, pending = None, True
                if cp[1] != row[14]:
                    problems.append(Problem(seq, "altered", f"entry {seq} differs from the signed checkpoint at {seq}"))
                    if stop_at_first:
                        w.stopped = True
                        return w
        prev = row[14]
        w.last_seq = seq
        w.head_hash = prev
        expected_seq = seq + 1
    return w


def prepare(checkpoints: Iterable[tuple[Any, ...]], public_key: Ed25519PublicKey | None, *,
            witnesses: Mapping[str, Iterable[Checkpoint]] | None, stop_at_first: bool,
            report: VerifyReport) -> dict[int, list[Checkpoint]] | None:
    """Check the stored checkpoints and the witnesses' against them; the checkpoints the log must reach,
    by entry seq, or None when stopping at a problem already."""
    stored = [cp if isinstance(cp, Checkpoint) else Checkpoint(*cp) for cp in checkpoints]
    check = check_checkpoints(stored, public_key, stop_at_first=stop_at_first)
    report.checkpoints = check.count
    report.problems.extend(check.problems)
    if check.stopped:
        return None
    wanted = check.wanted
    for source, held in (witnesses or {}).items():
        held_cps = in_order(held)
        report.witnessed += len(held_cps)
        found = compare_with_witness(stored, held_cps, source, public_key)
        report.problems.extend(found)
        if found and stop_at_first:
            return None
        for cp in held_cps:  # the log must reach what the witness holds, with the same hash
            if cp not in wanted.get(cp.seq, []):
                wanted.setdefault(cp.seq, []).append(cp)
    return wanted


def _as_time(value: datetime | str | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def finish(report: VerifyReport, wanted: Iterable[int], unsigned_from: datetime | str | None, *,
           tail: TailPolicy | None, now: datetime | None, stop_at_first: bool) -> VerifyReport:
    """Name checkpoints the log does not reach, then apply the unsigned-tail rule."""
    for seq in sorted(wanted):
        report.problems.append(Problem(seq, "deleted",
                                       f"signed checkpoint at entry {seq} but the log ends at {report.last_seq}:"
                                       " entries were deleted"))
        if stop_at_first:
            return report
    report.unsigned_since = _as_time(unsigned_from) if report.unsigned_tail else None
    if tail is not None:
        report.problems.extend(tail_problems(last_seq=report.last_seq, last_checkpoint_seq=report.last_checkpoint_seq,
                                             unsigned_since=report.unsigned_since, now=now or utcnow(), policy=tail))
    return report


def verify_chain(
    rows: Iterable[tuple[Any, ...]],
    checkpoints: Iterable[tuple[Any, ...]],
    public_key: Ed25519PublicKey | None,
    *,
    stop_at_first: bool = True,
    witnesses: Mapping[str, Iterable[Checkpoint]] | None = None,
    tail: TailPolicy | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Verify entries (rows in ENTRY_COLUMNS order, ascending seq) and checkpoints.

    Checkpoints are :class:`Checkpoint` tuples. Without a public key the signatures are not checked, only
    the checkpoint chain and that each checkpoint's hash matches the log. ``witnesses`` maps a source's
    name to the checkpoints it holds; ``tail`` (with ``now``, default the current time) makes an unsigned
    tail longer than it allows a problem.
    """
    report = VerifyReport()
    wanted = prepare(checkpoints, public_key, witnesses=witnesses, stop_at_first=stop_at_first, report=report)
    if wanted is None:
        return report
    w = walk(rows, wanted, expected_seq=1, prev=GENESIS_HASH, stop_at_first=stop_at_first)
    report.entries, report.last_seq, report.head_hash = w.entries, w.last_seq, w.head_hash
    report.last_checkpoint_seq = w.last_checkpoint_seq
    report.problems.extend(w.problems)
    if w.stopped:
        return report
    return finish(report, wanted, w.unsigned_from, tail=tail, now=now, stop_at_first=stop_at_first)


def read_checkpoints(conn: Connection) -> list[Checkpoint]:
    """Every signed checkpoint stored behind ``conn``."""
    return [Checkpoint(int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(select(
        AuditCheckpoint.seq, AuditCheckpoint.entry_hash, AuditCheckpoint.created_at,
        AuditCheckpoint.key_id, AuditCheckpoint.signature, AuditCheckpoint.prev_checkpoint_hash,
    ))]


def verify_database(
    conn: Connection, public_key: Ed25519PublicKey | None, *, stop_at_first: bool = True,
    witnesses: Mapping[str, Iterable[Checkpoint]] | None = None, tail: TailPolicy | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Verify the audit log stored behind ``conn`` (see :func:`verify_chain` for the options)."""
    cps = read_checkpoints(conn)
    rows = stream_entries(conn)
    try:
        return verify_chain(rows, cps, public_key, stop_at_first=stop_at_first, witnesses=witnesses, tail=tail,
                            now=now)
    finally:
        rows.close()


# SQLite stores ts as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); that text gives the canonical form directly.
_SQLITE_TS = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
# PostgreSQL formats the canonical text itself (the aware UTC datetime's isoformat, microseconds always).
_PG_TS = """to_char(audit_entries.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def stream_entries(conn: Connection, *, first: int | None = None, last: int | None = None,
                   batch: int = 20000) -> Generator[tuple[Any, ...], None, None]:
    """Entries in seq order (optionally only ``first`` ≤ seq ≤ ``last``) as plain tuples.

    ``ts`` comes as its canonical text where the database hands that out cheaply (formatted by
    PostgreSQL; SQLite's stored text when it has the usual form), else as an aware UTC datetime.
    SQLite and psycopg (inside a transaction) are read through the driver's own cursor, a server-side
    one on PostgreSQL, which costs less per row than a SQLAlchemy result; anything else uses the result.
    """
    stmt = select(*ENTRY_COLUMNS).order_by(AuditEntry.seq)
    if first is not None:
        stmt = stmt.where(AuditEntry.seq >= first)
    if last is not None:
        stmt = stmt.where(AuditEntry.seq <= last)
    dialect = conn.dialect
    driver: Any = conn.connection.driver_connection
    pg = dialect.name == "postgresql" and dialect.driver == "psycopg" and not getattr(driver, "autocommit", True)
    if dialect.name == "sqlite" or pg:
        if pg:
            stmt = stmt.with_only_columns(*(literal_column(_PG_TS) if c is AuditEntry.ts else c
                                            for c in ENTRY_COLUMNS))
        ts_type = AuditEntry.__table__.c.ts.type
        to_ts = ts_type.dialect_impl(dialect).result_processor(dialect, None)
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        cur = driver.cursor(name="kgys_audit_verify") if pg else driver.cursor()
        try:
            cur.execute(str(compiled))
            if pg:
                while rows := cur.fetchmany(batch):
                    yield from rows
                return
            canonical = _SQLITE_TS.fullmatch
            while rows := cur.fetchmany(batch):
                for r in rows:
                    t = r[1]
                    if type(t) is str and canonical(t):
                        yield (r[0], f"{t[:10]}T{t[11:]}+00:00", *r[2:])
                    else:
                        yield (r[0], to_ts(t) if to_ts else t, *r[2:])
        finally:
            cur.close()
        return
    result = conn.execute(stmt.execution_options(yield_per=batch))
    for r in result:
        yield tuple(r)
