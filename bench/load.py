"""Load: many concurrent clients for a fixed time against the real `kgys serve`, 80 % reads and 20 % writes,
next to a bare FastAPI + SQLAlchemy route serving the same read in the same run.

Each client is one connection doing one request after another, with no pause (a request unanswered
``--timeout`` seconds after it was sent, all steps together, is a hang and is given up): reads are the site list (a
random one of the first 20 pages), one site, and the audit log (a random one of its first 5 pages); writes
edit the client's own site (name and priority, with its version) and place or release a legal hold on a
random camera. Every answer is counted by status; a request without an answer within ``--timeout`` seconds
counts as a hang. Then the site list alone is served by kgys and by ``bench/bare_app.py`` at the same
concurrency, and the ratio of their throughputs is reported.

Between them, ``--logins`` wrong sign-ins are sent at once (an attacker guessing passwords): each costs an
argon2 check, so most wait; all must be answered (401, or 503 with Retry-After) and the next request at once.

Goals: no 5xx other than 503 (which must carry Retry-After) and no hang at 500 clients on both engines;
p99 ≤ 500 ms at 100 clients; kgys's site list ≥ 0.5 × the bare route's throughput.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bench import common, dataset
from bench.http1 import Answer, Connection
from kgys.accounts import service as account_service
from kgys.accounts.actor import system_actor
from kgys.cameras.models import Camera
from kgys.config import WebSettings
from kgys.db import reading
from kgys.sites.models import Site

PASSWORD = "load-bench-Passphrase-7f3a9c2e"
READS = (("site list", 40), ("site page", 25), ("audit page", 15))
WRITES = (("site edit", 10), ("hold", 10))


@dataclass
class Tally:
    """What one measured phase saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    hangs: int = 0
    transport_errors: int = 0
    client_cpu: float = 0.0
    busy_without_retry_after: int = 0
    seconds: float = 0.0

    def add(self, kind: str, status: int, elapsed: float, retry_after: bool) -> None:
        """Count one answered request."""
        self.latencies.setdefault(kind, []).append(elapsed)
        self.statuses[status] += 1
        if status == 503 and not retry_after:
            self.busy_without_retry_after += 1

    def all(self) -> list[float]:
        """Every latency."""
        return [x for xs in self.latencies.values() for x in xs]


@dataclass
class World:
    """What the clients act on."""

    token: str
    site_codes: list[str]
    camera_ids: list[int]


def setup(db: common.BenchDb, n_sites: int) -> World:
    """Fill the registry (sites, some with cameras) and create an administrator with a bearer token."""
    with db.rt.engine.begin() as conn:
        tree = dataset.make_tree(conn, districts_per_province=10)
        dataset.make_sites(conn, tree, n_sites)
    with db.rt.sessions() as session:
        user = account_service.create_user(session=session, actor=system_actor("bench-setup"), username="bench.load",
                                           password=PASSWORD, role="admin", jurisdiction_codes=["TR"])
        token = account_service.issue_token(session=session, settings=db.rt.settings.security, user=user,
                                            name="load")
        session.commit()
    with reading(db.rt.sessions) as session:
        codes = list(session.scalars(select(Site.code).order_by(Site.id).limit(1000)))
        cameras = list(session.scalars(select(Camera.id).order_by(Camera.id).limit(200)))
    with db.rt.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if db.kind == "postgresql" else "ANALYZE")
    return World(token=token, site_codes=codes, camera_ids=cameras)


class Client:
    """One simulated user: a connection and the state of its own writes."""

    def __init__(self, n: int, world: World, http: Connection, tally: Tally, mix: tuple[tuple[str, int], ...],
                 rnd: random.Random, timeout: float) -> None:
        self.world, self.http, self.tally, self.rnd, self.timeout = world, http, tally, rnd, timeout
        self.own_site = world.site_codes[n % len(world.site_codes)]
        self.version: int | None = None
        self.hold: int | None = None
        self.kinds = [k for k, _ in mix]
        self.weights = [w for _, w in mix]

    async def one(self) -> None:
        """Do one request of the mix and count it."""
        kind = self.rnd.choices(self.kinds, self.weights)[0]
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(self._do(kind), self.timeout)
        except TimeoutError:
            self.tally.hangs += 1
            return
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.tally.transport_errors += 1
            return
        self.tally.add(kind, response.status_code, time.perf_counter() - started,
                       "retry-after" in response.headers)

    async def _do(self, kind: str) -> Answer:
        w, rnd = self.world, self.rnd
        if kind == "site list":
            return await self.http.request("GET", f"/api/v1/sites?page={rnd.randint(1, 20)}")
        if kind == "bare site list":
            return await self.http.request("GET", f"/sites?page={rnd.randint(1, 20)}")
        if kind == "site page":
            return await self.http.request("GET", f"/api/v1/sites/{rnd.choice(w.site_codes)}")
        if kind == "audit page":
            return await self.http.request("GET", f"/api/v1/audit?page={rnd.randint(1, 5)}")
        if kind == "site edit":
            if self.version is None:
                r = await self.http.request("GET", f"/api/v1/sites/{self.own_site}")
                if r.status_code != 200:
                    return r
                self.version = int(r.json()["version"])
            r = await self.http.request("PATCH", f"/api/v1/sites/{self.own_site}", {
                "version": self.version, "priority": rnd.randint(1, 5),
                "name": f"Yük Deneme Okulu {rnd.randint(1, 10**6)}"})
            self.version = int(r.json()["version"]) if r.status_code == 200 else None
            return r
        if self.hold is None:
            now = datetime.now(UTC)
            r = await self.http.request("POST", "/api/v1/holds", {
                "camera_id": rnd.choice(w.camera_ids), "from": (now - timedelta(hours=2)).isoformat(),
                "to": (now - timedelta(hours=1)).isoformat(), "reason": "yük ölçümü",
                "legal_basis": f"2026/{rnd.randint(1, 9999)} soruşturma"})
            if r.status_code == 201:
                self.hold = int(r.json()["id"])
            return r
        r = await self.http.request("POST", f"/api/v1/holds/{self.hold}/release", {"reason": "yük ölçümü bitti"})
        self.hold = None
        return r


