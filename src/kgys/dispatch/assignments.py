"""Assignments of units to incidents: starting one and moving it a step, with the unit's status following.

A unit takes an assignment only when available and on none other. Two operators sending the same unit at the
same moment both read it available; the database lets one through (the unit's version compare-and-set and
the unique ``active_unit_id``), the other is told the unit is taken (Conflict). Each step keeps its time;
the unit's status follows the assignment (:data:`~kgys.dispatch.states.UNIT_STATUS_OF`), with the step kept in
the unit's history. Each assignment made or moved is published as an ``assignment`` event (:func:`publish`) in
the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.audit.mechanism import acting_as
from kgys.dispatch import events
from kgys.dispatch.models import Assignment, Unit
from kgys.dispatch.schemas import AssignmentOut
from kgys.dispatch.service import active_assignment, change_status, flush_or_conflict
from kgys.dispatch.states import (
    ACTIVE,
    UNIT_STATUS_OF,
    AssignmentMove,
    AssignmentState,
    MoveRefused,
    UnitStatus,
    assignment_after,
    may_assign,
)
from kgys.errors import Conflict, NotFound
from kgys.incidents.models import Incident
from kgys.said import _

STEP = _("assignment %(step)s")  # a unit's status note when an assignment's step moved it
CANNOT_GO = _("Unit %(unit)s cannot be sent: %(detail)s.")
SENT_ELSEWHERE = _("Unit %(unit)s was sent elsewhere a moment ago.")

_STAMP = {AssignmentState.ACKNOWLEDGED: "acknowledged_at", AssignmentState.EN_ROUTE: "en_route_at",
          AssignmentState.ON_SCENE: "on_scene_at", AssignmentState.CLEARED: "cleared_at"}


def assignment_out(a: Assignment, unit: Unit, incident_number: str) -> AssignmentOut:
    """The API shape of an assignment."""
    return AssignmentOut(id=a.id, incident=incident_number, unit=unit.call_sign, state=a.state,
                         assigned_at=a.assigned_at, assigned_by=a.assigned_by, acknowledged_at=a.acknowledged_at,
                         en_route_at=a.en_route_at, on_scene_at=a.on_scene_at, cleared_at=a.cleared_at,
                         ended_at=a.ended_at, escalated_at=a.escalated_at, note=a.note, version=a.version)


def publish(session: Session, assignment: Assignment, unit: Unit, move: str) -> None:
    """Publish the assignment's ``move`` (assigned, the state it moved to, escalated) in its API shape, in the
    session's transaction, in its incident's district and site (:mod:`kgys.dispatch.events`)."""
    session.flush()
    incident = session.get(Incident, assignment.incident_id)
    if incident is None:
        return
    events.assignment_changed(session, assignment_out(assignment, unit, incident.number), move,
                              scope_path=incident.scope_path, site_id=incident.site_id)


def start(session: Session, actor: Actor, unit: Unit, *, incident_id: int, note: str, now: datetime) -> Assignment:
    """Send ``unit`` to the incident: the assignment, and the unit busy, or Conflict when it cannot go."""
    why = may_assign(UnitStatus(unit.status), active_assignment=active_assignment(session, unit.id) is not None)
    if why is not None:
        raise Conflict(CANNOT_GO.english(unit=unit.call_sign, detail=why), unit=unit.call_sign, status=unit.status)
    assignment = Assignment(incident_id=incident_id, unit_id=unit.id, active_unit_id=unit.id,
                            state=AssignmentState.ASSIGNED, assigned_at=now, assigned_by=actor.username, note=note)
    taken = Conflict(SENT_ELSEWHERE.english(unit=unit.call_sign), unit=unit.call_sign)
    try:
        with session.begin_nested(), acting_as(session, actor):
            session.add(assignment)
            session.flush()
    except IntegrityError as exc:
        raise taken from exc
    try:
        change_status(session, actor, unit, UNIT_STATUS_OF[AssignmentState.ASSIGNED], note=note,
                      assignment_id=assignment.id, at=now)
    except Conflict as exc:
        raise taken from exc
    publish(session, assignment, unit, "assigned")
    return assignment


def move(session: Session, actor: Actor, assignment: Assignment, unit: Unit, step: AssignmentMove, *, note: str,
         now: datetime) -> Assignment:
    """Move the assignment a step (Conflict when out of order); the unit's status follows."""
    try:
        target = assignment_after(AssignmentState(assignment.state), step)
    except MoveRefused as exc:
        raise Conflict(f"Unit {unit.call_sign}: {exc}.", state=assignment.state) from exc
    with acting_as(session, actor, note or None):
        assignment.state = target
        if target in _STAMP:
            setattr(assignment, _STAMP[target], now)
        if target not in ACTIVE:
            assignment.ended_at, assignment.active_unit_id = now, None
        if note:
            assignment.note = note
        flush_or_conflict(session, "This assignment changed meanwhile: look again.")
    change_status(session, actor, unit, UNIT_STATUS_OF[target], note=note or STEP.english(step=step.value),
                  assignment_id=assignment.id, at=now)
    publish(session, assignment, unit, target.value)
    return assignment


def for_incident(session: Session, incident_id: int) -> list[tuple[Assignment, Unit]]:
    """The incident's assignments with their units, in the order they were made."""
    rows = session.execute(select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id)
                           .where(Assignment.incident_id == incident_id).order_by(Assignment.id)).all()
    return [(a, u) for a, u in rows]


def get(session: Session, incident_id: int, assignment_id: int) -> tuple[Assignment, Unit]:
    """One assignment of the incident with its unit; NotFound otherwise."""
    row = session.execute(select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id)
                          .where(Assignment.id == assignment_id, Assignment.incident_id == incident_id)).first()
    if row is None:
        raise NotFound("No such assignment.", assignment_id=assignment_id)
    return row[0], row[1]


def tally(session: Session, incident_id: int) -> tuple[int, bool]:
    """How many of the incident's assignments are active, and whether a unit of it reached the scene."""
    active = session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.incident_id == incident_id, Assignment.state.in_(sorted(ACTIVE)))) or 0
    arrived = session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.incident_id == incident_id, Assignment.on_scene_at.is_not(None))) or 0
    return int(active), bool(arrived)


def unacknowledged(session: Session, *, assigned_before: datetime) -> list[Assignment]:
    """Assignments still waiting for their unit's acknowledgement since before ``assigned_before``, not yet
    escalated."""
    return list(session.scalars(select(Assignment).where(
        Assignment.state == AssignmentState.ASSIGNED, Assignment.escalated_at.is_(None),
        Assignment.assigned_at <= assigned_before).order_by(Assignment.assigned_at, Assignment.id)).all())


def of_unit(session: Session, unit_id: int, *, limit: int = 20) -> list[Assignment]:
    """The unit's assignments, active first then newest."""
    return list(session.scalars(select(Assignment).where(Assignment.unit_id == unit_id)
                                .order_by(Assignment.active_unit_id.is_(None), Assignment.id.desc())
                                .limit(limit)).all())


def active_for(session: Session, incident_ids: list[int]) -> list[tuple[Assignment, Unit]]:
    """The active assignments of the incidents with their units, in the order they were made."""
    if not incident_ids:
        return []
    rows = session.execute(select(Assignment, Unit).join(Unit, Unit.id == Assignment.unit_id)
                           .where(Assignment.incident_id.in_(incident_ids), Assignment.state.in_(sorted(ACTIVE)))
                           .order_by(Assignment.id)).all()
    return [(a, u) for a, u in rows]
