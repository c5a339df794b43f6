"""HTTP API of dispatch: units (registered, listed, their status and positions), the units recommended for an
incident, and assignments (made by an operator, moved by the operator or the unit's field login)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Path, Query, Request

from kgys.db import utcnow
from kgys.dispatch import assignments, roads, service
from kgys.dispatch.flows import sending
from kgys.dispatch.models import Unit, UnitPosition
from kgys.dispatch.schemas import (
    AssignIn,
    AssignmentMoveIn,
    AssignmentOut,
    PositionIn,
    RankedOut,
    RecommendationOut,
    StatusChangeOut,
    StatusIn,
    UnitIn,
    UnitOut,
    UnitPatch,
)
from kgys.dispatch.states import AssignmentMove, UnitStatus
from kgys.incidents import service as incident_service
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime
from kgys.web.routing import Router

router = Router(tags=["dispatch"])

CallSign = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                               description="The unit's call sign")]
Number = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{6}$", description="The incident's number")]
AssignmentId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _out(request: Request, session: DB, unit: Unit, position: UnitPosition | None) -> UnitOut:
    stale = timedelta(seconds=runtime(request).settings.dispatch.stale_after_seconds)
    return service.unit_out(unit, position, service.field_user_name(session, unit), now=utcnow(),
                            stale_after=stale)


@router.get("/units", response_model=list[UnitOut])
def list_units(request: Request, session: DB, actor: CurrentActor,
               status: Annotated[UnitStatus | None, Query()] = None,
               district: Annotated[str | None, Query(max_length=32)] = None) -> list[UnitOut]:
    """The units of your scope with their last positions, by call sign."""
    return [_out(request, session, u, p)
            for u, p in service.list_units(session=session, actor=actor, status=status, district=district)]


@router.post("/units", response_model=UnitOut, status_code=201, responses=errors(409, 422))
def create_unit(body: UnitIn, request: Request, session: DB, actor: CurrentActor) -> UnitOut:
    """Register a unit in a district of your scope (audited)."""
    return _out(request, session, service.create_unit(session=session, actor=actor, data=body), None)


@router.get("/units/{call_sign}", response_model=UnitOut, responses=errors(404))
def get_unit(call_sign: CallSign, request: Request, session: DB, actor: CurrentActor) -> UnitOut:
    """One unit with its last position."""
    return _out(request, session, *service.get_unit(session=session, actor=actor, call_sign=call_sign))


@router.patch("/units/{call_sign}", response_model=UnitOut, responses=errors(404, 409, 422))
def update_unit(call_sign: CallSign, body: UnitPatch, request: Request, session: DB, actor: CurrentActor) -> UnitOut:
    """Change a unit, if it is still at the version you saw (audited)."""
    unit = service.update_unit(session=session, actor=actor, call_sign=call_sign, patch=body)
    return _out(request, session, *service.get_unit(session=session, actor=actor, call_sign=unit.call_sign))


@router.post("/units/{call_sign}/status", response_model=UnitOut, responses=errors(404, 409))
def set_status(call_sign: CallSign, body: StatusIn, request: Request, session: DB, actor: CurrentActor) -> UnitOut:
    """Set the unit's status by hand: available, busy or off duty (409 when out of order, saying why)."""
    service.set_status(session=session, actor=actor, call_sign=call_sign, status=body.status, note=body.note,
                       version=body.version)
    return _out(request, session, *service.unit_for(session=session, actor=actor, call_sign=call_sign))


@router.post("/units/{call_sign}/position", response_model=UnitOut, responses=errors(404, 422))
def report_position(call_sign: CallSign, body: PositionIn, request: Request, session: DB,
                    actor: CurrentActor) -> UnitOut:
    """The unit's position (inside Türkiye, the device's time neither in the future nor too old)."""
    service.report_position(session=session, actor=actor, call_sign=call_sign, data=body,
                            settings=runtime(request).settings.dispatch)
    return _out(request, session, *service.unit_for(session=session, actor=actor, call_sign=call_sign))


