"""Sending units to incidents: the recommendation, the assignment and each step of it, closing the incident.

Assigning moves, in one transaction, the unit (busy), the incident (dispatched, its time to dispatch kept) and
the incident's alerts (dispatched, through the alert queue's own service). Each later step of an assignment —
acknowledged, en route, on scene, cleared, declined, cancelled — moves the unit's status and the incident with
it and is written on the incident's timeline. A field login moves only its own unit's assignments; cancelling
is the operator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.config import DispatchSettings
from kgys.db import utcnow
from kgys.dispatch import assignments, ranking, trackers
from kgys.dispatch import service as unit_service
from kgys.dispatch.models import Assignment, Unit
from kgys.dispatch.states import FIELD_MOVES, AssignmentMove, AssignmentState
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.incidents import service as incident_service
from kgys.incidents.flows import from_alerts
from kgys.incidents.models import Incident
from kgys.incidents.states import EntryKind, IncidentState, Outcome
from kgys.said import _

UNIT_ASSIGNED = _("unit %(unit)s assigned")
UNIT_STATE = _("unit %(unit)s: %(state)s")
UNIT_STATE_NOTE = _("unit %(unit)s: %(state)s — %(note)s")
UNIT_CHANGED = _("Unit %(unit)s changed meanwhile (%(unit_status)s): look again.")

_EVENT = {AssignmentMove.ACKNOWLEDGE: "acknowledged", AssignmentMove.ON_SCENE: "arrived",
          AssignmentMove.CLEAR: "cleared"}


@dataclass(frozen=True)
class Recommendation:
    """The ranking of an incident's candidates, with the unit rows behind them."""

    incident: Incident
    model: str
    required: frozenset[str]
    ranked: list[ranking.Ranked]


def straight_line(settings: DispatchSettings) -> ranking.StraightLine:
    """The straight-line travel-time model of the settings."""
    return ranking.StraightLine(speeds_kmh=dict(settings.speeds_kmh), detour_factor=settings.detour_factor)


def recommend(*, session: Session, actor: Actor, number: str, settings: DispatchSettings,
              travel: ranking.TravelTimes | None = None, require: list[str] | None = None,
              now: datetime | None = None, limit: int | None = None) -> Recommendation:
    """The available units of the actor's scope ranked for the incident (its required capabilities, or
    ``require``), quickest first, then those left out and why (at most ``limit`` of each)."""
    actor.require(Perm.DISPATCH_READ)
    incident = incident_service.get(session=session, actor=actor, number=number)
    model = travel or straight_line(settings)
    required = frozenset(require if require is not None else incident.capabilities)
    now = now or utcnow()
    place = ranking.Point(incident.latitude, incident.longitude)
    stale_after = timedelta(seconds=settings.stale_after_seconds)
    if limit is not None and not required:
        # the nearest units only, where that provably holds the quickest (see _enough)
        near, radius = unit_service.nearest_candidates(session=session, actor=actor, place=place,
                                                       count=max(NEAREST, 4 * limit), fresh_after=now - stale_after,
                                                       others=limit)
        ranked = ranking.rank(near, place, required=required, now=now, stale_after=stale_after, travel=model,
                              limit=limit)
        if radius is None or _enough(ranked, limit, radius, settings, model):
            return Recommendation(incident, model.name, required, ranked)
    found = unit_service.candidates(session=session, actor=actor, capabilities=bool(required))
    ranked = ranking.rank(found, place, required=required, now=now, stale_after=stale_after, travel=model,
                          limit=limit)
    return Recommendation(incident, model.name, required, ranked)


NEAREST = 200  # units read for a recommendation with no capability required, nearest first


def _enough(ranked: list[ranking.Ranked], limit: int, radius: float, settings: DispatchSettings,
            model: ranking.TravelTimes) -> bool:
    """Whether the units within ``radius`` surely hold the ``limit`` quickest: every unit farther away needs, by
    straight line, at least ``radius`` × detour at the fastest speed, which is no quicker than the slowest of those
    ranked. (By road, the road model routes only the nearest by straight line anyway.)"""
    if model.name != "straight_line":
        return True
    legs = [r.leg for r in ranked if r.rank is not None and r.leg is not None]
    if len(legs) < limit:
        return False
    fastest = max(settings.speeds_kmh.values(), default=0.0)
    return fastest > 0 and legs[-1].seconds <= radius * settings.detour_factor / (fastest / 3.6)


def _open_incident(session: Session, actor: Actor, number: str) -> Incident:
    incident = incident_service.get(session=session, actor=actor, number=number)
    if incident.state == IncidentState.CLOSED:
        raise Conflict(incident_service.IS_CLOSED.english(number=number), state=incident.state)
    return incident


