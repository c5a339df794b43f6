"""Recompute the audit chain and check every signed checkpoint.

The core is pure (:func:`verify_chain` over plain tuples), so an outsider can run it on an export as
well as on the live database; :func:`verify_database` streams the rows in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import multiprocessing
import re
from collections.abc import Generator, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, create_engine, func, literal_column, select
from sqlalchemy.pool import NullPool

from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash
from kgys.audit.models import AuditCheckpoint, AuditEntry
from kgys.audit.service import entry_payload
from kgys.audit.signing import checkpoint_message, key_id, signature_valid

ENTRY_COLUMNS = (
    AuditEntry.seq, AuditEntry.ts, AuditEntry.actor_id, AuditEntry.actor, AuditEntry.action,
    AuditEntry.object_type, AuditEntry.object_id, AuditEntry.site_id, AuditEntry.reason,
    AuditEntry.legal_basis, AuditEntry.before_digest, AuditEntry.after_digest, AuditEntry.details,
    AuditEntry.prev_hash, AuditEntry.entry_hash,
)


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify, naming the entry (seq) it concerns."""

    seq: int
    kind: str  # altered | deleted | inserted | checkpoint
    message: str


@dataclass
class VerifyReport:
    """Outcome of a verification run."""

    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    last_checkpoint_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last signed checkpoint (protected by the chain only)."""
        return max(0, self.last_seq - self.last_checkpoint_seq)


def _payload(row: tuple[Any, ...]) -> dict[str, Any]:
    ts: datetime | str = row[1]
    return entry_payload(
        seq=row[0], ts=datetime.fromisoformat(ts) if isinstance(ts, str) else ts, actor_id=row[2], actor=row[3],
        action=row[4], object_type=row[5], object_id=row[6], site_id=row[7], reason=row[8], legal_basis=row[9],
        before_digest=row[10], after_digest=row[11], details=row[12],
    )


_NULLABLE_STR = frozenset({str, type(None)})
_NULLABLE_INT = frozenset({int, type(None)})
_encode_str = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) applies to each string


def _fast_payload_text(row: tuple[Any, ...] | Any) -> str | None:
    """The canonical payload text of a row built directly (same bytes as ``canonical_json(_payload(row))``);
    None when a value is not of the plain type the shortcut covers. ``ts`` is an aware UTC datetime or
    already its text (``isoformat(timespec="microseconds")``)."""
    seq, ts, actor_id, actor, action, object_type, object_id, site_id, reason, legal, before, after, details = row[:13]
    if type(ts) is str:
        ts_text = ts
    elif type(ts) is datetime:
        ts_text = ts.isoformat(timespec="microseconds")
    else:
        return None
    if not (type(seq) is int and type(actor_id) in _NULLABLE_INT
            and type(site_id) in _NULLABLE_INT and type(actor) is str and type(action) is str
            and type(object_type) is str and type(object_id) is str and type(details) is str
            and type(reason) in _NULLABLE_STR and type(legal) in _NULLABLE_STR
            and type(before) in _NULLABLE_STR and type(after) in _NULLABLE_STR):
        return None
    enc = _encode_str
    return "".join((
        '{"action":', enc(action),
        ',"actor":', enc(actor),
        ',"actor_id":', "null" if actor_id is None else str(actor_id),
        ',"after":', "null" if after is None else enc(after),
        ',"before":', "null" if before is None else enc(before),
        ',"details":', enc(details),
        ',"legal_basis":', "null" if legal is None else enc(legal),
        ',"object_id":', enc(object_id),
        ',"object_type":', enc(object_type),
        ',"reason":', "null" if reason is None else enc(reason),
        ',"seq":', str(seq),
        ',"site_id":', "null" if site_id is None else str(site_id),
        ',"ts":"', ts_text, '"}',
    ))


@functools.cache
def _fast_path_agrees() -> bool:
    """Whether the shortcut still produces exactly the canonical payload (guards against format drift)."""
    probes = [
        (7, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), 3, "ayşe", "site.update", "site", "S-1", 9,
         'gerekçe "alıntı" \\ \n', None, "a" * 64, None, '{"k":"v"}', "0" * 64, ""),
        (8, datetime(2026, 1, 2, tzinfo=UTC), None, "cli:root", "x", "y", "", None, None, "kanun\u2028", None,
         "b" * 64, "{}", "0" * 64, ""),
        (9, "2026-01-02T03:04:05.000006+00:00", 1, "a", "b", "c", "d", 2, None, None, None, None, "{}", "0" * 64, ""),
    ]
    return all(_fast_payload_text(r) == canonical_json(_payload(r)).decode("utf-8") for r in probes)


def _slow_hash(row: tuple[Any, ...] | Any) -> str:
    return chain_hash(row[13], _payload(row))


def _entry_hash(row: tuple[Any, ...] | Any) -> str:
    """``chain_hash(row.prev_hash, payload)`` for a row, by the shortcut where its values are plain."""
    text = _fast_payload_text(row)
    if text is None:
        return chain_hash(row[13], _payload(row))
    h = hashlib.sha256(row[13].encode("ascii"))
    h.update(b"\n")
    h.update(text.encode("utf-8"))
    return h.hexdigest()


def _seq_problem(seq: int, expected_seq: int) -> Problem:
    if seq > expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
        return Problem(expected_seq, "deleted", f"entry {missing} missing (deleted); next entry is {seq}")
    return Problem(seq, "inserted", f"entry {seq} is out of sequence (expected {expected_seq}): inserted")


def _link_problem(seq: int) -> Problem:
    return Problem(seq, "inserted", f"entry {seq} does not follow entry {seq - 1}: inserted or replaced")


def _hash_problem(seq: int) -> Problem:
    return Problem(seq, "altered", f"entry {seq} does not match its hash: altered or forged")


Checkpoint = tuple[int, str, datetime, str, str]


@dataclass
class _Walk:
    """What one pass over a run of entries found. ``first`` (seq, prev_hash, own hash matches) is filled
    when the caller checks the first row's links itself (a range of a parallel run)."""

    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    last_checkpoint_seq: int = 0
    problems: list[Problem] = field(default_factory=list)
    matched: list[int] = field(default_factory=list)
    stopped: bool = False
    first: tuple[int, str, bool] | None = None


