"""Verifying a large audit log with worker processes, each recomputing one seq range over its own connection.

The checkpoints, the witnesses, the links between ranges and the unsigned tail are checked in the calling
process, so the report (problems in seq order, the first bad entry first) is the one
:func:`kgys.audit.verify.verify_database` gives.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from kgys.audit.canonical import GENESIS_HASH
from kgys.audit.checkpoints import Checkpoint, TailPolicy
from kgys.audit.models import AuditEntry
from kgys.audit.report import Problem, VerifyReport, hash_problem, link_problem, seq_problem
from kgys.audit.verify import Walk, finish, prepare, read_checkpoints, stream_entries, verify_chain, walk


def _verify_range(url: str, first: int, last: int, wanted: dict[int, list[Checkpoint]],
                  stop_at_first: bool) -> Walk:
    """Worker: check the entries first ≤ seq ≤ last over a connection of its own."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = stream_entries(conn, first=first, last=last)
            try:
                return walk(rows, wanted, expected_seq=None, prev=None, stop_at_first=stop_at_first)
            finally:
                rows.close()
    finally:
        engine.dispose()


def _ranges(first: int, last: int, parts: int) -> list[tuple[int, int]]:
    size = -(-(last - first + 1) // parts)
    return [(a, min(a + size - 1, last)) for a in range(first, last + 1, size)]


def verify_database_parallel(
    url: str, public_key: Ed25519PublicKey | None, *, jobs: int, stop_at_first: bool = True,
    min_per_job: int = 100_000, witnesses: Mapping[str, Iterable[Checkpoint]] | None = None,
    tail: TailPolicy | None = None, now: datetime | None = None,
) -> VerifyReport:
    """Verify the audit log at ``url`` with ``jobs`` worker processes, each recomputing one seq range.

    Below ``min_per_job`` entries per worker the log is verified in this process. The options are those
    of :func:`kgys.audit.verify.verify_chain`.
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            cps = read_checkpoints(conn)  # before the entry bounds: a checkpoint's entry is always within them
            low, high = conn.execute(select(func.min(AuditEntry.seq), func.max(AuditEntry.seq))).one()
            if low is None or jobs <= 1 or (high - min(low, 1) + 1) < 2 * min_per_job:
                rows = stream_entries(conn)
                try:
                    return verify_chain(rows, cps, public_key, stop_at_first=stop_at_first, witnesses=witnesses,
                                        tail=tail, now=now)
                finally:
                    rows.close()
    finally:
        engine.dispose()
    report = VerifyReport()
    wanted = prepare(cps, public_key, witnesses=witnesses, stop_at_first=stop_at_first, report=report)
    if wanted is None:
        return report
    ranges = _ranges(min(low, 1), high, min(jobs, max(1, (high - min(low, 1) + 1) // min_per_job)))
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=len(ranges), mp_context=ctx) as pool:
        futures = [pool.submit(_verify_range, url, a, b, {s: c for s, c in wanted.items() if a <= s <= b},
                               stop_at_first) for a, b in ranges]
        walks = [f.result() for f in futures]
    return _merge(walks, wanted, report, stop_at_first=stop_at_first, tail=tail, now=now)


def _merge(walks: list[Walk], wanted: dict[int, list[Checkpoint]], report: VerifyReport, *,
           stop_at_first: bool, tail: TailPolicy | None, now: datetime | None) -> VerifyReport:
    """Join range results in seq order, checking each range's first entry against the one before it."""
    expected, prev = 1, GENESIS_HASH
    unsigned_from: datetime | str | None = None
    for w in walks:
        if w.first is None:
            continue
        seq, prev_hash, own_ok = w.first
        border: list[Problem] = []
        if seq != expected:
            border.append(seq_problem(seq, expected))
        if border and stop_at_first:
            report.entries += 1
            report.problems.extend(border)
            return report
        if prev_hash != prev:
            border.append(link_problem(seq))
        elif not own_ok:
            border.append(hash_problem(seq))
        report.problems.extend(border)
        if border and stop_at_first:
            report.entries += 1
            return report
        report.entries += w.entries
        report.problems.extend(w.problems)
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, w.last_checkpoint_seq)
        if w.matched:
            unsigned_from = w.unsigned_from
        elif unsigned_from is None:
            unsigned_from = w.unsigned_from
        for s in w.matched:
            wanted.pop(s, None)
        if w.last_seq:
            report.last_seq, report.head_hash = w.last_seq, w.head_hash
        if w.stopped:
            return report
        expected, prev = w.last_seq + 1, w.head_hash
    return finish(report, wanted, unsigned_from, tail=tail, now=now, stop_at_first=stop_at_first)
