"""``kgys sim access`` over the real Mosquitto, on both engines: two door controllers' events become alerts of
their site (a forced door at P2, a burst of denied cards with its count), and a malformed access message is
refused without an alert while the intake goes on."""

from __future__ import annotations

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