def _walk(rows: Iterable[tuple[Any, ...]], wanted: dict[int, list[Checkpoint]], *, expected_seq: int | None,
          prev: str | None, stop_at_first: bool) -> _Walk:
    """Check entries in seq order: sequence, links, hashes, and the checkpoints in ``wanted`` (popped)."""
    w = _Walk()
    hash_of = _entry_hash if _fast_path_agrees() else _slow_hash
    problems = w.problems
    for row in rows:
        seq = row[0]
        w.entries += 1
        if expected_seq is None or prev is None:
            ok = hash_of(row) == row[14]
            w.first = (seq, row[13], ok)
            if not ok and stop_at_first:
                w.stopped = True
                return w
        else:
            if seq != expected_seq:
                problems.append(_seq_problem(seq, expected_seq))
                if stop_at_first:
                    w.stopped = True
                    return w
            if row[13] != prev:
                problems.append(_link_problem(seq))
                if stop_at_first:
                    w.stopped = True
                    return w
            elif hash_of(row) != row[14]:
                problems.append(_hash_problem(seq))
                if stop_at_first:
                    w.stopped = True
                    return w
        if wanted:
            for cp in wanted.pop(seq, []):
                w.matched.append(seq)
                w.last_checkpoint_seq = max(w.last_checkpoint_seq, seq)
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


def _check_checkpoints(checkpoints: Iterable[Checkpoint], public_key: Ed25519PublicKey | None,
                       report: VerifyReport, stop_at_first: bool) -> dict[int, list[Checkpoint]] | None:
    """Count and check the checkpoints' signatures; the checkpoints by seq, or None when stopping."""
    wanted: dict[int, list[Checkpoint]] = {}
    kid = key_id(public_key) if public_key is not None else None
    for cp in sorted(checkpoints, key=lambda c: c[0]):
        report.checkpoints += 1
        seq, ehash, created, cp_kid, sig = cp
        if public_key is not None:
            msg = checkpoint_message(seq, ehash, created.isoformat(timespec="microseconds"), cp_kid)
            if cp_kid != kid or not signature_valid(public_key, msg, sig):
                report.problems.append(Problem(seq, "checkpoint", f"checkpoint at entry {seq}: bad signature"))
                if stop_at_first:
                    return None
        wanted.setdefault(seq, []).append(cp)
    return wanted


def _unmet_checkpoints(wanted: Iterable[int], report: VerifyReport, stop_at_first: bool) -> VerifyReport:
    for seq in sorted(wanted):
        report.problems.append(Problem(seq, "deleted",
                                       f"signed checkpoint at entry {seq} but the log ends at {report.last_seq}:"
                                       " entries were deleted"))
        if stop_at_first:
            return report
    return report


def verify_chain(
    rows: Iterable[tuple[Any, ...]],
    checkpoints: Iterable[Checkpoint],
    public_key: Ed25519PublicKey | None,
    *,
    stop_at_first: bool = True,
) -> VerifyReport:
    """Verify entries (rows in ENTRY_COLUMNS order, ascending seq) and checkpoints.

    Checkpoints are (seq, entry_hash, created_at, key_id, signature). Without a public key the
    signatures are not checked, only that each checkpoint's hash matches the chain.
    """
    report = VerifyReport()
    wanted = _check_checkpoints(checkpoints, public_key, report, stop_at_first)
    if wanted is None:
        return report
    w = _walk(rows, wanted, expected_seq=1, prev=GENESIS_HASH, stop_at_first=stop_at_first)
    report.entries, report.last_seq, report.head_hash = w.entries, w.last_seq, w.head_hash
    report.last_checkpoint_seq = w.last_checkpoint_seq
    report.problems.extend(w.problems)
    if w.stopped:
        return report
    return _unmet_checkpoints(wanted, report, stop_at_first)