async def phase(port: int, world: World, clients: int, seconds: float, timeout: float,
                mix: tuple[tuple[str, int], ...], seed: int = 11) -> Tally:
    """``clients`` concurrent clients, each on a connection of its own, doing ``mix`` for ``seconds``."""
    tally = Tally()
    headers = {"Authorization": f"Bearer {world.token}"} if world.token else {}
    stop_at = time.perf_counter() + seconds

    async def run(n: int) -> None:
        http = Connection("127.0.0.1", port, headers)
        client = Client(n, world, http, tally, mix, random.Random(seed * 100_003 + n), timeout)
        try:
            while time.perf_counter() < stop_at:
                await client.one()
        finally:
            await http.close()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(run(n) for n in range(clients)))
    tally.seconds = time.perf_counter() - started
    tally.client_cpu = (time.process_time() - cpu) / tally.seconds
    return tally


async def sign_in_storm(port: int, attempts: int, timeout: float) -> tuple[Counter[int], list[float], int, float]:
    """``attempts`` wrong sign-ins at once, for a handful of names (an attacker guessing): the answers by
    status, their times, how many got no answer within ``timeout``, and how long the next request then
    takes."""

    async def one(n: int) -> tuple[int, float] | None:
        http = Connection("127.0.0.1", port)
        started = time.perf_counter()
        try:
            r = await asyncio.wait_for(http.request("POST", "/api/v1/auth/token", {
                "username": f"tahmin{n % 7}", "password": f"yanlis-parola-{n}"}), timeout)
            return r.status_code, time.perf_counter() - started
        except TimeoutError:
            return None
        finally:
            await http.close()

    answers = await asyncio.gather(*(one(n) for n in range(attempts)))
    done = [a for a in answers if a is not None]
    after = Connection("127.0.0.1", port)
    started = time.perf_counter()
    await after.request("GET", "/api/v1/health")
    next_request = time.perf_counter() - started
    await after.close()
    return Counter(code for code, _ in done), [t for _, t in done], attempts - len(done), next_request


def _ms(xs: list[float], pct: float) -> str:
    return common.fmt_ms(common.percentile(xs, pct)) if xs else "–"


def row(kind: str, target: str, clients: int, t: Tally) -> list[str]:
    """A table row for one phase."""
    lat = t.all()
    n = len(lat)
    reads = [x for k, _ in READS for x in t.latencies.get(k, [])]
    writes = [x for k, _ in WRITES for x in t.latencies.get(k, [])]
    codes = ", ".join(f"{code}: {count}" for code, count in sorted(t.statuses.items()))
    five = sum(c for code, c in t.statuses.items() if code >= 500 and code != 503)
    return [kind, target, str(clients), f"{n:,}", common.fmt_rate(n / t.seconds if t.seconds else 0),
            _ms(lat, 50), _ms(lat, 99), _ms(reads, 99), _ms(writes, 99), codes,
            str(t.statuses.get(503, 0)), str(five), str(t.hangs + t.transport_errors), f"{t.client_cpu:.0%}"]


def kind_rows(engine: str, clients: int, t: Tally) -> list[list[str]]:
    """Table rows for one phase, one per request kind: how many, their share and their p50 / p99 / slowest."""
    n = len(t.all()) or 1
    return [[engine, str(clients), kind, f"{len(xs):,}", f"{len(xs) / n:.0%}", _ms(xs, 50), _ms(xs, 99),
             _ms(xs, 100)]
            for kind, _ in READS + WRITES if (xs := t.latencies.get(kind, []))]


