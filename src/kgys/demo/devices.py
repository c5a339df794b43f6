"""Devices in the demo: two school panic buttons and a door controller registered at demo sites (once: a second
start finds them), their broker logins written to the broker's password and ACL files, and the configuration of
the Mosquitto the demo runs when no broker answers.

The passwords of the demo's devices and of its intake are derived from the data folder's own secret key: random
for each folder, the same at every start, so the simulators can log in without kgys keeping them in clear.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import socket
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.accounts.models import User
from kgys.audit.mechanism import acting_as
from kgys.config import Settings
from kgys.devices import broker, mosquitto, secrets
from kgys.devices import service as device_service
from kgys.devices.flows import registry
from kgys.devices.kinds import DeviceKind
from kgys.devices.schemas import DeviceIn
from kgys.sites.models import Site
from kgys.sites.rollout import SiteType

DEVICES_REASON = "demo: simulated devices"
CANCEL_PIN, DURESS_PIN = "1234", "9999"
HEARTBEAT_SECONDS = 60


@dataclass(frozen=True)
class Planned:
    """A device the demo registers: which, what, where in the building, and at which of the chosen sites."""

    serial: str
    kind: DeviceKind
    room: str
    site_index: int


PLANNED = (
    Planned("PB-DEMO-01", DeviceKind.PANIC, "Müdür odası", 0),
    Planned("DC-DEMO-01", DeviceKind.ACCESS, "Bahçe kapısı", 0),
    Planned("PB-DEMO-02", DeviceKind.PANIC, "Öğretmenler odası", 1),
)


@dataclass(frozen=True)
class DemoDevice:
    """A demo device as registered, with its broker password (None when it is disabled: not simulated)."""

    serial: str
    kind: str
    site_code: str
    site_name: str
    room: str
    password: str | None


def derived_password(secret_key: str, name: str) -> str:
    """A broker password for ``name`` (a device's serial, or the intake's login), derived from the secret key."""
    digest = hmac.new(secret_key.encode(), f"demo-broker:{name}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _sites(session: Session) -> list[Site]:
    """The school administrator's school first, then the first other schools by priority (stable across starts)."""
    chosen: list[Site] = []
    admin = session.scalar(select(User).where(User.username == "school_admin"))
    for scope in admin.scopes if admin else []:
        site = session.get(Site, scope.site_id) if scope.site_id is not None else None
        if site is not None:
            chosen.append(site)
    schools = [t.value for t in (SiteType.PRIMARY_SCHOOL, SiteType.MIDDLE_SCHOOL, SiteType.HIGH_SCHOOL)]
    for site in session.scalars(select(Site).where(Site.type.in_(schools)).order_by(Site.priority, Site.code)
                                .limit(3)):
        if site not in chosen:
            chosen.append(site)
    if not chosen:
        chosen = list(session.scalars(select(Site).order_by(Site.code).limit(2)))
    return chosen


def register(session: Session, settings: Settings) -> list[DemoDevice]:
    """Register the demo's devices that are missing, give each enabled one its derived password, and write the
    broker's password and ACL files (the intake's login included); audited. Nothing is added twice."""
    actor = system_actor("demo")
    key = settings.security.secret_key
    out: list[DemoDevice] = []
    sites = _sites(session)
    if not sites:
        return out
    with acting_as(session, actor, reason=DEVICES_REASON):
        for plan in PLANNED:
            password = derived_password(key, plan.serial)
            device = device_service.by_serial(session=session, serial=plan.serial)
            if device is None:
                pins = {"cancel_pin": CANCEL_PIN, "duress_pin": DURESS_PIN} if plan.kind is DeviceKind.PANIC else {}
                site = sites[min(plan.site_index, len(sites) - 1)]
                row, _random = registry.provision(session=session, actor=actor, data=DeviceIn(
                    site=site.code, serial=plan.serial, kind=plan.kind, room=plan.room, firmware="kgys-sim-1.0",
                    heartbeat_seconds=HEARTBEAT_SECONDS, **pins))
                device = row.device
            if device.enabled and not secrets.check_secret(password, device.mqtt_password_hash):
                device.mqtt_password_hash = secrets.hash_secret(password)
            at = session.get(Site, device.site_id)
            out.append(DemoDevice(device.serial, device.kind, at.code if at else "", at.name if at else "",
                                  device.room, password if device.enabled else None))
        session.flush()
    passwd = settings.devices.password_path(settings.data_dir)
    for d in out:
        if d.password is not None:
            mosquitto.set_password(passwd, d.serial, d.password, binary=settings.devices.mosquitto_passwd)
    broker.sync(session, settings)
    return out


def answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections at ``host:port`` (a broker, presumably)."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def broker_config(settings: Settings, port: int) -> str:
    """The configuration of the demo's own Mosquitto: loopback only, the registry's password and ACL files,
    persistence in DATA_DIR/mosquitto, the log on its standard error."""
    cfg, data = settings.devices, settings.data_dir
    folder = data / "mosquitto"
    return "\n".join([
        "# written by kgys demo at every start: do not edit by hand", f"listener {port} 127.0.0.1",
        "allow_anonymous false", f"user {getpass.getuser()}", f"password_file {cfg.password_path(data)}",
        f"acl_file {cfg.acl_path(data)}", "persistence true", f"persistence_location {folder}/",
        "autosave_interval 60", "log_dest stderr", "log_type error", "log_type warning", "log_type notice",
        "max_queued_messages 10000", ""])


def write_broker_config(settings: Settings, port: int) -> Path:
    """Write the demo Mosquitto's configuration file; its path."""
    path = settings.data_dir / "mosquitto" / "mosquitto.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(broker_config(settings, port))
    return path
