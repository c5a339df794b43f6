"""The device registry: provisioning, listing, disabling, drill mode, and what the intake needs to know of a device.

Functions take keyword-only arguments and an explicit session and flush, never commit; the broker's files are
written by :mod:`kgys.devices.mosquitto` after the commit (:func:`broker_logins` gives what goes in them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.db import utcnow
from kgys.devices import lockdown, secrets
from kgys.devices.lockdown import Action
from kgys.devices.models import Device, DeviceStatus, Downlink
from kgys.devices.mosquitto import Login
from kgys.devices.schemas import DeviceIn, DeviceOut
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.sites.models import Site


@dataclass(frozen=True)
class DeviceRow:
    """A device with its site and last signs of life."""

    device: Device
    site: Site
    status: DeviceStatus | None


def device_out(row: DeviceRow) -> DeviceOut:
    """The API shape of a device."""
    d, st = row.device, row.status
    return DeviceOut(serial=d.serial, kind=d.kind, site=row.site.code, room=d.room, firmware=d.firmware,
                     enabled=d.enabled, heartbeat_seconds=d.heartbeat_seconds, drill_until=d.drill_until,
                     last_seen_at=st.last_seen_at if st else None, battery=st.battery if st else None,
                     mqtt_username=d.mqtt_username)


def provision(*, session: Session, actor: Actor, data: DeviceIn, site: Site) -> tuple[DeviceRow, str]:
    """Register a device at ``site`` (loaded within the actor's scope); the row and its new broker password
    (shown once)."""
    actor.require(Perm.CAMERAS_EDIT)
    if session.scalar(select(Device.id).where(Device.serial == data.serial)) is not None:
        raise Conflict(f"a device with serial {data.serial} is already registered", serial=data.serial)
    password = secrets.new_password()
    device = Device(serial=data.serial, kind=data.kind, site_id=site.id, room=data.room, firmware=data.firmware,
                    heartbeat_seconds=data.heartbeat_seconds, enabled=True, mqtt_username=data.serial,
                    mqtt_password_hash=secrets.hash_secret(password),
                    cancel_pin_hash=secrets.hash_secret(data.cancel_pin) if data.cancel_pin else "",
                    duress_pin_hash=secrets.hash_secret(data.duress_pin) if data.duress_pin else "",
                    created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(device)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"a device with serial {data.serial} is already registered", serial=data.serial) from exc
    return DeviceRow(device, site, None), password


def list_devices(*, session: Session, actor: Actor, site: Site | None = None) -> list[DeviceRow]:
    """The devices of the sites within the actor's scope (of ``site``, loaded within scope), by site and serial."""
    actor.require(Perm.CAMERAS_READ)
    stmt = (select(Device, Site, DeviceStatus).join(Site, Site.id == Device.site_id)
            .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
            .where(actor.scope.clause(Site.jurisdiction_path, Site.id)))
    if site is not None:
        stmt = stmt.where(Device.site_id == site.id)
    return [DeviceRow(d, s, st) for d, s, st in session.execute(stmt.order_by(Site.code, Device.serial)).all()]


def get_device(*, session: Session, actor: Actor, serial: str, perm: Perm = Perm.CAMERAS_READ) -> DeviceRow:
    """One device within the actor's scope; NotFound otherwise."""
    actor.require(perm)
    row = session.execute(select(Device, Site, DeviceStatus).join(Site, Site.id == Device.site_id)
                          .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
                          .where(Device.serial == serial, actor.scope.clause(Site.jurisdiction_path, Site.id))).first()
    if row is None:
        raise NotFound(f"no device '{serial}'", serial=serial)
    return DeviceRow(*row)


def set_enabled(*, session: Session, actor: Actor, serial: str, enabled: bool) -> DeviceRow:
    """Enable or disable a device (a disabled one loses its broker login and is refused by the intake)."""
    row = get_device(session=session, actor=actor, serial=serial, perm=Perm.CAMERAS_EDIT)
    row.device.enabled = enabled
    session.flush()
    return row


def set_drill(*, session: Session, actor: Actor, serial: str, minutes: int, now: datetime | None = None) -> DeviceRow:
    """Put a device in drill mode for ``minutes`` (0 ends it): its presses count as drills."""
    if not 0 <= minutes <= 24 * 60:
        raise ValidationFailed([FieldError("minutes", "between 0 and 1440", value=str(minutes))])
    row = get_device(session=session, actor=actor, serial=serial, perm=Perm.CAMERAS_EDIT)
    row.device.drill_until = (now or utcnow()) + timedelta(minutes=minutes) if minutes else None
    session.flush()
    return row


def new_password(*, session: Session, device: Device) -> str:
    """Give the device a new broker password; the password (shown once)."""
    password = secrets.new_password()
    device.mqtt_password_hash = secrets.hash_secret(password)
    session.flush()
    return password


def broker_logins(*, session: Session) -> list[Login]:
    """The broker logins of every enabled device (what the ACL file lists)."""
    rows = session.execute(select(Device.mqtt_username, Device.serial, Site.code).join(Site, Site.id == Device.site_id)
                           .where(Device.enabled.is_(True))).all()
    return [Login(username=u, serial=s, site_code=c) for u, s, c in rows]


def by_serial(*, session: Session, serial: str) -> Device | None:
    """The device with this serial, enabled or not (for the intake, which acts for the system)."""
    return session.scalar(select(Device).where(Device.serial == serial))


def site_code(*, session: Session, site_id: int) -> str:
    """The institution code of a device's site."""
    return str(session.scalar(select(Site.code).where(Site.id == site_id)))


def heard(*, session: Session, device: Device, now: datetime, firmware: str | None = None,
          battery: int | None = None) -> DeviceStatus:
    """Note that the device was heard from at ``now`` (with what its heartbeat told)."""
    status = session.get(DeviceStatus, device.id)
    if status is None:
        status = DeviceStatus(device_id=device.id)
        session.add(status)
    if status.last_seen_at is None or status.last_seen_at < now:
        status.last_seen_at = now
    if firmware is not None:
        status.firmware = firmware
    if battery is not None:
        status.battery = battery
    session.flush()
    return status


def silent(*, session: Session, now: datetime, factor: float) -> list[tuple[Device, datetime]]:
    """Enabled devices not heard from for more than ``factor`` heartbeat intervals, with when they were last
    heard (or registered, if never)."""
    rows = session.execute(select(Device, DeviceStatus.last_seen_at)
                           .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
                           .where(Device.enabled.is_(True)).order_by(Device.serial)).all()
    found = []
    for device, last in rows:
        since = last or device.created_at
        if now - since > timedelta(seconds=device.heartbeat_seconds * factor):
            found.append((device, since))
    return found


DEVICE_STATES = ("online", "offline", "unknown", "disabled")


@dataclass(frozen=True)
class OfflineDevice:
    """A device silent for too long: what it is, where, when it was last heard (None: never) and since when it
    counts as silent (its last sign of life, or its registration)."""

    serial: str
    kind: str
    site_code: str
    site_name: str
    last_seen_at: datetime | None
    since: datetime


def state_of(*, enabled: bool, heartbeat_seconds: int, last_seen_at: datetime | None, created_at: datetime,
             now: datetime, factor: float) -> str:
    """A device's state: disabled; offline when silent for more than ``factor`` heartbeat intervals (since its
    last sign of life, or its registration); online when heard within them; unknown when never heard yet."""
    if not enabled:
        return "disabled"
    if now - (last_seen_at or created_at) > timedelta(seconds=heartbeat_seconds * factor):
        return "offline"
    return "online" if last_seen_at is not None else "unknown"


def offline_in_scope(*, session: Session, actor: Actor, now: datetime,
                     factor: float) -> tuple[list[OfflineDevice], dict[str, int]]:
    """The devices of the sites within the actor's scope that are offline (longest silent first), and how many
    devices there are in each state (:data:`DEVICE_STATES`)."""
    actor.require(Perm.CAMERAS_READ)
    rows = session.execute(select(Device.serial, Device.kind, Device.enabled, Device.heartbeat_seconds,
                                  Device.created_at, DeviceStatus.last_seen_at, Site.code, Site.name)
                           .join(Site, Site.id == Device.site_id)
                           .outerjoin(DeviceStatus, DeviceStatus.device_id == Device.id)
                           .where(actor.scope.clause(Site.jurisdiction_path, Site.id))).all()
    counts = dict.fromkeys(DEVICE_STATES, 0)
    offline: list[OfflineDevice] = []
    for serial, kind, enabled, beat, created, last, code, name in rows:
        state = state_of(enabled=enabled, heartbeat_seconds=beat, last_seen_at=last, created_at=created, now=now,
                         factor=factor)
        counts[state] += 1
        if state == "offline":
            offline.append(OfflineDevice(serial=serial, kind=kind, site_code=code, site_name=name, last_seen_at=last,
                                         since=last or created))
    offline.sort(key=lambda d: (d.since, d.serial))
    return offline, counts


@dataclass(frozen=True)
class Outgoing:
    """An unsent order of the outbox, as plain data (for the publisher, outside any transaction)."""

    id: int
    topic: str
    body: bytes
    attempts: int


def order_lockdown(*, session: Session, site: Site, action: Action, reason: str, by: str,
                   alert_id: int | None = None, now: datetime | None = None) -> Downlink:
    """Put a lockdown order (or its end) for ``site``'s devices into the outbox, in the caller's transaction: the
    intake publishes it once committed."""
    if action not in lockdown.ACTIONS:
        raise ValidationFailed([FieldError("action", "one of " + ", ".join(lockdown.ACTIONS), value=str(action))])
    now = now or utcnow()
    reason = reason.strip()[:lockdown.REASON_MAX]
    topic, body = lockdown.message(site_code=site.code, action=action, reason=reason, at=now)
    row = Downlink(site_id=site.id, topic=topic, body=body.decode(), action=action, reason=reason, alert_id=alert_id,
                   created_at=now, created_by=by[:80], attempts=0, last_error="")
    session.add(row)
    session.flush()
    return row


def unsent(*, session: Session, limit: int = 100) -> list[Outgoing]:
    """The oldest orders not yet taken by the broker, in the order they were written."""
    rows = session.execute(select(Downlink.id, Downlink.topic, Downlink.body, Downlink.attempts)
                           .where(Downlink.sent_at.is_(None)).order_by(Downlink.id).limit(limit)).all()
    return [Outgoing(i, t, b.encode(), a) for i, t, b, a in rows]


def mark_sent(*, session: Session, downlink_id: int, now: datetime | None = None) -> None:
    """Note that the broker acknowledged the order."""
    row = session.get(Downlink, downlink_id)
    if row is not None and row.sent_at is None:
        row.sent_at = now or utcnow()
        row.attempts += 1
        row.last_error = ""
        session.flush()


def mark_failed(*, session: Session, downlink_id: int, error: str) -> None:
    """Note a failed attempt to hand the order to the broker (it stays in the outbox)."""
    row = session.get(Downlink, downlink_id)
    if row is not None and row.sent_at is None:
        row.attempts += 1
        row.last_error = error[:200]
        session.flush()


def last_orders(*, session: Session, site_id: int, limit: int = 5) -> list[Downlink]:
    """The site's latest lockdown orders, newest first (the first one is the site's lockdown state)."""
    return list(session.scalars(select(Downlink).where(Downlink.site_id == site_id)
                                .order_by(Downlink.id.desc()).limit(limit)).all())