def run_engine(kind: str, args: Any) -> tuple[list[list[str]], list[list[str]], list[list[str]], list[list[str]]]:
    """Every phase on one engine: the mixed load at each concurrency, the sign-in storm, then kgys against the
    bare route."""
    mixed: list[list[str]] = []
    kinds: list[list[str]] = []
    ratio: list[list[str]] = []
    storm: list[list[str]] = []
    with common.throwaway_db(kind) as db:
        world = setup(db, args.sites)
        server = common.kgys_server(db, KGYS_WEB__THREADS=str(args.threads), KGYS_WEB__WORKERS=str(args.workers))
        try:
            for clients in args.clients:
                t = asyncio.run(phase(server.port, world, clients, args.seconds, args.timeout, READS + WRITES))
                mixed.append(row(kind, "kgys 80/20", clients, t))
                kinds += kind_rows(kind, clients, t)
                print(" | ".join(mixed[-1]), file=sys.stderr)
                for r in kind_rows(kind, clients, t):
                    print("    " + " | ".join(r[2:]), file=sys.stderr)
            if args.logins:
                codes, times, hung, after = asyncio.run(sign_in_storm(server.port, args.logins, args.timeout))
                storm.append([kind, str(args.logins), ", ".join(f"{c}: {n}" for c, n in sorted(codes.items())),
                              _ms(times, 50), _ms(times, 100), str(hung), common.fmt_ms(after)])
                print(" | ".join(storm[-1]), file=sys.stderr)
            kgys_list = asyncio.run(phase(server.port, world, args.ratio_clients, args.ratio_seconds, args.timeout,
                                          (("site list", 1),)))
        finally:
            server.stop()
        bare_env = dict(os.environ, KGYS_BENCH_BARE_URL=db.url, KGYS_BENCH_BARE_THREADS=str(args.threads))
        bare = common.ServerProcess(["bench.bare_app", "--workers", str(args.workers)],
                                    env=bare_env, log=db.data_dir / "bare.log", ready_path="/sites")
        try:
            bare_world = World(token="", site_codes=world.site_codes, camera_ids=world.camera_ids)
            bare_list = asyncio.run(phase(bare.port, bare_world, args.ratio_clients, args.ratio_seconds, args.timeout,
                                          (("bare site list", 1),)))
        finally:
            bare.stop()
        k_rate = len(kgys_list.all()) / kgys_list.seconds
        b_rate = len(bare_list.all()) / bare_list.seconds
        ratio.append([kind, str(args.ratio_clients), common.fmt_rate(k_rate), _ms(kgys_list.all(), 50),
                      _ms(kgys_list.all(), 99), common.fmt_rate(b_rate), _ms(bare_list.all(), 50),
                      _ms(bare_list.all(), 99), f"{k_rate / b_rate:.2f} ×" if b_rate else "–"])
        print(" | ".join(ratio[-1]), file=sys.stderr)
    return mixed, kinds, ratio, storm


def main() -> None:
    """Parse options, run, print (and optionally append) the results."""
    p = common.base_parser(__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, nargs="*", default=[20, 100, 500], help="concurrency levels")
    p.add_argument("--logins", type=int, default=200, help="wrong sign-ins sent at once (0: none)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each mixed phase")
    p.add_argument("--sites", type=int, default=5000, help="sites in the registry")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds without an answer that count as a hang")
    p.add_argument("--threads", type=int, default=WebSettings().threads,
                   help="server worker threads per process (kgys and the bare route; default: kgys's web.threads)")
    p.add_argument("--workers", type=int, default=1,
                   help="server processes (kgys serve --workers and the bare route alike)")
    p.add_argument("--ratio-clients", type=int, default=100, help="clients for the kgys / bare site-list phase")
    p.add_argument("--ratio-seconds", type=float, default=20.0, help="length of each site-list-only phase")
    args = p.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(args.engine)
    mixed: list[list[str]] = []
    by_kind: list[list[str]] = []
    ratio: list[list[str]] = []
    storm: list[list[str]] = []
    for kind in kinds:
        m, k, r, st = run_engine(kind, args)
        mixed += m
        by_kind += k
        ratio += r
        storm += st
    body = "\n\n".join([
        common.table(["engine", "target", "clients", "requests", "req/s", "p50 ms", "p99 ms", "reads p99",
                      "writes p99", "answers by status", "503", "other 5xx", "hangs", "client CPU"], mixed),
        common.table(["engine", "clients", "request", "answered", "share", "p50 ms", "p99 ms", "slowest ms"],
                     by_kind),
        common.table(["engine", "clients", "kgys site list req/s", "p50", "p99", "bare route req/s", "p50", "p99",
                      "kgys ÷ bare"], ratio),
        *([common.table(["engine", "wrong sign-ins at once", "answers by status", "p50 ms", "slowest ms",
                         "unanswered", "next request ms"], storm)] if storm else []),
    ])
    notes = [f"- Mixed phases {args.seconds:.0f} s each, site-list phases {args.ratio_seconds:.0f} s; {args.sites:,} "
             f"sites; {args.workers} server process{'es' if args.workers > 1 else ''} of {args.threads} threads each "
             f"(kgys and the bare route alike); a request unanswered after {args.timeout:.0f} s is a hang. "
             "The clients run on the same 2 cores as the server."]
    common.report(f"Load: {', '.join(map(str, args.clients))} concurrent clients", body, kinds=kinds,
                  append=args.append_results, notes=notes)


if __name__ == "__main__":
    main()
