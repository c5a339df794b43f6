"""Incidents within one's scope: numbering, reading, the timeline, the response times, closing.

Functions take keyword-only arguments and an explicit session and flush, never commit. Making an incident of
alerts and moving those alerts is a flow (:mod:`kgys.incidents.flows.from_alerts`); assignments move an
incident through :func:`follow_assignments`. Opening, changing and closing an incident is published as an
``incident`` event (:func:`publish`) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit.mechanism import acting_as
from kgys.db import utcnow
from kgys.errors import Conflict, NotFound
from kgys.incidents import events
from kgys.incidents.models import Incident, IncidentAlert, IncidentEntry
from kgys.incidents.schemas import IncidentOut, ResponseTimes
from kgys.incidents.states import EntryKind, IncidentState, Outcome, state_after_assignments
from kgys.said import Said, _, ngettext
from kgys.sites.models import Site

NUMBER_TRIES = 5


@dataclass(frozen=True)
class NewIncident:
    """What an incident is made with (the flow gathers it from the alerts)."""

    category: str
    priority: int
    details: str
    latitude: float
    longitude: float
    accuracy_m: float | None
    site_id: int | None
    scope_path: str
    capabilities: list[str]
    reported_at: datetime


def _number(session: Session, year: int) -> str:
    prefix = f"{year}-"
    last = session.scalar(select(func.max(Incident.number)).where(Incident.number.startswith(prefix)))
    n = int(last.split("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:06d}"


def flush_or_conflict(session: Session, message: str) -> None:
    """Flush; Conflict with ``message`` when a row changed since it was read (its version moved on)."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(message) from exc


OPENED = _("opened from alerts %(alerts)s")
CLOSED = _("closed: %(outcome)s")
CLOSED_NOTE = _("closed: %(outcome)s — %(note)s")
ADDED = _("alerts %(alerts)s added")
IS_CLOSED = _("Incident %(number)s is closed.")
CLOSED_ALREADY = _("Incident %(number)s is closed already.")
STILL_ACTIVE = ngettext("Incident %(number)s has %(n)s active assignment: clear or cancel it first.",
                        "Incident %(number)s has %(n)s active assignments: clear or cancel them first.")


def add_entry(session: Session, incident: Incident, kind: EntryKind, said: Said, *, by: str,
              params: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
              at: datetime | None = None) -> None:
    """Add a line to the incident's timeline: ``said`` with ``params``, stored in English and as a code."""
    values = params or {}
    session.add(IncidentEntry(incident_id=incident.id, at=at or utcnow(), by=by, kind=kind,
                              text=said.english(**values), data={**(data or {}), "said": said.code(**values)}))


def create(*, session: Session, actor: Actor, new: NewIncident, alert_ids: list[int],
           now: datetime | None = None) -> Incident:
    """Store a numbered incident linked to ``alert_ids`` (each in at most one open incident: Conflict)."""
    actor.require(Perm.DISPATCH_ASSIGN)
    now = now or utcnow()
    for _attempt in range(NUMBER_TRIES):
        try:
            with session.begin_nested(), acting_as(session, actor):
                incident = Incident(number=_number(session, now.year), category=new.category,
                                    priority=new.priority, state=IncidentState.OPEN, details=new.details,
                                    latitude=new.latitude, longitude=new.longitude, accuracy_m=new.accuracy_m,
                                    site_id=new.site_id, scope_path=new.scope_path,
                                    capabilities=sorted(set(new.capabilities)), created_at=now,
                                    created_by=actor.username, reported_at=min(new.reported_at, now))
                session.add(incident)
                session.flush()
        except IntegrityError:
            continue  # another incident took the number a moment ago
        break
    else:
        raise Conflict("Could not number the incident: try again.")
    _attach(session, incident, alert_ids)
    add_entry(session, incident, EntryKind.CREATED, OPENED, params={"alerts": ", ".join(map(str, alert_ids))},
              by=actor.username, data={"alerts": alert_ids}, at=now)
    publish(session, incident, "opened")
    return incident


def incident_of_alert(session: Session, alert_id: int) -> str | None:
    """The number of the open incident the alert belongs to, if any."""
    return session.scalar(select(Incident.number).join(IncidentAlert, IncidentAlert.incident_id == Incident.id)
                          .where(IncidentAlert.open_alert_id == alert_id))


def by_number(session: Session, number: str) -> Incident | None:
    """The incident numbered ``number``, whoever asks (callers check who may see it)."""
    return session.scalar(select(Incident).where(Incident.number == number))


