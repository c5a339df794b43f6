"""The consoles' live stream against a real server: what is raised reaches a connected console, a console that
reconnects is sent what it missed and nothing twice, scope applies, strangers are refused and a revoked
credential is cut off; alerts raised in another process arrive; two operators claiming at once — one wins.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.alerts.models import Alert
from kgys.web.app import create_app
from tests import factories
from tests.alerts.conftest import Served
from tests.waiting import wait_for
from tests.web.conftest import browser_login

BOUND = 30.0  # seconds: generous, the machine is shared


def events(ws: ClientConnection, n: int, timeout: float = BOUND) -> list[dict[str, Any]]:
    """The next ``n`` events on the stream (heartbeats skipped), waiting at most ``timeout`` in all."""
    got: list[dict[str, Any]] = []
    end = time.monotonic() + timeout
    while len(got) < n:
        left = end - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} events arrived: {got}"
        msg = json.loads(ws.recv(timeout=left))
        if msg["type"] == "event":
            got.append(msg)
        else:
            assert msg["type"] == "heartbeat", msg
    return got


def queue_seq(served: Served, who: str) -> int:
    r = httpx.get(f"{served.base}/api/v1/alerts/queue", headers=served.headers[who], timeout=BOUND)
    assert r.status_code == 200, r.text
    return int(r.json()["seq"])


def test_a_raised_alert_reaches_a_connected_console(served: Served) -> None:
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        alert_id = served.raise_alert("A", details="Müdür odası")
        [ev] = events(ws, 1)
    assert ev["topic"] == "alert" and ev["data"]["move"] == "raise"
    assert ev["data"]["alert"]["id"] == alert_id and ev["data"]["alert"]["details"] == "Müdür odası"
    assert ev["data"]["alert"]["priority"] == 1


def test_a_console_that_reconnects_gets_what_it_missed_once(served: Served) -> None:
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        first = served.raise_alert("A")
        [seen] = events(ws, 1)
    assert seen["data"]["alert"]["id"] == first
    missed = [served.raise_alert("A") for _ in range(3)]  # while the console is away
    with served.stream("op_a", after=seen["seq"]) as ws:
        replayed = events(ws, 3)
        live = served.raise_alert("A")
        [after] = events(ws, 1)
    assert [e["data"]["alert"]["id"] for e in replayed] == missed
    seqs = [e["seq"] for e in replayed] + [after["seq"]]
    assert seqs == sorted(set(seqs)) and seqs[0] > seen["seq"]
    assert after["data"]["alert"]["id"] == live


def test_a_district_operator_sees_only_the_district(served: Served) -> None:
    with served.stream("op_b", after=queue_seq(served, "op_b")) as ws:
        served.raise_alert("A")
        theirs = served.raise_alert("B")
        [ev] = events(ws, 1)
    assert ev["data"]["alert"]["id"] == theirs


@pytest.mark.parametrize("who", ["nobody", "auditor"])
def test_strangers_are_refused(served: Served, who: str) -> None:
    with pytest.raises(InvalidStatus) as err:
        served.stream(who).close()
    assert err.value.response.status_code == 403


def test_a_browser_must_come_from_this_server(served: Served) -> None:
    with served.session() as s:
        user = s.scalars(select(User).where(User.role == "operator")).first()
        assert user is not None
    with httpx.Client(base_url=served.base, timeout=BOUND) as client:
        browser_login(client, user)  # type: ignore[arg-type]
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    url = f"ws://127.0.0.1:{served.port}/api/v1/alerts/stream"
    with pytest.raises(InvalidStatus):
        connect(url, additional_headers={"Cookie": cookie}, origin="http://evil.example").close()  # type: ignore[arg-type]
    with connect(url, additional_headers={"Cookie": cookie}, origin=served.base, open_timeout=BOUND) as ws:  # type: ignore[arg-type]
        served.raise_alert("A")
        assert events(ws, 1)


def test_a_revoked_token_is_cut_off_at_the_next_heartbeat(served: Served) -> None:
    with served.rt.sessions.begin() as s:
        user = factories.user(s, "operator", scope=["TR-99-A"])
        token = account_service.issue_token(session=s, settings=served.rt.settings.security, user=user)
        username = user.username
    served.headers["revokable"] = {"Authorization": f"Bearer {token}"}
    with served.stream("revokable") as ws:
        with served.rt.sessions.begin() as s:
            account_service.revoke_tokens(session=s, actor=factories.admin(), username=username)
        with pytest.raises(ConnectionClosed) as err:
            end = time.monotonic() + BOUND
            while time.monotonic() < end:
                ws.recv(timeout=end - time.monotonic())
        assert err.value.rcvd is not None and err.value.rcvd.code == 4401


def test_alerts_raised_in_another_process_arrive(served: Served) -> None:
    device = uuid.uuid4().hex[:8]
    script = (
        "import sys\n"
        "from kgys.config import Settings\n"
        "from kgys.runtime import make_runtime\n"
        "from kgys.alerts import raising\n"
        "from kgys.alerts.states import Priority, Source\n"
        f"rt = make_runtime(Settings(mode='dev', data_dir={str(served.rt.settings.data_dir)!r}, "
        f"database={{'url': {served.rt.settings.database_url!r}}}))\n"
        "with rt.sessions.begin() as s:\n"
        f"    a = raising.raise_alert(s, raising.Alarm(source=Source.PANIC, kind='panic_press', priority=Priority.P1, "
        f"site_id={served.site_ids['A']}, device={device!r}, dedup_key='panic:{device}'))\n"
        "    print(a.id)\n"
    )
    with served.stream("op_a", after=queue_seq(served, "op_a")) as ws:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        [ev] = events(ws, 1)
    assert ev["data"]["alert"]["id"] == int(out.stdout.strip()) and ev["data"]["alert"]["device"] == device


def test_two_operators_claiming_at_once_one_wins(served: Served) -> None:
    alert_id = served.raise_alert("A")
    barrier = threading.Barrier(2)
    answers: dict[str, httpx.Response] = {}

    def claim(who: str) -> None:
        with httpx.Client(base_url=served.base, headers=served.headers[who], timeout=BOUND) as c:
            barrier.wait(BOUND)
            answers[who] = c.post(f"/api/v1/alerts/{alert_id}/claim", json={})

    threads = [threading.Thread(target=claim, args=(w,)) for w in ("op_a", "op_a2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND * 2)
    codes = sorted(r.status_code for r in answers.values())
    assert codes == [200, 409], {w: r.text for w, r in answers.items()}
    winner = next(w for w, r in answers.items() if r.status_code == 200)
    loser = next(r for r in answers.values() if r.status_code == 409)
    assert answers[winner].json()["claimed_by"] in loser.json()["error"]["message"]


def test_the_same_alarm_raised_at_once_by_two_writers_is_one_alert(served: Served) -> None:
    device = uuid.uuid4().hex[:8]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def press() -> None:
        try:
            barrier.wait(BOUND)
            served.raise_alert("A", device=device)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=press) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND * 2)
    assert not errors, errors
    with served.session() as s:
        rows = s.execute(select(Alert.id, Alert.repeats).where(Alert.dedup_key == f"panic:{device}")).all()
        assert len(rows) == 1 and rows[0].repeats == 4
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.device == device)) == 1


class _Server:
    """Another uvicorn on the served database, on a port that outlives it (for restarts)."""

    def __init__(self, served: Served, port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.srv = uvicorn.Server(uvicorn.Config(create_app(served.rt), log_level="warning", lifespan="on",
                                                 timeout_graceful_shutdown=5))
        self.thread = threading.Thread(target=self.srv.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        wait_for("uvicorn to start", lambda: self.srv.started or not self.thread.is_alive(), BOUND, every=0.01)
        assert self.srv.started

    def stop(self) -> None:
        self.srv.should_exit = True
        self.thread.join(BOUND)
        self.sock.close()


def test_a_server_restart_in_a_burst_loses_nothing_and_shows_nothing_twice(served: Served) -> None:
    server = _Server(served)
    port = server.port
    after = queue_seq(served, "op_a")
    raised: list[int] = []

    def press_on() -> None:  # a device pressing again and again, paced as a burst of presses would be
        for _ in range(40):
            raised.append(served.raise_alert("A"))
            time.sleep(0.05)

    burst = threading.Thread(target=press_on)
    received: list[dict[str, Any]] = []
    restarted = mid_burst = False
    end = time.monotonic() + BOUND * 2

    def done() -> bool:
        return not burst.is_alive() and {e["data"]["alert"]["id"] for e in received} >= set(raised)

    burst.start()
    while time.monotonic() < end and not done():
        try:
            with connect(f"ws://127.0.0.1:{port}/api/v1/alerts/stream?after={after}",
                         additional_headers=served.headers["op_a"], open_timeout=5) as ws:
                while time.monotonic() < end and not done() and (restarted or len(received) < 10):
                    msg = json.loads(ws.recv(timeout=2))
                    if msg["type"] == "event":
                        received.append(msg)
                        after = msg["seq"]
        except (ConnectionClosed, OSError, TimeoutError, InvalidStatus):
            continue  # reconnect with the last number seen
        if len(received) >= 10 and not restarted:  # in the middle of the burst
            mid_burst = burst.is_alive()
            server.stop()
            server = _Server(served, port)
            restarted = True
    server.stop()
    burst.join(BOUND)
    assert restarted and mid_burst
    ids = [e["data"]["alert"]["id"] for e in received if e["data"]["move"] == "raise"]
    assert sorted(ids) == sorted(raised) and len(ids) == len(set(ids)) == 40
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))
