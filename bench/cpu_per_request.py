"""Server CPU per site-list request: ``GET /api/v1/sites?page=N`` (a bearer token, one of the first 20 pages) on
the real ``kgys serve``, next to the bare route of ``bench/bare_app.py`` serving the same read, at the same
concurrency. The server's own CPU seconds (user + system, from ``/proc``) over the measured phase, divided by
the requests it answered: on a shared machine this moves far less than requests per second do.

``--profile OUT`` runs kgys under :mod:`bench.profiled` (every thread under cProfile, in its own CPU time) and
writes the statistics of the whole run to OUT; the CPU figures of such a run include the profiler's cost.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bench import common, load


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(server: common.ServerProcess, world: load.World, kind: str, clients: int, seconds: float
            ) -> tuple[int, float, float]:
    """Requests answered 200, their rate, and the server's CPU milliseconds per request over one phase."""
    asyncio.run(load.phase(server.port, world, clients, 2.0, 30.0, ((kind, 1),)))  # warm up
    before = cpu_seconds(server.proc.pid)
    tally = asyncio.run(load.phase(server.port, world, clients, seconds, 30.0, ((kind, 1),)))
    used = cpu_seconds(server.proc.pid) - before
    ok = tally.statuses.get(200, 0)
    if ok != sum(tally.statuses.values()):
        print(f"{kind}: answers by status {dict(tally.statuses)}", file=sys.stderr)
    return ok, ok / tally.seconds, 1000 * used / max(ok, 1)


def main() -> None:
    """Measure kgys and the bare route on each engine and print a table."""
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent clients")
    p.add_argument("--seconds", type=float, default=10.0, help="length of each measured phase")
    p.add_argument("--sites", type=int, default=5000, help="sites in the registry")
    p.add_argument("--threads", type=int, default=8, help="server worker threads (kgys and the bare route)")
    p.add_argument("--rounds", type=int, default=2, help="kgys, bare, kgys, bare… phases; the median is kept")
    p.add_argument("--profile", type=Path, help="profile kgys (bench.profiled) and write its statistics here")
    p.add_argument("--no-bare", action="store_true", help="measure kgys only")
    args = p.parse_args()
    common.install_signal_cleanup()
    rows = []
    for kind in common.engines(args.engine):
        with common.throwaway_db(kind) as db:
            world = load.setup(db, args.sites)
            env = dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(db.data_dir), KGYS_DATABASE__URL=db.url,
                       KGYS_SECURITY__COOKIE_SECURE="false", KGYS_WEB__THREADS=str(args.threads))
            cmd = ["kgys", "serve", "--host", "127.0.0.1"]
            if args.profile:
                cmd = ["bench.profiled", str(args.profile.resolve().with_suffix(f".{kind}.prof")), *cmd[1:]]
            bare_env = dict(os.environ, KGYS_BENCH_BARE_URL=db.url, KGYS_BENCH_BARE_THREADS=str(args.threads))
            bare_world = load.World(token="", site_codes=world.site_codes, camera_ids=world.camera_ids)
            kgys_runs, bare_runs = [], []
            for _ in range(args.rounds):
                server = common.ServerProcess(cmd, env=env, log=db.data_dir / "serve.log", ready_path="/api/v1/health")
                try:
                    kgys_runs.append(measure(server, world, "site list", args.clients, args.seconds))
                finally:
                    server.stop()
                print(f"{kind} kgys: {kgys_runs[-1]}", file=sys.stderr)
                if args.no_bare:
                    continue
                bare = common.ServerProcess(["bench.bare_app"], env=bare_env, log=db.data_dir / "bare.log",
                                            ready_path="/sites")
                try:
                    bare_runs.append(measure(bare, bare_world, "bare site list", args.clients, args.seconds))
                finally:
                    bare.stop()
                print(f"{kind} bare: {bare_runs[-1]}", file=sys.stderr)
            k = sorted(kgys_runs, key=lambda r: r[2])[len(kgys_runs) // 2]
            b = sorted(bare_runs, key=lambda r: r[2])[len(bare_runs) // 2] if bare_runs else (0, 0.0, 0.0)
            rows.append([kind, str(args.clients), f"{k[2]:.2f}", common.fmt_rate(k[1]), f"{b[2]:.2f}",
                         common.fmt_rate(b[1]), f"{k[2] / b[2]:.2f} ×" if b[2] else "–",
                         f"{k[1] / b[1]:.2f} ×" if b[1] else "–"])
    body = common.table(["engine", "clients", "kgys CPU ms/request", "kgys req/s", "bare CPU ms/request",
                         "bare req/s", "CPU kgys ÷ bare", "req/s kgys ÷ bare"], rows)
    common.report("Site list: server CPU per request", body, kinds=common.engines(args.engine),
                  append=args.append_results,
                  notes=[f"- {args.clients} clients, {args.seconds:.0f} s phases, median of {args.rounds} rounds; "
                         f"{args.sites:,} sites; {args.threads} server threads; one server process each."])


if __name__ == "__main__":
    main()
