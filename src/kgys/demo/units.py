"""Units in the demo: a few patrol teams of the demo districts, each with a field login (the demo's ``field_unit``
speaks for the first) and a tracker login on the broker, registered once (a second start finds them).

The field logins' passwords are made like the demo's other logins and the trackers' broker passwords like its
devices' (both derived from the data folder's own secret key: random for each folder, the same at every start).
A unit whose tracker login was revoked keeps it revoked and is not simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import system_actor
from kgys.accounts.models import User
from kgys.accounts.permissions import Role
from kgys.audit.mechanism import acting_as
from kgys.config import Settings
from kgys.demo import EMAIL_DOMAIN, DemoLogin, DemoLogins, demo_password
from kgys.demo.devices import derived_password
from kgys.demo.names import DISTRICTS, FIELD_UNIT_DISTRICT
from kgys.devices import broker, mosquitto
from kgys.dispatch import service as unit_service
from kgys.dispatch import trackers
from kgys.dispatch.models import Unit
from kgys.dispatch.schemas import UnitIn
from kgys.dispatch.states import UnitKind

UNITS_REASON = "demo: units and their trackers"


@dataclass(frozen=True)
class Planned:
    """A unit the demo registers, and the field login that speaks for it."""

    call_sign: str
    kind: UnitKind
    district: str
    station: str
    field_user: str
    full_name: str


PLANNED = (
    Planned("99-01-A", UnitKind.PATROL_CAR, FIELD_UNIT_DISTRICT, "Merkez Polis Merkezi", "field_unit", "Ekip 99-01"),
    Planned("99-01-B", UnitKind.PATROL_CAR, FIELD_UNIT_DISTRICT, "Merkez Polis Merkezi", "ekip-99-01-b",
            "Ekip 99-01-B"),
    Planned("99-01-M", UnitKind.MOTORCYCLE, FIELD_UNIT_DISTRICT, "Merkez Polis Merkezi", "ekip-99-01-m",
            "Motosikletli Ekip 99-01-M"),
    Planned("99-02-A", UnitKind.PATROL_CAR, "TR-99-02", "Yenişehir Polis Merkezi", "ekip-99-02-a", "Ekip 99-02-A"),
)
CENTRES = {code: (lat, lon) for code, _p, _n, lat, lon, _s in DISTRICTS}


@dataclass(frozen=True)
class DemoUnit:
    """A demo unit: its field login and that login's password, where its tracker drives, and the tracker's broker
    password (None: no tracker login yet, or revoked — not simulated)."""

    call_sign: str
    district: str
    field_user: str
    field_password: str
    latitude: float
    longitude: float
    tracker_password: str | None = None


def _field_user(session: Session, settings: Settings, plan: Planned) -> str:
    """The plan's field login (made when missing); its password."""
    password = demo_password(settings.security.secret_key, plan.field_user)
    if session.scalar(select(User.id).where(User.username == plan.field_user)) is None:
        account_service.create_user(session=session, actor=system_actor("demo"), username=plan.field_user,
                                    password=password, role=Role.FIELD_UNIT.value, full_name=plan.full_name,
                                    email=f"{plan.field_user}@{EMAIL_DOMAIN}", jurisdiction_codes=(plan.district,),
                                    settings=settings.security)
    return password


def ensure(session: Session, settings: Settings) -> list[DemoUnit]:
    """Register the demo's units (and their field logins) that are missing; audited. Nothing is added twice."""
    if session.scalar(select(User.id).where(User.username == "admin")) is None:
        return []  # not a demo database
    actor = system_actor("demo")
    out: list[DemoUnit] = []
    with acting_as(session, actor, reason=UNITS_REASON):
        for plan in PLANNED:
            password = _field_user(session, settings, plan)
            if session.scalar(select(Unit.id).where(Unit.call_sign == plan.call_sign)) is None:
                unit_service.create_unit(session=session, actor=actor, data=UnitIn(
                    call_sign=plan.call_sign, kind=plan.kind, district=plan.district, station=plan.station,
                    field_user=plan.field_user))
            lat, lon = CENTRES.get(plan.district, CENTRES[FIELD_UNIT_DISTRICT])
            out.append(DemoUnit(plan.call_sign, plan.district, plan.field_user, password, lat, lon))
        session.flush()
    return out


def with_logins(logins: DemoLogins, units: list[DemoUnit]) -> DemoLogins:
    """The demo's logins with the units' field logins added (the ones not listed yet)."""
    known = {x.username for x in logins.logins}
    extra = tuple(DemoLogin(u.field_user, Role.FIELD_UNIT.value, f"{u.district} (unit {u.call_sign})",
                            u.field_password, None) for u in units if u.field_user not in known)
    return replace(logins, logins=logins.logins + extra)


def register_trackers(session: Session, settings: Settings, units: list[DemoUnit]) -> list[DemoUnit]:
    """Give each demo unit's tracker its login with the derived password (once; a revoked one stays revoked), and
    write the broker's password and ACL files; the units with their tracker passwords (None: not simulated)."""
    actor = system_actor("demo")
    key = settings.security.secret_key
    out: list[DemoUnit] = []
    with acting_as(session, actor, reason=UNITS_REASON):
        for u in units:
            unit = session.scalar(select(Unit).where(Unit.call_sign == u.call_sign))
            tracker = trackers.of_unit(session, unit.id) if unit is not None else None
            password = derived_password(key, trackers.username_for(u.call_sign))
            if unit is None or (tracker is not None and not tracker.enabled):
                out.append(u)
                continue
            if tracker is None or not trackers.check_password(password, tracker.password_hash):
                trackers.issue(session=session, actor=actor, call_sign=u.call_sign, password=password)
            out.append(replace(u, tracker_password=password))
    passwd = settings.devices.password_path(settings.data_dir)
    for u in out:
        if u.tracker_password is not None:
            mosquitto.set_password(passwd, trackers.username_for(u.call_sign), u.tracker_password,
                                   binary=settings.devices.mosquitto_passwd)
    broker.sync(session, settings)
    return out