def assign(*, session: Session, actor: Actor, number: str, call_sign: str, unit_version: int | None = None,
           note: str = "", now: datetime | None = None) -> tuple[Assignment, Unit, Incident]:
    """Send a unit of the actor's scope to the incident (see the module); Conflict when it cannot go or another
    operator sent it first."""
    actor.require(Perm.DISPATCH_ASSIGN)
    now = now or utcnow()
    incident = _open_incident(session, actor, number)
    try:
        unit, _ = unit_service.get_unit(session=session, actor=actor, call_sign=call_sign)
    except NotFound as exc:
        raise ValidationFailed([FieldError("unit", "no such unit within your scope", value=call_sign)]) from exc
    if unit_version is not None and unit_version != unit.version:
        raise Conflict(UNIT_CHANGED.english(unit=unit.call_sign, unit_status=unit.status),
                       unit=unit.call_sign, version=unit.version)
    assignment = assignments.start(session, actor, unit, incident_id=incident.id, note=note, now=now)
    active, arrived = assignments.tally(session, incident.id)
    incident_service.follow_assignments(session, actor, incident, active=active, arrived=arrived,
                                        event="dispatched", at=now)
    incident_service.add_entry(session, incident, EntryKind.ASSIGNED, UNIT_ASSIGNED, params={"unit": unit.call_sign},
                               by=actor.username, data={"unit": unit.call_sign, "assignment": assignment.id},
                               at=now)
    from_alerts.alerts_dispatched(session=session, actor=actor, incident=incident, now=now)
    trackers.notify(session=session, unit=unit, assignment=assignment, incident=incident, event="assigned", now=now)
    return assignment, unit, incident


def _assignment_for(session: Session, actor: Actor, number: str, assignment_id: int,
                    step: AssignmentMove) -> tuple[Incident, Assignment, Unit]:
    """The assignment the actor may move: any of an incident of its scope for a dispatcher, its own unit's for a
    field login (NotFound otherwise, as if it did not exist)."""
    if actor.can(Perm.DISPATCH_ASSIGN):
        incident = incident_service.get_in_scope(session=session, actor=actor, number=number)
        assignment, unit = assignments.get(session, incident.id, assignment_id)
        return incident, assignment, unit
    actor.require(Perm.DISPATCH_ASSIGN if step not in FIELD_MOVES else Perm.UNITS_REPORT)
    found = incident_service.by_number(session, number)
    if found is None:
        raise NotFound("No such assignment.", assignment_id=assignment_id)
    assignment, unit = assignments.get(session, found.id, assignment_id)
    if actor.id is None or unit.field_user_id != actor.id:
        raise NotFound("No such assignment.", assignment_id=assignment_id)
    return found, assignment, unit


def move_assignment(*, session: Session, actor: Actor, number: str, assignment_id: int, step: AssignmentMove,
                    note: str = "", version: int | None = None, now: datetime | None = None
                    ) -> tuple[Assignment, Unit, Incident]:
    """Move an assignment a step (Conflict, saying what comes first, when out of order)."""
    actor.require(Perm.DISPATCH_ASSIGN if step is AssignmentMove.CANCEL else Perm.UNITS_REPORT)
    now = now or utcnow()
    incident, assignment, unit = _assignment_for(session, actor, number, assignment_id, step)
    if version is not None and version != assignment.version:
        raise Conflict("This assignment changed meanwhile: look again.", version=assignment.version)
    assignments.move(session, actor, assignment, unit, step, note=note, now=now)
    active, arrived = assignments.tally(session, incident.id)
    if incident.state != IncidentState.CLOSED:
        event = _EVENT.get(step, "ended")
        incident_service.follow_assignments(session, actor, incident, active=active, arrived=arrived, event=event,
                                            at=now)
    state = AssignmentState(assignment.state)
    said, params = (UNIT_STATE_NOTE, {"note": note}) if note else (UNIT_STATE, {})
    incident_service.add_entry(session, incident, EntryKind.ASSIGNMENT, said,
                               params={"unit": unit.call_sign, "state": state.value, **params},
                               by=actor.username,
                               data={"unit": unit.call_sign, "assignment": assignment.id, "state": state.value},
                               at=now)
    if step is AssignmentMove.CANCEL:
        trackers.notify(session=session, unit=unit, assignment=assignment, incident=incident, event="cancelled",
                        now=now)
    return assignment, unit, incident


def close_incident(*, session: Session, actor: Actor, number: str, outcome: Outcome, note: str = "",
                   version: int | None = None, now: datetime | None = None) -> Incident:
    """Close the incident (none of its assignments active) and resolve its alerts still open."""
    actor.require(Perm.DISPATCH_ASSIGN)
    now = now or utcnow()
    incident = incident_service.get(session=session, actor=actor, number=number)
    active, _ = assignments.tally(session, incident.id)
    incident_service.close(session=session, actor=actor, incident=incident, outcome=outcome, note=note,
                           version=version, active=active, now=now)
    from_alerts.resolve_alerts(session=session, actor=actor, incident=incident, outcome=outcome, now=now)
    return incident
