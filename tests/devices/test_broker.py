"""Devices over the real Mosquitto, on both engines: a press reaches the queue, a cancel is answered on the
device's reply topic (the duress PIN exactly like the cancel PIN), the ACL keeps a device to its own topics, a
wrong password is refused, and neither the intake killed nor the broker restarted mid-burst loses a press or
stores one twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kgys.alerts.models import AlertChange
from kgys.cli.main import app
from kgys.devices import lockdown
from kgys.devices import worker as intake_worker
from kgys.devices.link import BrokerError
from kgys.devices.mqtt import DeviceClient
from kgys.events import bus
from tests.devices.conftest import INTAKE_PASSWORD, Live, ready, start_intake
from tests.waiting import wait_for


def _at() -> str:
    return datetime.now(UTC).isoformat()


def _press(device: DeviceClient, msg_id: str | None = None, **kw: object) -> str:
    msg_id = msg_id or uuid.uuid4().hex
    device.send("press", json.dumps({"msg_id": msg_id, "at": _at(), **kw}).encode())
    return msg_id


def _reply(device: DeviceClient) -> dict[str, str]:
    return json.loads(device.replies.get(timeout=60))  # type: ignore[no-any-return]


def test_a_press_reaches_the_queue_and_a_cancel_is_answered(live: Live) -> None:
    serial = live.provision(room="Oda 4")
    running = start_intake(live.rt)
    device = live.device(serial)
    try:
        ready(live, serial, device)
        with live.session() as s:
            before = bus.last_seq(s)
        _press(device, press_type="medical")
        [alert] = wait_for("the press in the queue", lambda: live.alerts(serial), 60)
        assert (alert.kind, alert.priority, alert.state, alert.data["press_type"]) == ("panic_press", 1, "new",
                                                                                       "medical")
        with live.session() as s:
            assert [e.payload["alert"]["id"] for e in bus.read_after(s, before)] == [alert.id]
        device.send("cancel", json.dumps({"msg_id": "c-1", "at": _at(), "pin": "9999"}).encode())
        assert _reply(device) == {"msg_id": "c-1", "result": "cancelled"}  # duress: the same answer
        wait_for("the duress noted", lambda: live.alerts(serial)[0].data.get("duress"), 60)
        assert live.alerts(serial)[0].state == "new"
        second = live.provision()
        other = live.device(second)
        ready(live, second, other)
        _press(other)
        wait_for("the second device's press", lambda: live.alerts(second), 60)
        other.send("cancel", json.dumps({"msg_id": "c-2", "at": _at(), "pin": "1234"}).encode())
        assert _reply(other) == {"msg_id": "c-2", "result": "cancelled"}
        [closed] = live.alerts(second)
        assert closed.state == "false_alarm"
        with live.session() as s:
            notes = s.scalars(select(AlertChange.note).where(AlertChange.alert_id == closed.id)).all()
        assert "cancelled at the device" in notes
        other.close()
    finally:
        device.close()
        intake = running.close()
    assert intake.counts["stored"] >= 4


def test_a_device_publishes_only_on_its_own_topics_and_needs_its_password(live: Live) -> None:
    mine, theirs = live.provision(), live.provision()
    running = start_intake(live.rt)
    device = live.device(mine)
    try:
        ready(live, mine, device)
        # posing as another device on its topic: the broker drops it (the ACL), nothing reaches the queue
        device._client.publish(f"kgys/v1/devices/{theirs}/press", json.dumps(
            {"msg_id": "x", "at": _at()}).encode(), qos=1)
        _press(device)
        wait_for("the device's own press", lambda: live.alerts(mine), 60)
        assert live.alerts(theirs) == [] and live.stored(theirs) == 0
        with pytest.raises(BrokerError):
            DeviceClient(host="127.0.0.1", port=live.broker.port, serial=theirs, password="wrong").start(timeout=5)
    finally:
        device.close()
        running.close()


def _intake_process(live: Live) -> subprocess.Popen[bytes]:
    s = live.rt.settings
    env = {**os.environ, "KGYS_MODE": "dev", "KGYS_DATA_DIR": str(s.data_dir),
           "KGYS_DATABASE__URL": s.database_url, "KGYS_DEVICES__BROKER_PORT": str(live.broker.port),
           "KGYS_DEVICES__PASSWORD": INTAKE_PASSWORD, "KGYS_DEVICES__CLIENT_ID": s.devices.client_id,
           "KGYS_DEVICES__PASSWORD_FILE": str(live.broker.passwd), "KGYS_DEVICES__ACL_FILE": str(live.broker.acl)}
    log = open(s.data_dir / "intake.log", "ab")  # noqa: SIM115
    return subprocess.Popen([sys.executable, "-m", "kgys", "worker", "intake"], env=env, stdout=log, stderr=log)


def _all_stored(live: Live, serial: str, sent: list[str]) -> None:
    wait_for(f"all {len(sent)} presses stored", lambda: live.stored(serial) >= len(sent), 120,
             detail=lambda: f"{live.stored(serial)} stored\n{live.broker.tail()}")
    assert live.stored(serial) == len(sent)  # each once
    alerts = live.alerts(serial)
    assert sum(a.repeats for a in alerts) == len(sent)  # each counted once in the queue


def test_the_intake_killed_mid_burst_loses_nothing_and_stores_nothing_twice(live: Live) -> None:
    serial = live.provision()
    proc = _intake_process(live)
    device = live.device(serial)
    try:
        ready(live, serial, device)
        sent = [_press(device) for _ in range(60)]
        wait_for("some presses stored", lambda: live.stored(serial) >= 5, 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        sent += [_press(device) for _ in range(60)]  # kept by the broker for the intake's session
        assert device.flush(60)
        proc = _intake_process(live)
        _all_stored(live, serial, sent)
    finally:
        device.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0  # SIGTERM stops the intake cleanly


def test_a_broker_restart_mid_burst_loses_nothing(live: Live) -> None:
    serial = live.provision()
    running = start_intake(live.rt)
    device = live.device(serial)
    try:
        ready(live, serial, device)
        sent = [_press(device) for _ in range(60)]
        wait_for("some presses stored", lambda: live.stored(serial) >= 5, 60)
        live.broker.stop()
        sent += [_press(device) for _ in range(60)]  # queued by the device until the broker is back
        live.broker.start()
        _all_stored(live, serial, sent)
    finally:
        device.close()
        running.close()


def test_the_simulator_drives_a_device_through_the_broker(live: Live) -> None:
    serial = live.provision()
    running = start_intake(live.rt)
    try:
        live.device(serial).close()  # the broker knows the login
        result = CliRunner().invoke(app, [
            "--data-dir", str(live.rt.settings.data_dir), "--mode", "dev", "--database-url",
            live.rt.settings.database_url, "sim", "panic", serial, "--password", live.passwords[serial],
            "--port", str(live.broker.port), "--heartbeats", "2"], env={"KGYS_DEVICES__BROKER_PORT": "1"})
        assert result.exit_code == 0, result.output
        assert result.output.count('"result": "cancelled"') == 2, result.output  # the cancel PIN and the duress PIN
        alerts = wait_for("the simulated presses", lambda: (lambda a: a if len(a) == 3 else None)(
            live.alerts(serial)), 60)
        assert [(a.state, a.drill, bool(a.data.get("duress"))) for a in alerts] == [
            ("false_alarm", False, False), ("new", True, False), ("new", False, True)]
    finally:
        running.close()


def test_a_lockdown_reaches_the_sites_devices_only(live: Live) -> None:
    serial, stranger = live.provision(), live.provision()
    device = live.device(serial, site_code=live.site_code)
    nosy = live.device(stranger, site_code="OTHER-SITE")
    link = intake_worker.link_of(live.rt)
    link.start()
    try:
        wait_for("the intake's link", link.connected.is_set, 30)
        topic = lockdown.send(link, site_code=live.site_code, action="lockdown", reason="tatbikat",
                              at=datetime.now(UTC))
        assert topic == f"kgys/v1/sites/{live.site_code}/lockdown"
        got = _reply(device)
        assert (got["action"], got["reason"]) == ("lockdown", "tatbikat")
        # a device listening to another site's lockdowns hears nothing of them (the ACL): the next thing it hears
        # is what was sent to it after
        lockdown.send(link, site_code="OTHER-SITE", action="lockdown", reason="x", at=datetime.now(UTC))
        link.publish(f"kgys/v1/devices/{stranger}/reply", b'{"marker": "after"}')
        assert _reply(nosy) == {"marker": "after"}
    finally:
        link.close()
        device.close()
        nosy.close()
