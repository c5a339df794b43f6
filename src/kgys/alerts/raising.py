"""Raising alerts: the one way every source puts an alarm into the queue, and the system clears one.

:func:`raise_alert` stores the alert in the caller's transaction, with its first history step and an event for
the consoles; the caller acknowledges its sender only after committing. A repeat of an alarm (same
``dedup_key``) while its alert is open and last heard of within ``window`` is merged into that alert: counted,
its time and details refreshed, never a second alert. An open alert not heard of for longer than the window
stops taking repeats (it stays in the queue) and the repeat opens a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert, AlertChange
from kgys.alerts.schemas import alert_out
from kgys.alerts.states import OPEN, Move, Priority, Source, State, after
from kgys.cameras.models import Camera
from kgys.db import utcnow
from kgys.events import bus
from kgys.sites.models import Site

TOPIC = "alert"


@dataclass(frozen=True)
class Position:
    """Where the sender was, with the radius (metres) it is sure within."""

    latitude: float
    longitude: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Alarm:
    """What a source raises. ``window`` None: repeats merge for as long as the alert is open."""

    source: Source
    kind: str
    priority: Priority
    details: str = ""
    site_id: int | None = None
    camera_id: int | None = None
    device: str | None = None
    position: Position | None = None
    raised_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)
    drill: bool = False
    dedup_key: str | None = None
    window: timedelta | None = None
    scope_path: str | None = None  # for an alert of no site: the district it belongs to


def _site_of(session: Session, site_id: int | None, camera_id: int | None) -> tuple[int | None, str | None]:
    """The alert's site (its own, or its camera's) and the site's district path."""
    if site_id is None and camera_id is not None:
        site_id = session.scalar(select(Camera.site_id).where(Camera.id == camera_id))
    if site_id is None:
        return None, None
    return site_id, session.scalar(select(Site.jurisdiction_path).where(Site.id == site_id))


def tell(session: Session, alert: Alert, move: Move) -> None:
    """Publish the alert's new state to the consoles (in the shape of the API), in the caller's transaction."""
    site = session.get(Site, alert.site_id) if alert.site_id is not None else None
    camera = session.get(Camera, alert.camera_id) if alert.camera_id is not None else None
    shape = alert_out(alert, site, camera).model_dump(mode="json")
    bus.publish(session, TOPIC, {"move": move.value, "alert": shape}, site_id=alert.site_id,
                scope_path=alert.scope_path)


def record(session: Session, alert: Alert, move: Move, *, by: str, before: str | None, user_id: int | None = None,
           note: str = "", at: datetime | None = None) -> None:
    """Add a step to the alert's history."""
    session.add(AlertChange(alert_id=alert.id, at=at or utcnow(), move=move, from_state=before, to_state=alert.state,
                            by=by, user_id=user_id, note=note))


def _merge(session: Session, alert: Alert, alarm: Alarm, now: datetime, by: str) -> Alert:
    values: dict[str, Any] = {"repeats": Alert.repeats + 1, "last_at": now, "version": Alert.version + 1}
    if alarm.details:
        values["details"] = alarm.details
    if "said" in alarm.data:  # the details as a code and values (kgys.said), refreshed with the text
        values["data"] = {**(alert.data or {}), "said": alarm.data["said"]}
    if alarm.priority < alert.priority:
        values["priority"] = int(alarm.priority)
    if alarm.position is not None:
        values.update(latitude=alarm.position.latitude, longitude=alarm.position.longitude,
                      accuracy_m=alarm.position.accuracy_m)
    session.execute(update(Alert).where(Alert.id == alert.id).values(**values))
    session.refresh(alert)
    record(session, alert, Move.REPEAT, by=by, before=alert.state, at=now)
    tell(session, alert, Move.REPEAT)
    return alert


def _open_alert(session: Session, key: str) -> Alert | None:
    return session.scalar(select(Alert).where(Alert.open_key == key))