def number_of(session: Session, incident_id: int) -> str:
    """The number of the incident with ``incident_id``."""
    return str(session.scalar(select(Incident.number).where(Incident.id == incident_id)))


def get(*, session: Session, actor: Actor, number: str) -> Incident:
    """One incident of the actor's scope; NotFound otherwise (as if it did not exist)."""
    actor.require(Perm.DISPATCH_READ)
    return get_in_scope(session=session, actor=actor, number=number)


def get_in_scope(*, session: Session, actor: Actor, number: str) -> Incident:
    """One incident of the actor's scope, whatever the actor may do with it; NotFound otherwise."""
    incident = session.scalar(select(Incident).where(Incident.number == number,
                                                     actor.scope.clause(Incident.scope_path, Incident.site_id)))
    if incident is None:
        raise NotFound("No such incident.", number=number)
    return incident


def list_incidents(*, session: Session, actor: Actor, state: str = "open", limit: int = 200) -> list[Incident]:
    """The incidents of the actor's scope ("open": not closed; "closed"; "all"), most urgent and oldest first."""
    actor.require(Perm.DISPATCH_READ)
    stmt = select(Incident).where(actor.scope.clause(Incident.scope_path, Incident.site_id))
    if state == "open":
        stmt = stmt.where(Incident.state != IncidentState.CLOSED)
    elif state == "closed":
        stmt = stmt.where(Incident.state == IncidentState.CLOSED)
    return list(session.scalars(stmt.order_by(Incident.priority, Incident.created_at, Incident.id)
                                .limit(limit)).all())


def alert_ids(session: Session, incident_id: int) -> list[int]:
    """The alerts the incident was made of."""
    return list(session.scalars(select(IncidentAlert.alert_id).where(IncidentAlert.incident_id == incident_id)
                                .order_by(IncidentAlert.alert_id)).all())


def timeline(session: Session, incident_id: int) -> list[IncidentEntry]:
    """The incident's timeline, oldest first."""
    return list(session.scalars(select(IncidentEntry).where(IncidentEntry.incident_id == incident_id)
                                .order_by(IncidentEntry.at, IncidentEntry.id)).all())


def site_code(session: Session, incident: Incident) -> str | None:
    """The code of the incident's site, if it has one."""
    return None if incident.site_id is None else session.scalar(select(Site.code).where(Site.id == incident.site_id))


def follow_assignments(session: Session, actor: Actor, incident: Incident, *, active: int, arrived: bool,
                       event: str, at: datetime) -> None:
    """Move the incident after an assignment moved: its state, and the first time of ``event`` (dispatched,
    acknowledged, arrived; cleared when no assignment is active any more)."""
    with acting_as(session, actor):
        incident.state = state_after_assignments(IncidentState(incident.state), active=active, arrived=arrived)
        if event == "dispatched" and incident.dispatched_at is None:
            incident.dispatched_at = at
        elif event == "acknowledged" and incident.acknowledged_at is None:
            incident.acknowledged_at = at
        elif event == "arrived" and incident.arrived_at is None:
            incident.arrived_at = at
        if event == "cleared" and active == 0 and arrived:
            incident.cleared_at = at
        changed = session.is_modified(incident)
        flush_or_conflict(session, "This incident changed meanwhile: look again.")
    if changed:
        publish(session, incident, "updated")


def close(*, session: Session, actor: Actor, incident: Incident, outcome: Outcome, note: str,
          version: int | None, active: int, now: datetime | None = None) -> Incident:
    """Close the incident with ``outcome`` (none of its assignments may be active); its alerts leave it."""
    actor.require(Perm.DISPATCH_ASSIGN)
    now = now or utcnow()
    if incident.state == IncidentState.CLOSED:
        raise Conflict(CLOSED_ALREADY.english(number=incident.number), state=incident.state)
    if active:
        raise Conflict(STILL_ACTIVE.english(number=incident.number, n=active), active=active)
    if version is not None and version != incident.version:
        raise Conflict("This incident changed meanwhile: look again.", version=incident.version)
    with acting_as(session, actor, note or None):
        incident.state, incident.closed_at, incident.outcome = IncidentState.CLOSED, now, outcome
        flush_or_conflict(session, "This incident changed meanwhile: look again.")
    session.execute(update(IncidentAlert).where(IncidentAlert.incident_id == incident.id)
                    .values(open_alert_id=None).execution_options(synchronize_session=False))
    add_entry(session, incident, EntryKind.CLOSED, CLOSED_NOTE if note else CLOSED,
              params={"outcome": outcome.value, "note": note} if note else {"outcome": outcome.value},
              by=actor.username, data={"outcome": outcome.value}, at=now)
    publish(session, incident, "closed")
    return incident


