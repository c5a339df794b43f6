"""Audited writes per second, next to bare SQL doing the same amount of writing in the same run.

Two paths are measured on each engine:

- ``append``: direct :func:`kgys.audit.service.append` calls, committing every ``--batch``; the bare
  baseline is a plain ``INSERT`` of rows of the same width into an unindexed scratch table with
  ``executemany``, committing at the same points. ``append_many``: the same entries, one
  :func:`kgys.audit.service.append_many` call per batch.
- ``mechanism``: an ORM change of an audited model (a Site's name), ``--batch`` sites per transaction,
  which appends one entry per site through the flush hook; baselines are the same ORM change with the
  audit hook detached, and a bare ``UPDATE … WHERE id = ?`` with ``executemany``.

A third row per engine (``--no-bulk`` leaves it out) shows what batching would reach: the same payload
and chain hashing as ``append``, written with one ``executemany`` per batch into a copy of the audit
table with the same primary key and indexes.

Run: ``.venv/bin/python -m bench.audit_append --engine both --entries 100000 --batch 100``
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, select, text
from sqlalchemy.orm import Session

from bench import common, dataset
from kgys.accounts.actor import system_actor
from kgys.audit import mechanism
from kgys.audit import service as audit_service
from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash, entry_payload, normalise
from kgys.audit.models import AuditEntry
from kgys.sites.models import Site

GOAL_PG = 10_000
SCRATCH_COLUMNS = ("seq", "ts", "actor_id", "actor", "action", "object_type", "object_id", "site_id", "reason",
                   "legal_basis", "before_digest", "after_digest", "details", "prev_hash", "entry_hash")


def _scratch_ddl(kind: str) -> str:
    ts = "TIMESTAMP WITH TIME ZONE" if kind == "postgresql" else "DATETIME"
    return (f"CREATE TABLE bench_scratch (seq BIGINT NOT NULL, ts {ts} NOT NULL, actor_id INTEGER, "
            "actor VARCHAR(120) NOT NULL, action VARCHAR(64) NOT NULL, object_type VARCHAR(64) NOT NULL, "
            "object_id VARCHAR(64) NOT NULL, site_id INTEGER, reason TEXT, legal_basis TEXT, "
            "before_digest VARCHAR(64), after_digest VARCHAR(64), details TEXT NOT NULL, "
            "prev_hash VARCHAR(64) NOT NULL, entry_hash VARCHAR(64) NOT NULL)")


def _details(i: int) -> dict[str, Any]:
    return {"i": i, "note": "benchmark entry"}


Timed = tuple[int, float]


def bare_inserts(db: common.BenchDb, *, entries: int, batch: int, deadline: common.Deadline) -> Timed:
    """Plain executemany INSERTs into an unindexed table, one commit per batch."""
    kind = db.kind
    ph = "%s" if kind == "postgresql" else "?"
    sql = f"INSERT INTO bench_scratch ({', '.join(SCRATCH_COLUMNS)}) VALUES ({', '.join([ph] * 15)})"
    h = "ab" * 32
    details = '{"i":0,"note":"benchmark entry"}'
    done = 0
    with db.rt.engine.connect() as conn:
        conn.exec_driver_sql(_scratch_ddl(kind))
        conn.commit()
        started = time.perf_counter()
        while done < entries and not deadline.expired:
            n = min(batch, entries - done)
            now = datetime.now(UTC)
            ts: Any = now if kind == "postgresql" else now.isoformat(sep=" ")
            rows = [(done + k + 1, ts, None, "bench", "bench.write", "thing", str(done + k), (done + k) % 500 + 1,
                     "benchmark run", None, None, None, details, h, h) for k in range(n)]
            conn.exec_driver_sql(sql, rows)
            conn.commit()
            done += n
        took = time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE bench_scratch")
        conn.commit()
    return done, took


def bulk_prototype(db: common.BenchDb, *, entries: int, batch: int, deadline: common.Deadline) -> Timed:
    """What a bulk append would reach: the same payload and chain hashing as ``append``, written with one
    ``executemany`` per batch into a copy of the audit table with the same primary key and indexes."""
    kind = db.kind
    ph = "%s" if kind == "postgresql" else "?"
    sql = f"INSERT INTO bench_bulk ({', '.join(SCRATCH_COLUMNS)}) VALUES ({', '.join([ph] * 15)})"
    ts_type = AuditEntry.__table__.c.ts.type
    ts_bind = ts_type.dialect_impl(db.rt.engine.dialect).bind_processor(db.rt.engine.dialect)
    prev = GENESIS_HASH
    done = 0
    with db.rt.engine.connect() as conn:
        conn.exec_driver_sql(_scratch_ddl(kind).replace("bench_scratch", "bench_bulk")
                             .replace("seq BIGINT NOT NULL", "seq BIGINT NOT NULL PRIMARY KEY"))
        for col in ("ts", "actor_id", "action", "site_id"):
            conn.exec_driver_sql(f"CREATE INDEX ix_bench_bulk_{col} ON bench_bulk ({col})")
        conn.commit()
        started = time.perf_counter()
        while done < entries and not deadline.expired:
            rows = []
            for k in range(done, min(entries, done + batch)):
                seq, ts = k + 1, datetime.now(UTC)
                details = canonical_json(normalise(_details(k))).decode("utf-8")
                payload = entry_payload(
                    seq=seq, ts=ts, actor_id=None, actor="bench", action="bench.write", object_type="thing",
                    object_id=str(k), site_id=k % 500 + 1, reason="benchmark run", legal_basis=None,
                    before_digest=None, after_digest=None, details=details)
                h = chain_hash(prev, payload)
                rows.append((seq, ts_bind(ts) if ts_bind else ts, None, "bench", "bench.write", "thing", str(k),
                             k % 500 + 1, "benchmark run", None, None, None, details, prev, h))
                prev = h
            conn.exec_driver_sql(sql, rows)
            conn.commit()
            done += len(rows)
        took = time.perf_counter() - started
        conn.exec_driver_sql("DROP TABLE bench_bulk")
        conn.commit()
    return done, took


def audited_appends(db: common.BenchDb, *, entries: int, batch: int, deadline: common.Deadline) -> Timed:
    """``audit.service.append`` calls, one commit per batch (checkpoints signed as configured)."""
    actor = system_actor("bench")
    done = 0
    with db.rt.sessions() as session:
        started = time.perf_counter()
        while done < entries and not deadline.expired:
            n = min(batch, entries - done)
            for k in range(done, done + n):
                audit_service.append(session, actor=actor, action="bench.write", object_type="thing",
                                     object_id=k, site_id=k % 500 + 1, reason="benchmark run", details=_details(k))
            session.commit()
            done += n
        took = time.perf_counter() - started
    return done, took


def audited_append_many(db: common.BenchDb, *, entries: int, batch: int, deadline: common.Deadline) -> Timed:
    """``audit.service.append_many`` with the entries of each batch, one commit per batch."""
    actor = system_actor("bench")
    done = 0
    with db.rt.sessions() as session:
        started = time.perf_counter()
        while done < entries and not deadline.expired:
            n = min(batch, entries - done)
            audit_service.append_many(session, actor=actor, entries=[audit_service.NewEntry(
                action="bench.write", object_type="thing", object_id=k, site_id=k % 500 + 1,
                reason="benchmark run", details=_details(k)) for k in range(done, done + n)])
            session.commit()
            done += n
        took = time.perf_counter() - started
    return done, took


def _site_ids(conn: Connection) -> list[int]:
    return list(conn.execute(select(Site.id).order_by(Site.id)).scalars())


def orm_updates(db: common.BenchDb, *, updates: int, batch: int, deadline: common.Deadline, tag: str) -> Timed:
    """Load ``batch`` sites, rename each, commit; repeat until ``updates`` renames are done."""
    actor = system_actor("bench")
    with db.rt.engine.connect() as conn:
        ids = _site_ids(conn)
    done = 0
    pos = 0
    started = time.perf_counter()
    while done < updates and not deadline.expired:
        n = min(batch, updates - done, len(ids))
        chunk = [ids[(pos + k) % len(ids)] for k in range(n)]
        pos += n
        with db.rt.sessions() as session:
            mechanism.set_actor(session, actor, reason="benchmark")
            for site in session.scalars(select(Site).where(Site.id.in_(chunk))):
                site.name = f"{tag} {done} {site.id}"
            session.commit()
        done += n
    return done, time.perf_counter() - started


def bare_updates(db: common.BenchDb, *, updates: int, batch: int, deadline: common.Deadline) -> Timed:
    """Plain executemany ``UPDATE sites SET name … WHERE id = ?``, one commit per batch."""
    ph = "%s" if db.kind == "postgresql" else "?"
    sql = f"UPDATE sites SET name = {ph}, updated_at = {ph}, version = version + 1 WHERE id = {ph}"
    with db.rt.engine.connect() as conn:
        ids = _site_ids(conn)
        conn.commit()
        done = 0
        pos = 0
        started = time.perf_counter()
        while done < updates and not deadline.expired:
            n = min(batch, updates - done, len(ids))
            now = datetime.now(UTC)
            ts: Any = now if db.kind == "postgresql" else now.isoformat(sep=" ")
            rows = [(f"bare {done} {ids[(pos + k) % len(ids)]}", ts, ids[(pos + k) % len(ids)]) for k in range(n)]
            pos += n
            conn.exec_driver_sql(sql, rows)
            conn.commit()
            done += n
        took = time.perf_counter() - started
    return done, took


def without_audit_hook(fn: Callable[[], Timed]) -> Timed:
    """Run ``fn`` with the automatic audit hook detached from Session (for the ORM-only baseline)."""
    hook = mechanism._after_flush
    event.remove(Session, "after_flush", hook)
    try:
        return fn()
    finally:
        mechanism.install(Session)


def _rate(t: Timed) -> float:
    return t[0] / t[1] if t[1] > 0 else 0.0


def _median(results: list[Timed]) -> Timed:
    rates = [_rate(r) for r in results]
    return results[rates.index(statistics.median_low(rates))]


def _profiled(fn: Callable[[], Timed], top: int) -> tuple[Timed, str]:
    prof = cProfile.Profile()
    result = prof.runcall(fn)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return result, out.getvalue()


def run_engine(kind: str, args: Any) -> tuple[list[list[str]], list[str]]:
    """Measure both paths on one engine; return table rows and notes."""
    rows: list[list[str]] = []
    notes: list[str] = []
    with common.throwaway_db(kind) as db:
        with db.rt.engine.begin() as conn:
            districts = dataset.make_tree(conn, districts_per_province=20)
            dataset.make_sites(conn, districts, args.sites, system_share=0.0)

        def dl() -> common.Deadline:
            return common.Deadline(args.max_seconds)

        bare: list[Timed] = []
        audited: list[Timed] = []
        many: list[Timed] = []
        for _ in range(args.rounds):
            bare.append(bare_inserts(db, entries=args.entries, batch=args.batch, deadline=dl()))
            audited.append(audited_appends(db, entries=args.entries, batch=args.batch, deadline=dl()))
            many.append(audited_append_many(db, entries=args.entries, batch=args.batch, deadline=dl()))
        b, a, m = _median(bare), _median(audited), _median(many)
        rows.append([kind, "append", f"{a[0]:,}", common.fmt_rate(_rate(a)), common.fmt_rate(_rate(b)),
                     f"{_rate(a) / _rate(b):.2f}", f"{a[1]:.1f}"])
        rows.append([kind, "append_many (one call, one executemany per batch)", f"{m[0]:,}",
                     common.fmt_rate(_rate(m)), common.fmt_rate(_rate(b)), f"{_rate(m) / _rate(b):.2f}",
                     f"{m[1]:.1f}"])
        if args.bulk:
            bp = bulk_prototype(db, entries=args.entries, batch=args.batch, deadline=dl())
            rows.append([kind, "… bulk-insert prototype (same hashing, one executemany per batch)", f"{bp[0]:,}",
                         common.fmt_rate(_rate(bp)), common.fmt_rate(_rate(b)), f"{_rate(bp) / _rate(b):.2f}",
                         f"{bp[1]:.1f}"])
        if a[0] < args.entries:
            notes.append(f"- {kind} append stopped at the {args.max_seconds:.0f} s bound after {a[0]:,} entries.")

        upd = args.updates
        bu = bare_updates(db, updates=upd, batch=args.batch, deadline=dl())
        ou = without_audit_hook(lambda: orm_updates(db, updates=upd, batch=args.batch, deadline=dl(), tag="orm"))
        mu = orm_updates(db, updates=upd, batch=args.batch, deadline=dl(), tag="audited")
        rows.append([kind, "mechanism (Site rename)", f"{mu[0]:,}", common.fmt_rate(_rate(mu)),
                     common.fmt_rate(_rate(bu)), f"{_rate(mu) / _rate(bu):.2f}", f"{mu[1]:.1f}"])
        rows.append([kind, "… same ORM rename, audit hook detached", f"{ou[0]:,}", common.fmt_rate(_rate(ou)),
                     common.fmt_rate(_rate(bu)), f"{_rate(ou) / _rate(bu):.2f}", f"{ou[1]:.1f}"])

        if args.profile:
            n = min(args.entries, 20_000)
            _, stats = _profiled(lambda: audited_appends(db, entries=n, batch=args.batch, deadline=dl()), 18)
            notes.append(f"<details><summary>{kind}: cProfile of {n:,} appends (by own time)</summary>\n\n"
                         f"```\n{_trim_profile(stats)}\n```\n</details>")
            _, stats = _profiled(lambda: orm_updates(db, updates=min(upd, 5000), batch=args.batch,
                                                     deadline=dl(), tag="prof"), 18)
            notes.append(f"<details><summary>{kind}: cProfile of {min(upd, 5000):,} audited Site renames "
                         f"(by own time)</summary>\n\n```\n{_trim_profile(stats)}\n```\n</details>")
        with db.rt.engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM audit_entries")).scalar_one()
            cps = conn.execute(text("SELECT count(*) FROM audit_checkpoints")).scalar_one()
        notes.append(f"- {kind}: {total:,} audit entries and {cps:,} signed checkpoints written in this run.")
    return rows, notes


def _trim_profile(stats: str) -> str:
    lines = stats.strip().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    head = [line for line in lines[:start] if "function calls" in line]
    return "\n".join(head + lines[start:]).replace(str(common.ROOT) + "/", "")


def main() -> None:
    """Parse options, run, print (and optionally append) the results."""
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=100_000, help="audited appends to make (default 100000)")
    p.add_argument("--batch", type=int, default=100, help="writes per transaction (default 100)")
    p.add_argument("--updates", type=int, default=20_000, help="Site renames on the mechanism path (default 20000)")
    p.add_argument("--sites", type=int, default=2_000, help="sites to rename round-robin (default 2000)")
    p.add_argument("--rounds", type=int, default=1, help="repeat the append pair and report the median")
    p.add_argument("--profile", action="store_true", help="add a cProfile summary of each audited path")
    p.add_argument("--no-bulk", dest="bulk", action="store_false",
                   help="skip the bulk-insert prototype row (what batching the INSERTs would reach)")
    args = p.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(args.engine)
    rows: list[list[str]] = []
    notes: list[str] = []
    for kind in kinds:
        r, n = run_engine(kind, args)
        rows += r
        notes += n
    for path in ("append", "append_many", "mechanism"):
        pg = [r for r in rows if r[0] == "postgresql" and r[1].startswith(path + " ")
              or r[0] == "postgresql" and r[1] == path]
        if pg:
            rate = float(pg[0][3].replace(",", ""))
            verdict = "met" if rate >= GOAL_PG else "missed"
            notes.append(f"- Goal ≥ {GOAL_PG:,} audited writes/s on PostgreSQL, {path}: **{verdict}** "
                         f"({pg[0][3]}/s).")
    body = common.table(["engine", "path", "writes", "audited writes/s", "bare SQL writes/s",
                         "audited ÷ bare", "seconds"], rows)
    common.report(f"Audited writes (batch {args.batch})", body, kinds=kinds, append=args.append_results,
                  notes=notes)


if __name__ == "__main__":
    main()
