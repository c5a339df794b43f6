"""Alerts to consoles: alerts raised by another process, at a steady rate, rendered on many consoles connected to
the real `kgys serve` over WebSockets; next to a bare broker round trip (NATS core publish to as many subscribers)
in the same run.

For each engine: a fresh database with one site and a country-wide operator; `kgys serve` on it; ``--consoles``
WebSocket clients (each reads the queue, then follows the stream) in a child process of their own, so that their CPU
is measured apart; ``--raisers`` threads in this process raise alerts (each its own transaction, committed, as the
device gateway does) at ``--rate`` per second for ``--seconds``, each stamped with the time it was raised. A console
records, for each alert, the time from raising to the event being parsed on the console. Lost = alerts raised
but not received by a console within ``--drain`` seconds after the end (counted per console, summed).

Then a burst phase at ``--burst-rate`` (the rate actually reached is reported: raising is bounded by the database's
commit rate on this machine) counts what was lost. The bare round trip publishes the same payload at the same rate
through a nats-server started for the run (Debian's `nats-server`, on a free port) to the same number of subscribers.

Goals (issue 10): p99 ≤ 100 ms at 200 alerts/s; 0 lost; consoles' CPU reported.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import resource
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import websockets
from tests import factories

from bench import common
from kgys.accounts import service as account_service
from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source


@dataclass
class Phase:
    """What one measured phase saw."""

    name: str
    asked: float
    raised: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    reconnects: int = 0  # consoles cut off for falling too far behind, which came back after their last seq
    server_cpu: float = 0.0
    consoles_cpu: float = 0.0

    @property
    def achieved(self) -> float:
        return self.raised / self.seconds if self.seconds else 0.0


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the consoles: a child process of WebSocket clients ------------------------------------------------------------


async def _console(url: str, headers: dict[str, str], seen: dict[int, float], ready: asyncio.Event,
                   stop: asyncio.Event, reconnects: list[int]) -> None:
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        seq = (await http.get(url.replace("ws://", "http://").split("/api/")[0] + "/api/v1/alerts/queue")).json()["seq"]
    while not stop.is_set():  # as the browser console does: cut off (4408, too far behind), it comes back after seq
        async with websockets.connect(f"{url}?after={seq}", additional_headers=headers, max_queue=None,
                                      open_timeout=60) as ws:
            ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                except websockets.ConnectionClosed:
                    reconnects[0] += 1
                    break
                msg = json.loads(raw)
                if msg.get("type") == "event":
                    seq = max(seq, msg["seq"])
                    if msg["data"]["move"] == "raise":
                        alert = msg["data"]["alert"]
                        seen.setdefault(alert["id"], time.time() - alert["data"]["t0"])


async def _consoles(url: str, headers: dict[str, str], n: int, pipe: Connection) -> None:
    seen: list[dict[int, float]] = [{} for _ in range(n)]
    readies = [asyncio.Event() for _ in range(n)]
    stop = asyncio.Event()
    reconnects = [0]
    tasks = [asyncio.create_task(_console(url, headers, seen[i], readies[i], stop, reconnects)) for i in range(n)]
    await asyncio.gather(*(r.wait() for r in readies))
    pipe.send("ready")
    while True:  # commands from the parent: "collect" (send what was seen, start afresh) or "stop"
        cmd = await asyncio.to_thread(pipe.recv)
        if cmd == "stop":
            break
        usage = resource.getrusage(resource.RUSAGE_SELF)
        pipe.send(([dict(s) for s in seen], usage.ru_utime + usage.ru_stime, reconnects[0]))
        reconnects[0] = 0
        for s in seen:
            s.clear()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)


def _consoles_main(url: str, headers: dict[str, str], n: int, pipe: Connection) -> None:
    asyncio.run(_consoles(url, headers, n, pipe))


# --- raising -------------------------------------------------------------------------------------------------------


def _raise_at(db: common.BenchDb, site_id: int, rate: float, seconds: float, raisers: int) -> tuple[list[int], float]:
    """Raise alerts at ``rate`` per second for ``seconds`` from ``raisers`` threads; the ids and the time taken."""
    ids: list[int] = []
    lock = threading.Lock()
    start = time.perf_counter()
    total = int(rate * seconds)
    counter = iter(range(total))

    def work() -> None:
        for n in counter:
            due = start + n / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            with db.rt.sessions.begin() as session:
                alert = raising.raise_alert(session, Alarm(
                    source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=site_id,
                    details=f"bench {n}", data={"t0": time.time()}))
                alert_id = alert.id
            with lock:
                ids.append(alert_id)

    threads = [threading.Thread(target=work) for _ in range(raisers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ids, time.perf_counter() - start


def _collect(pipe: Connection) -> tuple[list[dict[int, float]], float, int]:
    pipe.send("collect")
    seen, cpu, reconnects = pipe.recv()
    return seen, cpu, reconnects


def _phase(name: str, db: common.BenchDb, site_id: int, server: common.ServerProcess, pipe: Connection,
           consoles: int, rate: float, seconds: float, raisers: int, drain: float) -> Phase:
    phase = Phase(name=name, asked=rate)
    _, consoles_cpu0, _ = _collect(pipe)  # forget what came before
    cpu0 = _proc_cpu(server.proc.pid)
    ids, phase.seconds = _raise_at(db, site_id, rate, seconds, raisers)
    phase.raised = len(ids)
    missing = [set(ids) for _ in range(consoles)]
    deadline = time.monotonic() + drain
    while True:  # until every console has every alert, or the drain time is up
        seen, consoles_cpu, reconnects = _collect(pipe)
        phase.reconnects += reconnects
        for left, got in zip(missing, seen, strict=True):
            for alert_id, latency in got.items():
                if alert_id in left:
                    left.discard(alert_id)
                    phase.latencies.append(latency)
        if not any(missing) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    phase.lost = sum(len(m) for m in missing)
    phase.server_cpu = _proc_cpu(server.proc.pid) - cpu0
    phase.consoles_cpu = consoles_cpu - consoles_cpu0
    return phase


# --- the bare broker round trip ------------------------------------------------------------------------------------


async def _bare(port: int, subscribers: int, rate: float, seconds: float) -> Phase:
    import nats  # bench-only dependency

    phase = Phase(name="bare NATS publish → subscribers", asked=rate)
    subs = [await nats.connect(f"nats://127.0.0.1:{port}") for _ in range(subscribers)]
    pub = await nats.connect(f"nats://127.0.0.1:{port}")
    got = [0] * subscribers

    def handler(i: int) -> Any:
        async def on(msg: Any) -> None:
            t0 = json.loads(msg.data)["t0"]
            phase.latencies.append(time.time() - t0)
            got[i] += 1
        return on

    for i, nc in enumerate(subs):
        await nc.subscribe("kgys.bench.alerts", cb=handler(i))
        await nc.flush()
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        wait = start + n / rate - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        body = {"n": n, "t0": time.time(), "details": f"bench {n}"}
        await pub.publish("kgys.bench.alerts", json.dumps(body).encode())
    await pub.flush()
    phase.seconds = time.perf_counter() - start
    phase.raised = total
    deadline = time.monotonic() + 30
    while sum(got) < total * subscribers and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    phase.lost = total * subscribers - sum(got)
    for nc in [*subs, pub]:
        await nc.close()
    return phase


def bare_round_trip(subscribers: int, rate: float, seconds: float, tmp: Path) -> Phase:
    """NATS core: one publisher, ``subscribers`` subscribers, on a nats-server of our own."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = common.free_port()
    proc = subprocess.Popen([binary, "-a", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=(tmp / "nats.log").open("wb"))
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        cpu0 = _proc_cpu(proc.pid)
        phase = asyncio.run(_bare(port, subscribers, rate, seconds))
        phase.server_cpu = _proc_cpu(proc.pid) - cpu0
        return phase
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# --- the run -------------------------------------------------------------------------------------------------------


def _world(db: common.BenchDb) -> tuple[int, dict[str, str]]:
    """One site and a country-wide operator with a token."""
    with db.rt.sessions.begin() as session:
        factories.tree(session)
        site_id = factories.site(session).id
        user = factories.user(session, "operator", scope=["TR"])
        token = account_service.issue_token(session=session, settings=db.rt.settings.security, user=user)
    return site_id, {"Authorization": f"Bearer {token}"}


def run_engine(kind: str, args: Any) -> list[Phase]:
    with common.throwaway_db(kind) as db:
        site_id, headers = _world(db)
        server = common.kgys_server(db, KGYS_ALERTS__EVENT_POLL_SECONDS=str(args.poll))
        parent, child = mp.Pipe()
        consoles = mp.get_context("fork").Process(target=_consoles_main, args=(
            f"ws://127.0.0.1:{server.port}/api/v1/alerts/stream", headers, args.consoles, child), daemon=True)
        consoles.start()
        try:
            if not parent.poll(120):
                raise SystemExit("the consoles did not connect within 120 s")
            assert parent.recv() == "ready"
            phases = [_phase(f"{kind}: {args.rate:g}/s", db, site_id, server, parent, args.consoles, args.rate,
                             args.seconds, args.raisers, args.drain)]
            if args.burst_rate:
                phases.append(_phase(f"{kind}: burst {args.burst_rate:g}/s", db, site_id, server, parent,
                                     args.consoles, args.burst_rate, args.burst_seconds, args.raisers * 2,
                                     args.drain))
            parent.send("stop")
            consoles.join(60)
            return phases
        finally:
            if consoles.is_alive():
                consoles.kill()
            server.stop()


def _row(p: Phase, consoles: int) -> list[Any]:
    lat = p.latencies
    return [p.name, f"{p.asked:g}", f"{p.achieved:,.0f}", p.raised, f"{len(lat):,}", p.lost, p.reconnects,
            common.fmt_ms(common.percentile(lat, 50)), common.fmt_ms(common.percentile(lat, 99)),
            common.fmt_ms(max(lat) if lat else float("nan")),
            f"{100 * p.server_cpu / p.seconds:.0f} %" if p.seconds else "–",
            f"{100 * p.consoles_cpu / p.seconds:.0f} %" if p.seconds and p.consoles_cpu else "–"]


def main() -> None:
    parser = common.base_parser(__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="alerts per second (steady phase)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--burst-rate", type=float, default=1000.0,
                        help="alerts per second asked in the burst; 0: none")
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    parser.add_argument("--raisers", type=int, default=4, help="threads raising alerts (doubled for the burst)")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the consoles after a phase")
    parser.add_argument("--poll", type=float, default=0.1, help="alerts.event_poll_seconds of the server")
    args = parser.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(args.engine)
    phases: list[Phase] = []
    for kind in kinds:
        phases += run_engine(kind, args)
    with tempfile.TemporaryDirectory(prefix="kgys-bench-nats-") as tmp:
        phases.append(bare_round_trip(args.consoles, args.rate, args.seconds, Path(tmp)))
    headers = ["phase", "asked /s", "reached /s", "alerts", "deliveries", "lost", "reconnects", "p50 ms", "p99 ms",
               "max ms",
               "server CPU", "consoles CPU"]
    body = common.table(headers, [_row(p, args.consoles) for p in phases])
    notes = [f"{args.consoles} consoles (WebSocket clients in one child process); latency = from the moment another "
             "process begins the alert's transaction to the event parsed on a console (the raise and its commit, the "
             "server's read and the push all counted); 'deliveries' = alerts × consoles received; CPU as a share of "
             "one core over the phase. 'reconnects': consoles the server cut off for falling more than 5,000 events "
             "behind (close 4408), which came back with `?after=` their last seq, as the browser console does. The "
             "bare row is NATS core pub/sub at the steady rate to as many subscribers."]
    common.report("Alerts to consoles", body, kinds=kinds, append=args.append_results, notes=notes)


if __name__ == "__main__":
    main()
