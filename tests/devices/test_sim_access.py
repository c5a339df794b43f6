"""``kgys sim access`` over the real Mosquitto, on both engines: two door controllers' events become alerts of
their site (a forced door at P2, a burst of denied cards with its count), and a malformed access message is
refused without an alert while the intake goes on."""

from __future__ import annotations

import json
import threading
import uuid

from typer.testing import CliRunner

from kgys.alerts.models import Alert
from kgys.cli.main import app
from kgys.devices.kinds import AccessEvent, DeviceKind
from kgys.sim import access as access_sim
from tests.devices.conftest import Live, ready, start_intake
from tests.waiting import wait_for


def _controller(live: Live) -> str:
    return live.provision(f"DC-{uuid.uuid4().hex[:8]}", kind=DeviceKind.ACCESS, heartbeat_seconds=300)


def _two(live: Live, serial: str) -> list[Alert] | None:
    found = live.alerts(serial)
    return found if len(found) == 2 else None


def test_the_simulator_s_door_events_become_alerts_of_the_site(live: Live) -> None:
    first, second = _controller(live), _controller(live)
    running = start_intake(live.rt)
    try:
        for serial in (first, second):
            live.device(serial).close()  # the broker knows the login
        result = CliRunner().invoke(app, [
            "--data-dir", str(live.rt.settings.data_dir), "--mode", "dev", "--database-url",
            live.rt.settings.database_url, "sim", "access", first, second, "--password", live.passwords[first],
            "--password", live.passwords[second], "--event", "forced_door", "--event", "denied_burst",
            "--card-count", "12", "--door", "Bahçe kapısı", "--port", str(live.broker.port)],
            env={"KGYS_DEVICES__BROKER_PORT": "1"})
        assert result.exit_code == 0, result.output
        assert result.output.count("→ access:") == 4 and result.output.count("→ heartbeat:") == 2, result.output
        for serial in (first, second):
            alerts = wait_for(f"the alerts of {serial}", lambda s=serial: _two(live, s), 60, detail=live.broker.tail)
            assert [(a.source, a.kind, a.priority) for a in alerts] == [
                ("access", "forced_door", 2), ("access", "denied_burst", 3)]
            assert {a.site_id for a in alerts} == {alerts[0].site_id}
            assert alerts[1].data["card_count"] == 12 and alerts[1].data["door"] == "Bahçe kapısı"
            assert live.seen(serial)
    finally:
        running.close()


def test_a_malformed_access_message_is_refused_and_the_intake_goes_on(live: Live) -> None:
    serial = _controller(live)
    device = live.device(serial)
    running = start_intake(live.rt)
    try:
        ready(live, serial, device)
        access_sim.event(device, AccessEvent.FORCED_DOOR, door="")  # a door must be named
        device.send("access", b"{not json")
        access_sim.event(device, AccessEvent.ENTRY_OUT_OF_HOURS, door="Turnike 2")
        alerts = wait_for("the good event's alert", lambda: live.alerts(serial), 60, detail=live.broker.tail)
        assert [(a.kind, a.data["door"]) for a in alerts] == [("entry_out_of_hours", "Turnike 2")]
        assert live.stored(serial) == 1
    finally:
        device.close()
        counts = running.close().counts
    assert counts["refused:invalid_payload"] == 1 and counts["refused:malformed"] == 1, counts


class _Recording:
    """A device client that keeps what it is asked to send, and stops the run after ``rounds`` heartbeats."""

    def __init__(self, serial: str, stop: threading.Event, rounds: int) -> None:
        self.serial, self.stop, self.rounds = serial, stop, rounds
        self.sent: list[tuple[str, dict[str, object]]] = []

    def send(self, channel: str, body: bytes) -> None:
        self.sent.append((channel, json.loads(body)))
        if sum(ch == "heartbeat" for ch, _ in self.sent) == self.rounds:
            self.stop.set()


def test_forever_sends_heartbeats_until_stopped_and_a_door_held_open_now_and_then() -> None:
    stop = threading.Event()
    device = _Recording("DC-0001", stop, rounds=7)
    lines = list(access_sim.forever([device], every=0, stop=stop, door="Turnike 1",  # type: ignore[list-item]
                                    held_open_every=3))
    assert [ch for ch, _ in device.sent] == ["heartbeat"] * 3 + ["access"] + ["heartbeat"] * 3 + ["access"] + [
        "heartbeat"]
    assert all(body["event"] == "door_held_open" and body["door"] == "Turnike 1"
               for ch, body in device.sent if ch == "access")
    assert len(lines) == len(device.sent) and all(line.startswith("DC-0001 → ") for line in lines)
    quiet = _Recording("DC-0002", threading.Event(), rounds=5)
    list(access_sim.forever([quiet], every=0, stop=quiet.stop))  # type: ignore[list-item]
    assert {ch for ch, _ in quiet.sent} == {"heartbeat"}
