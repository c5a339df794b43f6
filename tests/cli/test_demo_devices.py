"""The devices part of ``kgys demo`` with a real Mosquitto: with no broker answering, the demo starts one of its
own by PID with its files in DATA_DIR/mosquitto, registers its devices once (a second start adds none), runs the
intake and the simulated devices whose heartbeats reach the registry and the units' trackers whose positions
reach the units, and stops them all by PID; without
mosquitto it says that devices are off; with a broker answering already it uses that one."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import kgys
from kgys import demo
from kgys.cli import demo_devices
from kgys.cli.children import Child, stop_children
from kgys.cli.common import STATE
from kgys.config import Settings
from kgys.devices.models import Device
from kgys.dispatch.models import Unit
from kgys.runtime import Runtime, make_runtime
from tests.devices.conftest import Broker
from tests.waiting import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A demo data folder with 20 sites (SQLite, as the demo runs), its broker port configured (free)."""
    src = str(Path(kgys.__file__).resolve().parents[1])  # the children run this checkout's code
    monkeypatch.setenv("PYTHONPATH", src + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH")
                                            else ""))
    for name in [k for k in os.environ if k.startswith("KGYS_")]:
        monkeypatch.delenv(name)
    for option in ("config", "data_dir", "database_url", "mode"):  # left by commands run earlier in this process
        monkeypatch.setattr(STATE, option, None)
    monkeypatch.setattr(demo_devices, "HEARTBEAT_EVERY", 2)  # the devices' heartbeats come quickly here
    settings = Settings(mode="demo", data_dir=tmp_path / "demo", security={"cookie_secure": False},
                        devices={"broker_port": _free_port()})
    rt = make_runtime(settings, upgrade=True)
    with rt.sessions.begin() as session:
        demo.seed(session, box=rt.box, settings=rt.settings, sites=20)
    yield rt
    rt.close()


def _last_seen(rt: Runtime) -> dict[str, datetime | None]:
    with sqlite3.connect(rt.settings.data_dir / "kgys.db") as db:
        rows = db.execute("SELECT d.serial, s.last_seen_at FROM devices d "
                          "LEFT JOIN device_status s ON s.device_id = d.id").fetchall()
    return {serial: datetime.fromisoformat(seen) if seen else None for serial, seen in rows}


def _positions(rt: Runtime) -> dict[str, float]:
    with sqlite3.connect(rt.settings.data_dir / "kgys.db") as db:
        rows = db.execute("SELECT u.call_sign, p.latitude FROM units u JOIN unit_positions p ON p.unit_id = u.id"
                          ).fetchall()
    return dict(rows)


def _alive(child: Child) -> bool:
    return child.proc.poll() is None


def test_the_demo_runs_its_own_broker_and_devices_and_stops_them(seeded: Runtime,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    children: list[Child] = []
    try:
        rt, run = demo_devices.start_devices(seeded, children)
        assert not run.off, run.off
        assert run.broker is not None and run.intake is not None and _alive(run.broker)
        port = seeded.settings.devices.broker_port
        assert (rt.settings.devices.broker_port, run.port) == (port, port)
        folder = seeded.settings.data_dir / "mosquitto"
        assert (folder / "mosquitto.pid").read_text().strip() == str(run.broker.proc.pid)
        assert f"listener {port} 127.0.0.1" in (folder / "mosquitto.conf").read_text()
        acl = (folder / "acl").read_text()
        assert all(f"user {d.serial}" in acl for d in run.devices) and "user kgys-intake" in acl
        assert sorted(d.serial for d in run.devices) == ["DC-DEMO-01", "PB-DEMO-01", "PB-DEMO-02"]
        assert {d.kind for d in run.devices} == {"panic", "access"}
        assert len({d.site_code for d in run.devices}) == 2
        assert sorted(run.simulators) == sorted(d.serial for d in run.devices)
        heard = wait_for("heartbeats of every demo device", lambda: all(_last_seen(seeded).values()), 120,
                         detail=lambda: "\n".join(p.read_text()[-800:] for p in (seeded.settings.data_dir / "logs")
                                                  .glob("*.log")))
        assert heard
        assert sorted(u.call_sign for u in run.units) == sorted(run.trackers) and len(run.trackers) == 4
        assert all(f"user unit.{u.call_sign}" in acl for u in run.units)
        wait_for("positions of every demo unit's tracker", lambda: len(_positions(seeded)) == 4, 120,
                 detail=lambda: "\n".join(p.read_text()[-800:] for p in (seeded.settings.data_dir / "logs")
                                          .glob("*.log")))
        demo_devices.print_devices(run, rt)
        out = capsys.readouterr().out
        assert f"broker 127.0.0.1:{port}" in out and f"mosquitto pid {run.broker.proc.pid}" in out
        assert "PB-DEMO-01" in out and "Bahçe kapısı" in out and "99-01-B" in out and "ekip-99-01-b" in out
    finally:
        stop_children(children)
    assert children and not any(_alive(c) for c in children)
    stopped = capsys.readouterr().out
    assert stopped.index("stopped device-") < stopped.index("stopped intake") < stopped.index("stopped mosquitto")

    # A second start on the same folder: nothing added, the same devices log in again and are heard again.
    before = _last_seen(seeded)
    children = []
    try:
        _rt, run = demo_devices.start_devices(seeded, children)
        assert not run.off, run.off
        with seeded.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Device)) == 3
            assert session.scalar(select(func.count()).select_from(Unit)) == 4
        wait_for("heartbeats after the second start",
                 lambda: all((seen or datetime.min) > (before[s] or datetime.min)
                             for s, seen in _last_seen(seeded).items()), 120)
    finally:
        stop_children(children)
    assert not any(_alive(c) for c in children)


def test_without_mosquitto_devices_are_off_and_nothing_starts(seeded: Runtime, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(demo_devices, "mosquitto_binary", lambda: None)
    children: list[Child] = []
    rt, run = demo_devices.start_devices(seeded, children)
    assert children == [] and rt is seeded
    assert "mosquitto is not installed" in run.off
    demo_devices.print_devices(run, rt)
    assert "devices are off" in capsys.readouterr().err
    with seeded.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Device)) == 0


def test_a_broker_that_answers_already_is_used(seeded: Runtime, tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker", port=seeded.settings.devices.broker_port)
    broker.folder.mkdir()
    cfg = seeded.settings.devices
    broker.passwd.symlink_to(cfg.password_path(seeded.settings.data_dir))  # the broker reads the demo's files
    broker.acl.symlink_to(cfg.acl_path(seeded.settings.data_dir))
    children: list[Child] = []
    with seeded.sessions.begin() as session:  # the files exist before the broker reads them
        demo.devices.register(session, demo_devices._with_broker(
            seeded, host="127.0.0.1", port=broker.port, pid_file=None).settings)
    broker.start()
    try:
        _rt, run = demo_devices.start_devices(seeded, children)
        assert not run.off and run.broker is None and run.intake is not None
        assert [c.name for c in children if c.name == "mosquitto"] == []
        wait_for("heartbeats through the broker that was there", lambda: all(_last_seen(seeded).values()), 120,
                 detail=broker.tail)
    finally:
        stop_children(children)
        broker.stop()
