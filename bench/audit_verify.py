"""Verifying a large audit log, next to a bare read-and-hash of the same rows in the same run.

The log is filled fast and directly (a valid chain computed with ``chain_hash`` over ``entry_payload``,
checkpoints signed every 1,000 entries, then bulk-inserted: ``COPY`` on PostgreSQL, ``executemany`` in
one transaction on SQLite); the filler is not what is measured. Then:

- ``verify_database``: :func:`kgys.audit.verify.verify_database` over the whole log;
- ``kgys audit verify``: the command line, end to end, once (process start included);
- ``fetch only``: the same ``SELECT`` through SQLAlchemy, rows turned into tuples, nothing else;
- bare: the same rows streamed with the driver alone plus ``hashlib.sha256`` over each row's text.

Run: ``.venv/bin/python -m bench.audit_verify --engine both --entries 1000000``
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from bench import common
from kgys.audit import hashing
from kgys.audit import verify as verify_mod
from kgys.audit.canonical import GENESIS_HASH, canonical_json, chain_hash, entry_payload
from kgys.audit.models import AuditCheckpoint, AuditEntry
from kgys.audit.parallel import verify_database_parallel
from kgys.audit.signing import Signer, checkpoint_hash, checkpoint_message
from kgys.audit.verify import ENTRY_COLUMNS, verify_database

GOAL_SECONDS = 5.0
COLUMNS = [c.key for c in ENTRY_COLUMNS]
ACTIONS = ("site.update", "camera.create", "recorder.update", "live.view", "rollout.update", "user.login")


def chain_rows(n: int, signer: Signer, every: int = 1000) -> Iterator[tuple[list[tuple[Any, ...]], list[Any]]]:
    """Chunks of valid entry rows (ENTRY_COLUMNS order) and the checkpoints signed over them."""
    prev = GENESIS_HASH
    cp_prev = GENESIS_HASH  # checkpoints chain to each other as the service signs them
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chunk: list[tuple[Any, ...]] = []
    cps: list[Any] = []
    for seq in range(1, n + 1):
        ts = start + timedelta(microseconds=seq * 1_234_567)
        action = ACTIONS[seq % len(ACTIONS)]
        site_id = seq % 20_000 + 1
        details = canonical_json({"fields": ["name"], "changes": {"name": {"from": f"Okul {seq - 1}",
                                                                           "to": f"Okul {seq}"}}}).decode()
        reason = "kamera arızası" if seq % 7 == 0 else None
        digest_b = hashlib.sha256(str(seq).encode()).hexdigest()
        payload = entry_payload(seq=seq, ts=ts, actor_id=seq % 50 + 1, actor=f"user{seq % 50 + 1}", action=action,
                                object_type=action.split(".")[0], object_id=str(site_id), site_id=site_id,
                                reason=reason, legal_basis=None, before_digest=digest_b, after_digest=digest_b,
                                details=details)
        h = chain_hash(prev, payload)
        chunk.append((seq, ts, seq % 50 + 1, f"user{seq % 50 + 1}", action, action.split(".")[0], str(site_id),
                      site_id, reason, None, digest_b, digest_b, details, prev, h))
        prev = h
        if seq % every == 0 or seq == n:  # the end signed too: an old unsigned tail fails verification
            created = ts + timedelta(seconds=1)
            msg = checkpoint_message(seq, h, created.isoformat(timespec="microseconds"), signer.key_id, cp_prev)
            cps.append({"seq": seq, "entry_hash": h, "created_at": created, "key_id": signer.key_id,
                        "signature": signer.sign(msg), "prev_checkpoint_hash": cp_prev})
            cp_prev = checkpoint_hash(cp_prev, msg)
        if len(chunk) == 50_000:
            yield chunk, cps
            chunk, cps = [], []
    if chunk or cps:
        yield chunk, cps


def fill(db: common.BenchDb, n: int) -> float:
    """Write a valid chain of ``n`` entries; return the seconds it took."""
    started = time.perf_counter()
    signer = db.rt.signer
    ts_type = AuditEntry.__table__.c.ts.type
    ts_bind = ts_type.dialect_impl(db.rt.engine.dialect).bind_processor(db.rt.engine.dialect)
    with db.rt.engine.begin() as conn:
        for rows, cps in chain_rows(n, signer):
            if db.kind == "postgresql":
                raw = conn.connection.driver_connection
                cur = raw.cursor()  # type: ignore[union-attr]
                with cur.copy(f"COPY audit_entries ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
            else:
                assert ts_bind is not None
                ph = ", ".join("?" * len(COLUMNS))
                conn.exec_driver_sql(f"INSERT INTO audit_entries ({', '.join(COLUMNS)}) VALUES ({ph})",
                                     [(r[0], ts_bind(r[1]), *r[2:]) for r in rows])
            if cps:
                conn.execute(insert(AuditCheckpoint), cps)
    if db.kind == "postgresql":
        with db.rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE audit_entries")
    return time.perf_counter() - started


Timing = tuple[float, float, Any]  # wall seconds, CPU seconds of this process, result


def time_verify(db: common.BenchDb) -> Timing:
    """Seconds for ``verify_database`` over the whole log, and its report."""
    with db.rt.engine.connect() as conn:
        started, cpu = time.perf_counter(), time.process_time()
        rep = verify_database(conn, db.rt.signer.public)
        return time.perf_counter() - started, time.process_time() - cpu, rep


def time_parallel(db: common.BenchDb, jobs: int) -> Timing:
    """Seconds for ``verify_database_parallel`` with ``jobs`` workers; CPU is this process plus its workers."""
    def cpu_now() -> float:
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime

    started, cpu = time.perf_counter(), cpu_now()
    rep = verify_database_parallel(db.url, db.rt.signer.public, jobs=jobs)
    return time.perf_counter() - started, cpu_now() - cpu, rep


def time_fetch(db: common.BenchDb) -> Timing:
    """Seconds to stream the same rows through SQLAlchemy as tuples, doing nothing with them."""
    n = 0
    with db.rt.engine.connect() as conn:
        started, cpu = time.perf_counter(), time.process_time()
        result = conn.execute(select(*ENTRY_COLUMNS).order_by(AuditEntry.seq).execution_options(yield_per=20000))
        for _ in (tuple(r) for r in result):
            n += 1
        return time.perf_counter() - started, time.process_time() - cpu, n


def time_bare(db: common.BenchDb) -> Timing:
    """Seconds to stream the rows with the bare driver and SHA-256 each row's text."""
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit_entries ORDER BY seq"
    sha = hashlib.sha256
    n = 0
    raw = db.rt.engine.raw_connection()
    try:
        driver = raw.driver_connection
        started, cpu = time.perf_counter(), time.process_time()
        if db.kind == "postgresql":
            with driver.cursor(name="bench_stream") as cur:  # type: ignore[union-attr]
                cur.itersize = 20000
                cur.execute(sql)
                for row in cur:
                    sha(str(row).encode()).digest()
                    n += 1
        else:
            cur = driver.cursor()  # type: ignore[union-attr]
            cur.execute(sql)
            for row in cur:
                sha(str(row).encode()).digest()
                n += 1
            cur.close()
        took, cpu = time.perf_counter() - started, time.process_time() - cpu
        raw.rollback()
    finally:
        raw.close()
    return took, cpu, n