@router.get("/units/{call_sign}/history", response_model=list[StatusChangeOut], responses=errors(404))
def unit_history(call_sign: CallSign, session: DB, actor: CurrentActor) -> list[StatusChangeOut]:
    """The unit's status history, newest first."""
    return [StatusChangeOut(at=c.at, from_status=c.from_status, to_status=c.to_status, by=c.by, note=c.note,
                            assignment_id=c.assignment_id)
            for c in service.history(session=session, actor=actor, call_sign=call_sign)]


@router.get("/units/{call_sign}/assignments", response_model=list[AssignmentOut], responses=errors(404))
def unit_assignments(call_sign: CallSign, session: DB, actor: CurrentActor) -> list[AssignmentOut]:
    """The unit's assignments, active first (a field login reads its own unit's)."""
    unit, _ = service.unit_for(session=session, actor=actor, call_sign=call_sign)
    out = []
    for a in assignments.of_unit(session, unit.id):
        number = incident_service.number_of(session, a.incident_id)
        out.append(assignments.assignment_out(a, unit, number))
    return out


@router.get("/incidents/{number}/recommendations", response_model=RecommendationOut, responses=errors(404))
def recommendations(number: Number, request: Request, session: DB, actor: CurrentActor,
                    require: Annotated[list[str] | None, Query(max_length=20, description="Capabilities a unit "
                                                               "must have (default: the incident's)")] = None,
                    limit: Annotated[int, Query(ge=1, le=500, description="At most this many units ranked, and "
                                                "this many of those left out")] = 25
                    ) -> RecommendationOut:
    """The available units of your scope for the incident, quickest there first, then those left out and why."""
    settings = runtime(request).settings
    rec = sending.recommend(session=session, actor=actor, number=number, settings=settings.dispatch,
                            travel=roads.model_for(session=session, settings=settings), require=require,
                            limit=limit)
    return RecommendationOut(incident=rec.incident.number, model=rec.model, required=sorted(rec.required), units=[
        RankedOut(call_sign=r.candidate.call_sign, kind=r.candidate.kind, rank=r.rank,
                  eta_seconds=r.leg.seconds if r.leg else None, distance_m=r.leg.distance_m if r.leg else None,
                  speed_kmh=r.leg.speed_kmh if r.leg else None, excluded=r.excluded, reasons=list(r.reasons),
                  position_age_seconds=r.position_age_s) for r in rec.ranked])


@router.get("/incidents/{number}/assignments", response_model=list[AssignmentOut], responses=errors(404))
def incident_assignments(number: Number, session: DB, actor: CurrentActor) -> list[AssignmentOut]:
    """The units sent to the incident and each step of their way, in the order they were sent."""
    incident = incident_service.get(session=session, actor=actor, number=number)
    return [assignments.assignment_out(a, u, incident.number) for a, u in assignments.for_incident(session,
                                                                                                  incident.id)]


@router.post("/incidents/{number}/assignments", response_model=AssignmentOut, status_code=201,
             responses=errors(404, 409, 422))
def assign(number: Number, body: AssignIn, session: DB, actor: CurrentActor) -> AssignmentOut:
    """Send an available unit of your scope (409 if it is not available any more, or another operator sent it
    first); the incident's alerts move to dispatched."""
    a, unit, incident = sending.assign(session=session, actor=actor, number=number, call_sign=body.unit,
                                       unit_version=body.unit_version, note=body.note)
    return assignments.assignment_out(a, unit, incident.number)


@router.post("/incidents/{number}/assignments/{assignment_id}/{move}", response_model=AssignmentOut,
             responses=errors(404, 409))
def move_assignment(number: Number, assignment_id: AssignmentId, move: AssignmentMove, body: AssignmentMoveIn,
                    session: DB, actor: CurrentActor) -> AssignmentOut:
    """A step of the assignment: acknowledge, en_route, on_scene, clear or decline (the operator, or the unit's
    field login for its own), cancel (the operator); 409 when out of order, saying what comes first."""
    a, unit, incident = sending.move_assignment(session=session, actor=actor, number=number,
                                                assignment_id=assignment_id, step=move, note=body.note,
                                                version=body.version)
    return assignments.assignment_out(a, unit, incident.number)
