"""Units' trackers: the broker login a unit's tracker (the vehicle's AVL box or a phone app) reports positions
with over MQTT, and the outbox of assignments told to it.

A tracker's login is ``unit.{call sign}`` (a device's serial never has a dot, so the two never meet) with a
random password shown once; issuing it again gives a new password (rotation), revoking disables it. kgys keeps a
SHA-256 of the password only: with 192 random bits it cannot be guessed back, and the broker holds its own hash.
Every change is audited (:class:`~kgys.dispatch.models.UnitTracker`). When a unit with an enabled tracker is
assigned to an incident, or its assignment is cancelled, a message for the tracker is put into
``unit_downlinks`` in the same transaction; the intake publishes it (:mod:`kgys.devices.flows.tracking`).

Functions take keyword-only arguments and an explicit session and flush, never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit.mechanism import acting_as
from kgys.db import utcnow
from kgys.dispatch import service as unit_service
from kgys.dispatch.models import Assignment, Unit, UnitDownlink, UnitTracker
from kgys.errors import NotFound
from kgys.incidents.models import Incident

USERNAME_PREFIX = "unit."
Event = Literal["assigned", "cancelled"]
DETAILS_MAX = 500


def username_for(call_sign: str) -> str:
    """The broker login of the unit's tracker."""
    return f"{USERNAME_PREFIX}{call_sign}"


def hash_password(password: str) -> str:
    """``sha256$hex`` of a random tracker password."""
    return "sha256$" + hashlib.sha256(password.encode()).hexdigest()


def check_password(password: str, stored: str) -> bool:
    """Whether ``password`` is the one ``stored`` is the hash of."""
    return bool(stored) and hmac.compare_digest(hash_password(password), stored)


def of_unit(session: Session, unit_id: int) -> UnitTracker | None:
    """The unit's tracker login, enabled or not."""
    return session.get(UnitTracker, unit_id)


def _managed(session: Session, actor: Actor, call_sign: str) -> Unit:
    actor.require(Perm.UNITS_MANAGE)
    unit, _ = unit_service.get_unit(session=session, actor=actor, call_sign=call_sign)
    return unit


def get(*, session: Session, actor: Actor, call_sign: str) -> tuple[Unit, UnitTracker | None]:
    """A unit of the actor's scope and its tracker login (None: never issued); NotFound outside the scope."""
    unit = _managed(session, actor, call_sign)
    return unit, of_unit(session, unit.id)


def issue(*, session: Session, actor: Actor, call_sign: str, password: str | None = None,
          now: datetime | None = None) -> tuple[Unit, UnitTracker, str]:
    """Give the unit's tracker a login, or a new password for it (enabled again if revoked); the unit, the login
    and its password (shown once). ``password``: a given one (the demo's), else random."""
    unit = _managed(session, actor, call_sign)
    password = password or secrets.token_urlsafe(24)
    tracker = of_unit(session, unit.id)
    with acting_as(session, actor):
        if tracker is None:
            tracker = UnitTracker(unit_id=unit.id, username=username_for(unit.call_sign))
            session.add(tracker)
        tracker.password_hash, tracker.enabled = hash_password(password), True
        tracker.issued_at, tracker.issued_by = now or utcnow(), actor.username[:64]
        session.flush()
    return unit, tracker, password


def revoke(*, session: Session, actor: Actor, call_sign: str) -> tuple[Unit, UnitTracker]:
    """Disable the unit's tracker login (its broker login goes, the intake refuses its positions); NotFound when
    the unit has none."""
    unit = _managed(session, actor, call_sign)
    tracker = of_unit(session, unit.id)
    if tracker is None:
        raise NotFound("This unit has no tracker login.", call_sign=call_sign)
    if tracker.enabled:
        with acting_as(session, actor):
            tracker.enabled, tracker.password_hash = False, ""
            session.flush()
    return unit, tracker


def logins(*, session: Session) -> list[tuple[str, str]]:
    """(broker login, call sign) of every enabled tracker, by login."""
    rows = session.execute(select(UnitTracker.username, Unit.call_sign).join(Unit, Unit.id == UnitTracker.unit_id)
                           .where(UnitTracker.enabled.is_(True)).order_by(UnitTracker.username)).all()
    return [(u, c) for u, c in rows]


def enabled_unit(*, session: Session, call_sign: str) -> tuple[Unit | None, bool]:
    """The unit with this call sign (None: none) and whether it has an enabled tracker (for the intake, which
    acts for the system)."""
    row = session.execute(select(Unit, UnitTracker.enabled).outerjoin(UnitTracker, UnitTracker.unit_id == Unit.id)
                          .where(Unit.call_sign == call_sign)).first()
    if row is None:
        return None, False
    return row[0], bool(row[1])


def message(*, unit: Unit, assignment: Assignment, incident: Incident, event: Event, at: datetime,
            msg_id: str | None = None) -> dict[str, object]:
    """What the tracker is told of an assignment (or its cancellation)."""
    return {"msg_id": msg_id or uuid.uuid4().hex, "at": at.isoformat(), "event": event, "unit": unit.call_sign,
            "assignment_id": assignment.id, "incident": incident.number, "category": incident.category,
            "priority": incident.priority, "place": {"lat": incident.latitude, "lon": incident.longitude},
            "details": incident.details[:DETAILS_MAX], "note": assignment.note[:DETAILS_MAX]}


def notify(*, session: Session, unit: Unit, assignment: Assignment, incident: Incident, event: Event,
           now: datetime | None = None) -> UnitDownlink | None:
    """Put the message about the assignment into the outbox for the unit's tracker, in the caller's transaction;
    None when the unit has no enabled tracker."""
    tracker = of_unit(session, unit.id)
    if tracker is None or not tracker.enabled:
        return None
    now = now or utcnow()
    body = message(unit=unit, assignment=assignment, incident=incident, event=event, at=now)
    row = UnitDownlink(unit_id=unit.id, assignment_id=assignment.id, event=event, body=json.dumps(body),
                       created_at=now, attempts=0, last_error="")
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Outgoing:
    """An unsent message of the units' outbox, as plain data."""

    id: int
    call_sign: str
    body: bytes
    attempts: int


def unsent(*, session: Session, limit: int = 100) -> list[Outgoing]:
    """The oldest messages for trackers not yet taken by the broker, in the order they were written."""
    rows = session.execute(select(UnitDownlink.id, Unit.call_sign, UnitDownlink.body, UnitDownlink.attempts)
                           .join(Unit, Unit.id == UnitDownlink.unit_id)
                           .where(UnitDownlink.sent_at.is_(None)).order_by(UnitDownlink.id).limit(limit)).all()
    return [Outgoing(i, c, b.encode(), a) for i, c, b, a in rows]


def mark_sent(*, session: Session, downlink_id: int, now: datetime | None = None) -> None:
    """Note that the broker acknowledged the message."""
    row = session.get(UnitDownlink, downlink_id)
    if row is not None and row.sent_at is None:
        row.sent_at, row.last_error = now or utcnow(), ""
        row.attempts += 1
        session.flush()


def mark_failed(*, session: Session, downlink_id: int, error: str) -> None:
    """Note a failed attempt to hand the message to the broker (it stays in the outbox)."""
    row = session.get(UnitDownlink, downlink_id)
    if row is not None and row.sent_at is None:
        row.attempts += 1
        row.last_error = error[:200]
        session.flush()