def time_cli(db: common.BenchDb, timeout: float) -> Timing:
    """Wall and CPU seconds of ``python -m kgys audit verify`` on the database, and its last output line."""
    env = dict(os.environ, KGYS_MODE="dev", COLUMNS="240")
    cmd = [sys.executable, "-m", "kgys", "--database-url", db.url, "--data-dir", str(db.data_dir), "--mode", "dev",
           "audit", "verify"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=common.ROOT)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines() or [""])[-1]
    if proc.returncode != 0:
        out = f"exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
    return took, cpu, out


def breakdown(db: common.BenchDb, sample: int = 200_000) -> list[list[str]]:
    """Where verification spends CPU, per 1,000,000 entries: streaming (full log), then each per-row step
    over ``sample`` rows held in memory, scaled up; the hashing as it was before the shortcut for contrast."""
    scale = 1_000_000 / sample
    out: list[list[str]] = []

    def cpu(fn: Callable[[], Any]) -> float:
        started = time.process_time()
        fn()
        return time.process_time() - started

    n = 0
    with db.rt.engine.connect() as conn:
        dialect = conn.dialect
        sql = str(select(*ENTRY_COLUMNS).order_by(AuditEntry.seq).compile(dialect=dialect))

        def driver_only() -> None:
            driver: Any = conn.connection.driver_connection
            cur = driver.cursor(name="bench_breakdown") if db.kind == "postgresql" else driver.cursor()
            cur.execute(sql)
            while cur.fetchmany(20000):
                pass
            cur.close()

        t_driver = cpu(driver_only)
        rows: list[tuple[Any, ...]] = []

        def stream() -> None:
            nonlocal n
            for r in verify_mod.stream_entries(conn):
                n += 1
                if len(rows) < sample:
                    rows.append(r)

        t_stream = cpu(stream)
        conn.rollback()
    per_m = 1_000_000 / max(n, 1)
    out.append(["row fetch (driver cursor, no conversion)", f"{t_driver * per_m:.2f}"])
    out.append(["datetime conversion of ts (ORM type's result processor)", f"{(t_stream - t_driver) * per_m:.2f}"])
    iso = cpu(lambda: [r[1] if isinstance(r[1], str) else r[1].isoformat(timespec="microseconds") for r in rows])
    text = cpu(lambda: [hashing.fast_payload_text(r) for r in rows])
    hashed = cpu(lambda: [hashing.entry_hash_of(r) for r in rows])
    full = cpu(lambda: verify_mod.verify_chain(rows, [], None))
    old = cpu(lambda: [chain_hash(r[13], hashing.payload_of(r)) for r in rows])
    out.append(["payload text: ts.isoformat()", f"{iso * scale:.2f}"])
    out.append(["payload text: the rest (type checks, string escaping, join)", f"{(text - iso) * scale:.2f}"])
    out.append(["SHA-256 (encode, hash, hexdigest)", f"{(hashed - text) * scale:.2f}"])
    out.append(["verify_chain loop itself (checks, bookkeeping)", f"{(full - hashed) * scale:.2f}"])
    out.append(["*for contrast:* hashing as before (entry_payload dict + json.dumps + SHA-256)", f"{old * scale:.2f}"])
    return out


