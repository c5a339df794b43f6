"""Units' trackers on the broker, built on the dispatch domain: a position a tracker publishes is stored through
dispatch's own position service (:func:`kgys.dispatch.service.report_position`), the trackers' logins go into the
broker's files, and the assignments waiting in dispatch's outbox for trackers are published by the intake.

A position of a unit that is not registered (``unknown_unit``) or has no enabled tracker login (``no_tracker``)
is refused; one older than the position kept is taken in but changes nothing (counted as ``older``). Everything
happens in the caller's transaction (the intake's batch), nothing is committed here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.config import DispatchSettings
from kgys.devices import outbox, payloads
from kgys.devices.intake import Outcome
from kgys.devices.kinds import Rejection
from kgys.devices.mosquitto import TrackerLogin
from kgys.devices.payloads import Refusal
from kgys.devices.positions import Position
from kgys.devices.service import Outgoing
from kgys.dispatch import service as unit_service
from kgys.dispatch import trackers
from kgys.dispatch.models import UnitPosition
from kgys.dispatch.schemas import PositionIn
from kgys.errors import ValidationFailed

FIELDS = {"latitude": "lat", "longitude": "lon", "accuracy_m": "accuracy_m", "reported_at": "at"}


def _refuse(reason: Rejection, detail: str, call_sign: str) -> Outcome:
    return Outcome(serial=call_sign, refusal=Refusal(reason, detail, call_sign))


def take_position(session: Session, *, parsed: Position, settings: DispatchSettings, now: datetime) -> Outcome:
    """Store a tracker's position as the unit's last (see the module); flushed, not committed."""
    call_sign, fix = parsed.call_sign, parsed.fix
    unit, enabled = trackers.enabled_unit(session=session, call_sign=call_sign)
    if unit is None:
        return _refuse(Rejection.UNKNOWN_UNIT, f"no unit {call_sign!r} is registered", call_sign)
    if not enabled:
        return _refuse(Rejection.NO_TRACKER, f"unit {call_sign!r} has no enabled tracker login", call_sign)
    kept = session.get(UnitPosition, unit.id)
    if kept is not None and fix.at < kept.reported_at:
        return Outcome(serial=call_sign, counted="older")
    data = PositionIn(latitude=fix.lat, longitude=fix.lon, accuracy_m=fix.accuracy_m, reported_at=fix.at)
    try:
        unit_service.report_position(session=session, actor=system_actor(f"tracker:{call_sign}"[:64]),
                                     call_sign=call_sign, data=data, settings=settings, now=now)
    except ValidationFailed as exc:
        detail = "; ".join(f"{FIELDS.get(e.field, e.field)}: {e.message}" for e in exc.errors)
        return _refuse(Rejection.INVALID, detail, call_sign)
    return Outcome(serial=call_sign)


def tracker_logins(*, session: Session) -> list[TrackerLogin]:
    """The broker logins of every enabled tracker (what the ACL file lists)."""
    return [TrackerLogin(username=u, call_sign=c) for u, c in trackers.logins(session=session)]


def unsent(*, session: Session, limit: int = 100) -> list[Outgoing]:
    """The messages waiting for trackers, oldest first, with the topic each goes on."""
    return [Outgoing(o.id, payloads.unit_assignment_topic(o.call_sign), o.body, o.attempts)
            for o in trackers.unsent(session=session, limit=limit)]


def mark_sent(*, session: Session, downlink_id: int, now: datetime) -> None:
    """Note that the broker acknowledged a message to a tracker."""
    trackers.mark_sent(session=session, downlink_id=downlink_id, now=now)


def mark_failed(*, session: Session, downlink_id: int, error: str) -> None:
    """Note a failed attempt to hand a message to a tracker over to the broker."""
    trackers.mark_failed(session=session, downlink_id=downlink_id, error=error)


ASSIGNMENTS = outbox.Source(
    "assignment", lambda s: unsent(session=s), lambda s, i, now: mark_sent(session=s, downlink_id=i, now=now),
    lambda s, i, error: mark_failed(session=s, downlink_id=i, error=error))
