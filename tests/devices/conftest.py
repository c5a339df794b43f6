"""Device fixtures: a Mosquitto of the tests' own (started by PID on a free port, with a password file, an ACL
file and persistence in a temporary folder; stopped after), and a committed database on each engine whose
settings point the intake and provisioning at that broker."""

from __future__ import annotations

import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert
from kgys.audit.mechanism import acting_as
from kgys.config import Settings
from kgys.devices import broker as broker_files
from kgys.devices import mosquitto
from kgys.devices import worker as intake_worker
from kgys.devices.flows import registry as device_registry
from kgys.devices.models import Device, DeviceMessage, DeviceStatus
from kgys.devices.mqtt import DeviceClient
from kgys.devices.schemas import DeviceIn
from kgys.runtime import Runtime, make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_drop, migrated_database
from tests.waiting import wait_for

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
INTAKE_PASSWORD = "intake-" + uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Broker:
    """A Mosquitto of the tests' own."""

    folder: Path
    port: int = field(default_factory=_free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def passwd(self) -> Path:
        return self.folder / "passwd"

    @property
    def acl(self) -> Path:
        return self.folder / "acl"

    @property
    def pid_file(self) -> Path:
        return self.folder / "mosquitto.pid"

    @property
    def log(self) -> Path:
        return self.folder / "mosquitto.log"

    def write_config(self) -> Path:
        conf = self.folder / "mosquitto.conf"
        conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous false", f"user {getpass.getuser()}",
            f"password_file {self.passwd}", f"acl_file {self.acl}", "persistence true",
            f"persistence_location {self.folder}/", "autosave_interval 1", f"pid_file {self.pid_file}",
            f"log_dest file {self.log}", "log_type all", "max_queued_messages 100000", ""]))
        return conf

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else "(no log)"

    def start(self) -> Broker:
        conf = self.write_config()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        proc = self.proc
        wait_for("mosquitto to listen", lambda: _answers(self.port) or proc.poll() is not None, 30,
                 every=0.05, detail=self.tail)
        assert proc.poll() is None, f"mosquitto exited: {self.tail()}"
        return self

    def stop(self) -> None:
        """Stop gracefully (it saves its persistence database) and wait for it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture(scope="module")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A running Mosquitto on a free port, knowing only the intake until devices are provisioned."""
    b = Broker(tmp_path_factory.mktemp("mosquitto"))
    mosquitto.set_password(b.passwd, "kgys-intake", INTAKE_PASSWORD)
    mosquitto.write_acl(b.acl, mosquitto.acl_text("kgys-intake", []))
    b.start()
    try:
        yield b
    finally:
        b.stop()


@dataclass
class Live:
    """A committed database on one engine, its runtime pointed at the tests' broker, and a site."""

    kind: str
    rt: Runtime
    broker: Broker
    site_code: str
    passwords: dict[str, str] = field(default_factory=dict)

    def session(self) -> Session:
        return Session(self.rt.engine)

    def provision(self, serial: str | None = None, **kw: object) -> str:
        """Provision a panic button (PINs 1234 / 9999) through the service and the broker's files; its serial."""
        serial = serial or f"PB-{uuid.uuid4().hex[:8]}"
        actor = factories.admin()
        with self.rt.sessions.begin() as session, acting_as(session, actor):
            row, password = device_registry.provision(session=session, actor=actor, data=DeviceIn(
                site=self.site_code, serial=serial, cancel_pin="1234", duress_pin="9999", **kw))  # type: ignore[arg-type]
            broker_files.sync(session, self.rt.settings, add=(row.device.mqtt_username, password))
        self.passwords[serial] = password
        return serial

    def device(self, serial: str, **kw: object) -> DeviceClient:
        """A connected client of the device (waiting out the broker reading its files again)."""
        client = wait_for(f"the broker to take {serial}'s login", lambda: self._try(serial, **kw), 30,
                          detail=self.broker.tail)
        return client

    def _try(self, serial: str, **kw: object) -> DeviceClient | None:
        try:
            return DeviceClient(host="127.0.0.1", port=self.broker.port, serial=serial,
                                password=self.passwords[serial], **kw).start(timeout=2)  # type: ignore[arg-type]
        except Exception:
            return None

    def stored(self, serial: str) -> int:
        """How many messages of the device were taken in."""
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(DeviceMessage)
                                .join(Device, Device.id == DeviceMessage.device_id)
                                .where(Device.serial == serial)) or 0)

    def alerts(self, serial: str) -> list[Alert]:
        with self.session() as s:
            return list(s.scalars(select(Alert).where(Alert.device == serial).order_by(Alert.id)).all())

    def seen(self, serial: str) -> bool:
        with self.session() as s:
            return s.scalar(select(DeviceStatus.last_seen_at).join(
                Device, Device.id == DeviceStatus.device_id)
                .where(Device.serial == serial)) is not None


def settings_for(data_dir: Path, url: str, b: Broker) -> Settings:
    return Settings(mode="dev", data_dir=data_dir, database={"url": url}, security={"cookie_secure": False},
                    devices={"broker_port": b.port, "password": INTAKE_PASSWORD, "password_file": b.passwd,
                             "acl_file": b.acl, "broker_pid_file": b.pid_file,
                             "client_id": f"kgys-intake-{uuid.uuid4().hex[:6]}"})


@pytest.fixture(scope="module", params=ENGINES)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, mqtt_broker: Broker
         ) -> Iterator[Live]:
    kind = request.param
    data_dir = tmp_path_factory.mktemp(f"devices-{kind}")
    url, pg_name = migrated_database(kind, data_dir, "kgys_devices")
    rt = make_runtime(settings_for(data_dir, url, mqtt_broker), upgrade=True)
    with rt.sessions.begin() as session:
        factories.tree(session)
        code = factories.site(session).code
    try:
        yield Live(kind=kind, rt=rt, broker=mqtt_broker, site_code=code)
    finally:
        rt.close()
        if pg_name:
            _pg_drop(pg_name)


@dataclass
class Running:
    """An intake worker running in a thread of the test."""

    thread: threading.Thread
    stop: threading.Event
    result: list[intake_worker.Intake] = field(default_factory=list)

    def close(self) -> intake_worker.Intake:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive(), "the intake did not stop"
        return self.result[0]


def start_intake(rt: Runtime) -> Running:
    """Run the intake in a thread until the test stops it."""
    stop = threading.Event()
    running = Running(threading.Thread(target=lambda: None), stop)
    running.thread = threading.Thread(target=lambda: running.result.append(intake_worker.run(rt, stop)),
                                      name="intake", daemon=True)
    running.thread.start()
    return running


def ready(live: Live, serial: str, device: DeviceClient) -> None:
    """Wait until the intake takes the device's messages in: heartbeats, sent until one gets through (an intake
    just started may not have subscribed yet)."""

    def heard() -> bool:
        if live.seen(serial):
            return True
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        device.send("heartbeat", json.dumps({"at": stamp, "firmware": "1"}).encode())
        return False

    wait_for("the intake to hear the device", heard, 60, every=0.5, detail=live.broker.tail)