def raise_alert(session: Session, alarm: Alarm, *, by: str | None = None, now: datetime | None = None) -> Alert:
    """Store ``alarm`` as a new alert, or merge it into the open alert it repeats; flushed, with its history
    step and its event. ``by`` names the sender in the history (default: the source and device)."""
    now = now or utcnow()
    by = by or (f"{alarm.source}:{alarm.device}" if alarm.device else str(alarm.source))
    key = alarm.dedup_key
    if key is not None:
        found = _open_alert(session, key)
        if found is not None:
            if alarm.window is None or found.last_at >= now - alarm.window:
                return _merge(session, found, alarm, now, by)
            found.open_key = None  # too old to take repeats: it stays in the queue, the repeat opens a new one
            session.flush()
    site_id, site_path = _site_of(session, alarm.site_id, alarm.camera_id)
    pos = alarm.position
    alert = Alert(source=alarm.source, kind=alarm.kind, priority=int(alarm.priority), state=State.NEW,
                  details=alarm.details, site_id=site_id, scope_path=site_path or alarm.scope_path,
                  camera_id=alarm.camera_id, device=alarm.device,
                  latitude=pos.latitude if pos else None, longitude=pos.longitude if pos else None,
                  accuracy_m=pos.accuracy_m if pos else None, data=dict(alarm.data), drill=alarm.drill,
                  raised_at=alarm.raised_at or now, received_at=now, last_at=now, repeats=1, dedup_key=key,
                  open_key=key)
    if key is None:  # nothing it could clash with
        session.add(alert)
        session.flush()
    else:
        try:
            with session.begin_nested():
                session.add(alert)
                session.flush()
        except IntegrityError:
            # another process opened this alarm's alert a moment ago: the raise is a repeat of it
            found = _open_alert(session, key)
            if found is None:
                raise
            return _merge(session, found, alarm, now, by)
    record(session, alert, Move.RAISE, by=by, before=None, at=now)
    tell(session, alert, Move.RAISE)
    return alert


def clear(session: Session, *, kinds: list[str], site_id: int | None = None, camera_id: int | None = None,
          source: Source | None = None, device: str | None = None, note: str = "", now: datetime | None = None) -> int:
    """Close, as resolved by the system, the open alerts of these kinds about a device, or a camera (or, without
    one, a site; without either, the whole installation); how many there were."""
    if not kinds:
        return 0
    stmt = select(Alert).where(Alert.kind.in_(kinds), Alert.state.in_(sorted(OPEN)))
    if source is not None:
        stmt = stmt.where(Alert.source == source)
    if device is not None:
        stmt = stmt.where(Alert.device == device)
    elif camera_id is not None:
        stmt = stmt.where(Alert.camera_id == camera_id)
    else:
        stmt = stmt.where(Alert.camera_id.is_(None),
                          Alert.site_id.is_(None) if site_id is None else Alert.site_id == site_id)
    now = now or utcnow()
    found = session.scalars(stmt).all()
    for alert in found:
        before = alert.state
        alert.state, alert.closed_at, alert.open_key = State.RESOLVED, now, None
        alert.version += 1
        session.flush()
        record(session, alert, Move.CLEAR, by="system", before=before, note=note, at=now)
        tell(session, alert, Move.CLEAR)
    return len(found)


def open_alert(session: Session, key: str) -> Alert | None:
    """The newest open alert raised under ``key`` (also one no longer taking repeats), None if there is none."""
    return session.scalar(select(Alert).where(Alert.dedup_key == key, Alert.state.in_(sorted(OPEN)))
                          .order_by(Alert.id.desc()).limit(1))


def close_by_sender(session: Session, alert: Alert, outcome: State, *, by: str, note: str,
                    now: datetime | None = None) -> None:
    """Close the open ``alert`` with ``outcome`` on its sender's word (a press cancelled at the device)."""
    now = now or utcnow()
    before = alert.state
    target = after(State(before), Move.RESOLVE, outcome)
    alert.state, alert.closed_at, alert.open_key = target, now, None
    alert.version += 1
    session.flush()
    record(session, alert, Move.RESOLVE, by=by, before=before, note=note, at=now)
    tell(session, alert, Move.RESOLVE)


def escalate(session: Session, alert: Alert, *, by: str, note: str, data: dict[str, Any],
             priority: Priority | None = None, now: datetime | None = None) -> None:
    """Add ``data`` to the open ``alert`` (and raise its priority to ``priority``), with a history step."""
    now = now or utcnow()
    after(State(alert.state), Move.ESCALATE)
    alert.data = {**alert.data, **data}
    if priority is not None and priority < alert.priority:
        alert.priority = int(priority)
    alert.version += 1
    alert.last_at = now
    session.flush()
    record(session, alert, Move.ESCALATE, by=by, before=alert.state, note=note, at=now)
    tell(session, alert, Move.ESCALATE)
