"""HTTP API of incidents: made of alerts, listed, read with their timeline and response times, closed.

Recommending and assigning units to an incident are dispatch's (:mod:`kgys.dispatch.views`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from sqlalchemy.orm import Session

from kgys.dispatch.flows import sending
from kgys.incidents import service
from kgys.incidents.flows import from_alerts
from kgys.incidents.models import Incident
from kgys.incidents.schemas import CloseIn, EntryOut, IncidentDetailOut, IncidentIn, IncidentOut
from kgys.incidents.service import incident_out
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor
from kgys.web.routing import Router

router = Router(tags=["incidents"])

Number = Annotated[str, Path(pattern=r"^[0-9]{4}-[0-9]{6}$", description="The incident's number, e.g. 2026-000123")]


def detail_out(session: Session, incident: Incident) -> IncidentDetailOut:
    """An incident with its timeline."""
    return IncidentDetailOut(**incident_out(session, incident).model_dump(), timeline=[
        EntryOut(at=e.at, by=e.by, kind=e.kind, text=e.text, data=e.data)
        for e in service.timeline(session, incident.id)])


@router.post("/incidents", response_model=IncidentDetailOut, status_code=201, responses=errors(409, 422))
def create_incident(body: IncidentIn, session: DB, actor: CurrentActor) -> IncidentDetailOut:
    """Make an incident of one or several open alerts of your scope; they are acknowledged and linked to it."""
    return detail_out(session, from_alerts.create_from_alerts(session=session, actor=actor, data=body))


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(session: DB, actor: CurrentActor,
                   state: Annotated[Literal["open", "closed", "all"], Query()] = "open") -> list[IncidentOut]:
    """The incidents of your scope, most urgent and oldest first (at most 200)."""
    return [incident_out(session, i) for i in service.list_incidents(session=session, actor=actor, state=state)]


@router.get("/incidents/{number}", response_model=IncidentDetailOut, responses=errors(404))
def get_incident(number: Number, session: DB, actor: CurrentActor) -> IncidentDetailOut:
    """One incident with its timeline and response times."""
    return detail_out(session, service.get(session=session, actor=actor, number=number))


@router.post("/incidents/{number}/close", response_model=IncidentDetailOut, responses=errors(404, 409))
def close_incident(number: Number, body: CloseIn, session: DB, actor: CurrentActor) -> IncidentDetailOut:
    """Close the incident with its outcome (no assignment of it may be active); its open alerts are resolved."""
    incident = sending.close_incident(session=session, actor=actor, number=number, outcome=body.outcome,
                                      note=body.note, version=body.version)
    return detail_out(session, incident)