def read_checkpoints(conn: Connection) -> list[Checkpoint]:
    """Every signed checkpoint stored behind ``conn``."""
    return [(int(r[0]), r[1], r[2], r[3], r[4]) for r in conn.execute(select(
        AuditCheckpoint.seq, AuditCheckpoint.entry_hash, AuditCheckpoint.created_at,
        AuditCheckpoint.key_id, AuditCheckpoint.signature,
    ))]


def verify_database(
    conn: Connection, public_key: Ed25519PublicKey | None, *, stop_at_first: bool = True
) -> VerifyReport:
    """Verify the audit log stored behind ``conn``."""
    cps = read_checkpoints(conn)
    rows = stream_entries(conn)
    try:
        return verify_chain(rows, cps, public_key, stop_at_first=stop_at_first)
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


def _verify_range(url: str, first: int, last: int, wanted: dict[int, list[Checkpoint]],
                  stop_at_first: bool) -> _Walk:
    """Worker: check the entries first ≤ seq ≤ last over a connection of its own."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = stream_entries(conn, first=first, last=last)
            try:
                return _walk(rows, wanted, expected_seq=None, prev=None, stop_at_first=stop_at_first)
            finally:
                rows.close()
    finally:
        engine.dispose()


def _ranges(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    size = -(-(last - first + 1) // parts)
    return [(a, min(a + size - 1, last)) for a in range(first, last + 1, size)]


def verify_database_parallel(
    url: str, public_key: Ed25519PublicKey | None, *, jobs: int, stop_at_first: bool = True,
    min_per_job: int = 100_000,
) -> VerifyReport:
    """Verify the audit log at ``url`` with ``jobs`` worker processes, each recomputing one seq range.

    The links between ranges and the checkpoints are checked here, so the report (problems in seq order,
    the first bad entry first) is the one :func:`verify_database` gives. Below ``min_per_job`` entries per
    worker the log is verified in this process.
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            cps = read_checkpoints(conn)  # before the entry bounds: a checkpoint's entry is always within them
            low, high = conn.execute(select(func.min(AuditEntry.seq), func.max(AuditEntry.seq))).one()
            if low is None or jobs <= 1 or (high - min(low, 1) + 1) < 2 * min_per_job:
                rows = stream_entries(conn)
                try:
                    return verify_chain(rows, cps, public_key, stop_at_first=stop_at_first)
                finally:
                    rows.close()
    finally:
        engine.dispose()
    report = VerifyReport()
    wanted = _check_checkpoints(cps, public_key, report, stop_at_first)
    if wanted is None:
        return report
    ranges = _ranges(min(low, 1), high, min(jobs, max(1, (high - min(low, 1) + 1) // min_per_job)))
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=len(ranges), mp_context=ctx) as pool:
        futures = [pool.submit(_verify_range, url, a, b, {s: c for s, c in wanted.items() if a <= s <= b},
                               stop_at_first) for a, b in ranges]
        walks = [f.result() for f in futures]
    return _merge(walks, wanted, report, stop_at_first)


def _merge(walks: list[_Walk], wanted: dict[int, list[Checkpoint]], report: VerifyReport,
           stop_at_first: bool) -> VerifyReport:
    """Join range results in seq order, checking each range's first entry against the one before it."""
    expected, prev = 1, GENESIS_HASH
    for w in walks:
        if w.first is None:
            continue
        seq, prev_hash, own_ok = w.first
        border: list[Problem] = []
        if seq != expected:
            border.append(_seq_problem(seq, expected))
        if border and stop_at_first:
            report.entries += 1
            report.problems.extend(border)
            return report
        if prev_hash != prev:
            border.append(_link_problem(seq))
        elif not own_ok:
            border.append(_hash_problem(seq))
        report.problems.extend(border)
        if border and stop_at_first:
            report.entries += 1
            return report
        report.entries += w.entries
        report.problems.extend(w.problems)
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, w.last_checkpoint_seq)
        for s in w.matched:
            wanted.pop(s, None)
        if w.last_seq:
            report.last_seq, report.head_hash = w.last_seq, w.head_hash
        if w.stopped:
            return report
        expected, prev = w.last_seq + 1, w.head_hash
    return _unmet_checkpoints(wanted, report, stop_at_first)