def profile_verify(db: common.BenchDb, top: int = 20) -> str:
    """cProfile summary of one ``verify_database`` run, by own time."""
    prof = cProfile.Profile()
    with db.rt.engine.connect() as conn:
        prof.runcall(verify_database, conn, db.rt.signer.public)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().strip().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    head = [line for line in lines[:start] if "function calls" in line]
    return "\n".join(head + lines[start:]).replace(str(common.ROOT) + "/", "")


def best(fn: Callable[[], Timing], repeat: int) -> Timing:
    """The fastest of ``repeat`` runs."""
    runs = [fn() for _ in range(repeat)]
    return min(runs, key=lambda r: r[0])


def run_engine(kind: str, args: Any) -> tuple[list[list[str]], list[str]]:
    """Fill and measure one engine."""
    rows: list[list[str]] = []
    notes: list[str] = []
    n = args.entries
    with common.throwaway_db(kind) as db:
        filled = fill(db, n)
        notes.append(f"- {kind}: filled {n:,} entries and {n // 1000:,} signed checkpoints in {filled:.1f} s "
                     "(not measured).")
        bare_s, bare_cpu, bare_n = best(lambda: time_bare(db), args.repeat)
        fetch_s, fetch_cpu, _ = best(lambda: time_fetch(db), args.repeat)
        ver_s, ver_cpu, rep = best(lambda: time_verify(db), args.repeat)
        if not rep.ok or rep.entries != n:
            raise SystemExit(f"{kind}: verification failed on the filled log: {rep.problems[:3]}")
        par_s, par_cpu, par_rep = best(lambda: time_parallel(db, args.jobs), args.repeat)
        if par_rep != rep:
            raise SystemExit(f"{kind}: the parallel report differs: {par_rep} vs {rep}")
        cli_s, cli_cpu, cli_out = time_cli(db, timeout=max(args.max_seconds, 60.0))

        def row(what: str, wall: float, cpu: float, goal: bool) -> list[str]:
            per_million = wall * 1_000_000 / n
            verdict = ("met" if per_million <= GOAL_SECONDS else "missed") if goal else ""
            if goal and n != 1_000_000:
                verdict += f" ({per_million:.1f} s per 1M, projected)"
            return [kind, what, f"{n:,}", f"{wall:.2f}", f"{cpu:.2f}", common.fmt_rate(n / wall),
                    f"{wall / bare_s:.1f}×", verdict]

        rows.append(row("verify_database", ver_s, ver_cpu, True))
        rows.append(row(f"verify_database_parallel, {args.jobs} workers (CPU: with workers)", par_s, par_cpu, True))
        rows.append(row("kgys audit verify (CLI, end to end, --jobs = CPUs)", cli_s, cli_cpu, True))
        rows.append(row("fetch only (SQLAlchemy rows → tuples)", fetch_s, fetch_cpu, False))
        rows.append(row("bare: driver stream + SHA-256 of each row's text", bare_s, bare_cpu, False))
        notes.append(f"- {kind} CLI said: `{cli_out}`")
        if bare_n != n:
            notes.append(f"- {kind}: bare stream read {bare_n:,} rows (expected {n:,}).")
        if args.breakdown:
            table = common.table(["step", "CPU s per 1M entries"], breakdown(db))
            notes.append(f"\n{kind}: where the CPU goes\n\n{table}\n")
        if args.profile:
            notes.append(f"<details><summary>{kind}: cProfile of verify_database (by own time)</summary>\n\n"
                         f"```\n{profile_verify(db)}\n```\n</details>")
    return rows, notes


def main() -> None:
    """Parse options, run, print (and optionally append) the results."""
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--entries", type=int, default=1_000_000, help="entries in the log (default 1000000)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each timing; the fastest is reported")
    p.add_argument("--profile", action="store_true", help="add a cProfile summary of verify_database")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="workers of the parallel row (default: CPUs)")
    p.add_argument("--breakdown", action="store_true", help="add CPU seconds per 1M entries of each step")
    args = p.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(args.engine)
    rows: list[list[str]] = []
    notes: list[str] = [f"- Goal: verify 1,000,000 entries in ≤ {GOAL_SECONDS:.0f} s (wall clock)."]
    for kind in kinds:
        r, n = run_engine(kind, args)
        rows += r
        notes += n
    body = common.table(["engine", "what", "entries", "wall s", "CPU s (client)", "entries/s (wall)",
                         "÷ bare (wall)", "goal ≤ 5 s"], rows)
    common.report(f"Audit verification ({args.entries:,} entries)", body, kinds=kinds,
                  append=args.append_results, notes=notes)


if __name__ == "__main__":
    main()