def response_seconds(incident: Incident) -> dict[str, float | None]:
    """The response times of the incident (see :class:`kgys.incidents.schemas.ResponseTimes`)."""

    def between(a: datetime | None, b: datetime | None) -> float | None:
        return None if a is None or b is None else max(0.0, (b - a).total_seconds())

    return {"to_dispatch": between(incident.reported_at, incident.dispatched_at),
            "to_acknowledge": between(incident.dispatched_at, incident.acknowledged_at),
            "to_arrive": between(incident.reported_at, incident.arrived_at),
            "to_clear": between(incident.reported_at, incident.cleared_at)}


def incident_out(session: Session, incident: Incident) -> IncidentOut:
    """The API shape of an incident."""
    return IncidentOut(
        number=incident.number, category=incident.category, priority=incident.priority, state=incident.state,
        details=incident.details, latitude=incident.latitude, longitude=incident.longitude,
        accuracy_m=incident.accuracy_m, site=site_code(session, incident),
        district=incident.scope_path.rstrip("/").rsplit("/", 1)[-1], capabilities=list(incident.capabilities),
        alerts=alert_ids(session, incident.id), created_at=incident.created_at,
        created_by=incident.created_by, reported_at=incident.reported_at, dispatched_at=incident.dispatched_at,
        acknowledged_at=incident.acknowledged_at, arrived_at=incident.arrived_at, cleared_at=incident.cleared_at,
        closed_at=incident.closed_at, outcome=incident.outcome,
        response=ResponseTimes(**response_seconds(incident)), version=incident.version)


def publish(session: Session, incident: Incident, move: str) -> None:
    """Publish the incident's ``move`` (opened, updated, closed) in its API shape, in the session's transaction, in
    its district and site (:mod:`kgys.incidents.events`). Whatever changes an incident (its alerts, its details)
    calls this once the change is flushed."""
    session.flush()
    events.incident_changed(session, incident_out(session, incident), move, scope_path=incident.scope_path,
                            site_id=incident.site_id)
def page_incidents(*, session: Session, actor: Actor, state: str = "open", priority: int | None = None,
                   district: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[Incident], int]:
    """One page of the incidents of the actor's scope ("open": not closed; "closed"; "all"; or one state), of a
    priority and a district when given, most urgent and oldest first; with how many match in all."""
    actor.require(Perm.DISPATCH_READ)
    stmt = select(Incident).where(actor.scope.clause(Incident.scope_path, Incident.site_id))
    if state == "open":
        stmt = stmt.where(Incident.state != IncidentState.CLOSED)
    elif state != "all":
        stmt = stmt.where(Incident.state == state)
    if priority is not None:
        stmt = stmt.where(Incident.priority == priority)
    if district:
        stmt = stmt.where(Incident.scope_path.endswith(f"/{district}/"))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Incident.priority, Incident.created_at, Incident.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), int(total)


def _attach(session: Session, incident: Incident, alert_ids: list[int]) -> None:
    """Link the alerts to the incident; Conflict (nothing linked) when one is in another open incident."""
    try:
        with session.begin_nested():
            for alert_id in alert_ids:
                session.add(IncidentAlert(incident_id=incident.id, alert_id=alert_id, open_alert_id=alert_id))
            session.flush()
    except IntegrityError as exc:
        raise Conflict("An alert belongs to another open incident already.", alerts=alert_ids) from exc


def link_alerts(*, session: Session, actor: Actor, incident: Incident, alert_ids: list[int],
                now: datetime | None = None) -> None:
    """Link more alerts to an open incident (each in at most one open incident: Conflict), noted on its
    timeline."""
    actor.require(Perm.DISPATCH_ASSIGN)
    if incident.state == IncidentState.CLOSED:
        raise Conflict(IS_CLOSED.english(number=incident.number), state=incident.state)
    _attach(session, incident, alert_ids)
    add_entry(session, incident, EntryKind.NOTE, ADDED, params={"alerts": ", ".join(map(str, alert_ids))},
              by=actor.username, data={"alerts": alert_ids}, at=now)
    publish(session, incident, "updated")
