"""What a unit's field page shows: the unit, its active assignments with the incident behind each (category,
priority, details, place, site, the call-back number of its alerts), and the moves open to the unit next.

A field login sees its own unit (the one whose ``field_user_id`` it is); a dispatcher (``dispatch.assign``) may
name any unit of its scope. Any other unit is answered as if it did not exist, as in the units API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts.models import Alert
from kgys.dispatch import assignments
from kgys.dispatch import service as unit_service
from kgys.dispatch.models import Assignment, Unit, UnitPosition
from kgys.dispatch.states import (
    ACTIVE,
    BY_HAND,
    FIELD_MOVES,
    AssignmentMove,
    AssignmentState,
    MoveRefused,
    UnitStatus,
    assignment_after,
)
from kgys.errors import NotFound
from kgys.incidents import service as incident_service
from kgys.incidents.models import Incident
from kgys.sites.models import Site

# the order the field page offers a unit's moves in (decline last: it needs a reason)
MOVE_ORDER = (AssignmentMove.ACKNOWLEDGE, AssignmentMove.EN_ROUTE, AssignmentMove.ON_SCENE, AssignmentMove.CLEAR,
              AssignmentMove.DECLINE)


@dataclass(frozen=True)
class Task:
    """One active assignment of the unit as the field sees it."""

    assignment: Assignment
    incident: Incident
    site_code: str | None
    site_name: str | None
    address: str | None
    call_back: str | None
    moves: tuple[AssignmentMove, ...]


@dataclass(frozen=True)
class FieldState:
    """The unit, its last position, its active assignments and the statuses it may set by hand now."""

    unit: Unit
    position: UnitPosition | None
    tasks: list[Task]
    statuses: tuple[UnitStatus, ...]

    @property
    def version(self) -> str:
        """Changes whenever the unit or one of its active assignments changes (an ETag for polling)."""
        parts = [f"{self.unit.id}.{self.unit.version}"] + [f"{t.assignment.id}.{t.assignment.version}"
                                                            for t in self.tasks]
        return "-".join(parts)


def next_moves(state: AssignmentState) -> tuple[AssignmentMove, ...]:
    """The moves the unit itself may make from ``state``, in the page's order."""
    out = []
    for move in MOVE_ORDER:
        try:
            assignment_after(state, move)
        except MoveRefused:
            continue
        out.append(move)
    return tuple(m for m in out if m in FIELD_MOVES)


def hand_statuses(status: UnitStatus, *, on_assignment: bool) -> tuple[UnitStatus, ...]:
    """The statuses the unit may set by hand now: the other of available, busy, off duty, none on an
    assignment."""
    if on_assignment:
        return ()
    return tuple(s for s in (UnitStatus.AVAILABLE, UnitStatus.BUSY, UnitStatus.OFF_DUTY)
                 if s in BY_HAND and s != status)


def unit_of(*, session: Session, actor: Actor, call_sign: str | None) -> tuple[Unit, UnitPosition | None] | None:
    """The unit the page is about: the one named (a dispatcher: any of its scope; a field login: its own only,
    NotFound otherwise), else the login's own unit; None when the login speaks for no unit."""
    actor.require(Perm.UNITS_REPORT)
    if call_sign:
        return unit_service.unit_for(session=session, actor=actor, call_sign=call_sign)
    if actor.id is None:
        return None
    own = session.scalar(select(Unit.call_sign).where(Unit.field_user_id == actor.id))
    if own is None:
        return None
    try:
        return unit_service.unit_for(session=session, actor=actor, call_sign=own)
    except NotFound:
        return None  # the unit's district left the login's scope


def _call_back(session: Session, incident_id: int) -> str | None:
    ids = incident_service.alert_ids(session, incident_id)
    if not ids:
        return None
    for data in session.scalars(select(Alert.data).where(Alert.id.in_(ids)).order_by(Alert.id)).all():
        number = (data or {}).get("call_back")
        if isinstance(number, str) and number.strip():
            return number.strip()
    return None


def _task(session: Session, assignment: Assignment) -> Task:
    incident = session.get(Incident, assignment.incident_id)
    assert incident is not None
    site = None if incident.site_id is None else session.get(Site, incident.site_id)
    return Task(assignment=assignment, incident=incident, site_code=site.code if site else None,
                site_name=site.name if site else None, address=(site.address or None) if site else None,
                call_back=_call_back(session, incident.id), moves=next_moves(AssignmentState(assignment.state)))


def state(*, session: Session, actor: Actor, unit: Unit, position: UnitPosition | None) -> FieldState:
    """The field page's content for ``unit`` (found by :func:`unit_of`)."""
    actor.require(Perm.UNITS_REPORT)
    active = [a for a in assignments.of_unit(session, unit.id) if a.state in ACTIVE]
    tasks = [_task(session, a) for a in active]
    return FieldState(unit=unit, position=position, tasks=tasks,
                      statuses=hand_statuses(UnitStatus(unit.status), on_assignment=bool(active)))


def task_of(*, session: Session, unit: Unit, assignment_id: int) -> tuple[Assignment, str]:
    """The unit's assignment ``assignment_id`` and its incident's number; NotFound when it is another unit's."""
    found = session.scalar(select(Assignment).where(Assignment.id == assignment_id, Assignment.unit_id == unit.id))
    if found is None:
        raise NotFound("No such assignment.", assignment_id=assignment_id)
    return found, incident_service.number_of(session, found.incident_id)
