"""Events through NATS JetStream against a real ``nats-server -js`` started for these tests: a relay copies the
database's events to the stream, a server takes them from there; a broker restart in the middle of a burst loses
nothing and shows nothing twice; two relays put each event into the stream once. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest

from kgys.events import bus
from kgys.events.nats import STREAM, Relay
from tests.alerts.conftest import Served, serving
from tests.alerts.test_stream import BOUND, events, queue_seq
from tests.conftest import ENGINES
from tests.waiting import run_apart, wait_for


class NatsServer:
    """``nats-server -js`` on a free loopback port with its store in a directory of its own, by PID."""

    def __init__(self, store: Path) -> None:
        self.store = store
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        self.proc = subprocess.Popen([binary, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "nats-server exited"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for("nats-server to listen", up, BOUND, every=0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(BOUND)
        self.proc = None


class RelayThread:
    """A relay running on a thread of its own."""

    def __init__(self, served: Served, url: str) -> None:
        cfg = served.rt.settings.alerts
        self.relay = Relay(served.rt.sessions, url, keep_days=cfg.events_keep_days, poll=0.05)
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.loop.run_until_complete(self.relay.run(self.stop_event))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(BOUND)


@dataclass
class OverNats:
    served: Served
    broker: NatsServer
    relay: RelayThread


@pytest.fixture(scope="module", params=ENGINES)
def over_nats(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OverNats]:
    """A server taking its events from a broker (with a stream of its own) that a relay feeds."""
    broker = NatsServer(tmp_path_factory.mktemp(f"nats-store-{request.param}"))
    try:
        with serving(request.param, tmp_path_factory.mktemp(f"alerts-nats-{request.param}"),
                     nats_url=broker.url) as s:
            relay = RelayThread(s, broker.url)
            try:
                yield OverNats(s, broker, relay)
            finally:
                relay.stop()
    finally:
        broker.stop()


def _stream_messages(url: str) -> int:
    async def count() -> int:
        nc = await nats.connect(url)
        try:
            return int((await nc.jetstream().stream_info(STREAM)).state.messages)
        finally:
            await nc.close()

    return run_apart(count())


def test_an_alert_travels_through_the_stream_to_a_console(over_nats: OverNats) -> None:
    served, relay = over_nats.served, over_nats.relay
    before = relay.relay.relayed
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        for _ in range(5):  # the database is looked at only every second: the broker brings them sooner
            alert_id = served.raise_alert("A")
            [ev] = events(ws, 1)
            assert ev["data"]["alert"]["id"] == alert_id
    wait_for("the relay to publish them", lambda: relay.relay.relayed >= before + 5, BOUND)
    hub = served.app.state.push._hub
    assert hub is not None and hub.feed is not None and hub.counts["feed"] >= 1, hub.counts


def test_a_broker_restart_in_a_burst_loses_nothing_and_shows_nothing_twice(over_nats: OverNats) -> None:
    served, broker = over_nats.served, over_nats.broker
    raised: list[int] = []
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        for n in range(30):
            if n == 10:
                broker.stop()  # the broker goes away in the middle of the burst …
            if n == 20:
                broker.start()  # … and comes back
            raised.append(served.raise_alert("A"))
            time.sleep(0.02)  # paced as presses would be
        got = events(ws, 30)
    ids = [e["data"]["alert"]["id"] for e in got]
    assert ids == raised  # every one, in order, once
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(set(seqs))
    wait_for("the relay to catch up after the restart",
             lambda: _stream_messages(broker.url) >= max(seqs), BOUND * 2, every=0.5)


def test_two_relays_put_each_event_into_the_stream_once(over_nats: OverNats) -> None:
    served, broker = over_nats.served, over_nats.broker
    second = RelayThread(served, broker.url)
    try:
        for _ in range(10):
            served.raise_alert("A")
        with served.session() as s:
            newest = bus.last_seq(s)
        wait_for("both relays to reach the newest event", lambda: _stream_messages(broker.url) >= newest, BOUND * 2,
                 every=0.5)
        assert _stream_messages(broker.url) == newest  # no event twice
    finally:
        second.stop()
