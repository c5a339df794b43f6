"""An incident made of one or several open alerts, and those alerts moved along with it.

Making the incident acknowledges each alert not yet acknowledged (the operator takes it on; an alert another
operator holds is refused, as in the queue) and links it to the incident (an alert is in at most one open
incident). The first unit assigned moves the alerts to ``dispatched`` (:func:`alerts_dispatched`), in the
assignment's transaction; closing the incident resolves the alerts still open with the incident's outcome.
Every alert move goes through the alert queue's own service: its history, audit entry and console event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import service as alert_service
from kgys.alerts.models import Alert
from kgys.alerts.states import OPEN, Move, State
from kgys.db import utcnow
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.geo import in_turkey
from kgys.incidents import service
from kgys.incidents.models import Incident
from kgys.incidents.schemas import IncidentIn
from kgys.incidents.states import EntryKind, Outcome
from kgys.said import _
from kgys.sites.models import Site

DISPATCHED = _("alerts %(alerts)s dispatched")
ALERT_NOTE = _("incident %(number)s")  # an alert's history note when its incident takes it
ALERT_NOTE_OUTCOME = _("incident %(number)s: %(outcome)s")
ALERT_CLOSED = _("the alert is closed (%(alert_state)s)")
IN_INCIDENT = _("the alert is in open incident %(number)s already")

_OUTCOME = {Outcome.RESOLVED: State.RESOLVED, Outcome.FALSE_ALARM: State.FALSE_ALARM,
            Outcome.REFERRED: State.RESOLVED, Outcome.NO_TRACE: State.RESOLVED}


def _alerts(session: Session, actor: Actor, ids: list[int]) -> list[Alert]:
    found: list[Alert] = []
    for i, alert_id in enumerate(ids):
        try:
            alert = alert_service.get_alert(session=session, actor=actor, alert_id=alert_id).alert
        except NotFound as exc:
            raise ValidationFailed([FieldError(f"alerts.{i}", "no such alert within your scope",
                                               value=str(alert_id))]) from exc
        if alert.state not in OPEN:
            raise ValidationFailed([FieldError.said(f"alerts.{i}", ALERT_CLOSED, alert_state=alert.state,
                                                    value=str(alert_id))])
        found.append(alert)
    return found


def _place(session: Session, data: IncidentIn, alerts: list[Alert]) -> tuple[float, float, float | None]:
    """The incident's place: the one given, else the first alert's position, else the first alert's site's."""
    if data.latitude is not None and data.longitude is not None:
        if not in_turkey(data.latitude, data.longitude):
            raise ValidationFailed([FieldError("latitude", "outside Türkiye")])
        return data.latitude, data.longitude, data.accuracy_m
    for a in alerts:
        if a.latitude is not None and a.longitude is not None:
            return a.latitude, a.longitude, a.accuracy_m
    for a in alerts:
        if a.site_id is not None:
            row = session.execute(select(Site.latitude, Site.longitude).where(Site.id == a.site_id)).first()
            if row is not None and row[0] is not None and row[1] is not None:
                return float(row[0]), float(row[1]), None
    raise ValidationFailed([FieldError("latitude", "none of the alerts has a place: give latitude and longitude")])


def create_from_alerts(*, session: Session, actor: Actor, data: IncidentIn, now: datetime | None = None
                       ) -> Incident:
    """Make an incident of open alerts within the actor's scope (see the module)."""
    actor.require(Perm.DISPATCH_ASSIGN)
    actor.require(Perm.ALERTS_HANDLE)
    now = now or utcnow()
    alerts = _alerts(session, actor, data.alerts)
    for i, a in enumerate(alerts):
        number = service.incident_of_alert(session, a.id)
        if number is not None:
            raise ValidationFailed([FieldError.said(f"alerts.{i}", IN_INCIDENT, number=number,
                                               value=str(a.id))])
    lat, lon, acc = _place(session, data, alerts)
    first = alerts[0]
    new = service.NewIncident(
        category=data.category, priority=data.priority or min(a.priority for a in alerts), details=data.details,
        latitude=lat, longitude=lon, accuracy_m=acc, site_id=next((a.site_id for a in alerts if a.site_id), None),
        scope_path=first.scope_path or next((a.scope_path for a in alerts if a.scope_path), None) or "/",
        capabilities=data.capabilities, reported_at=min(a.received_at for a in alerts))
    incident = service.create(session=session, actor=actor, new=new, alert_ids=[a.id for a in alerts], now=now)
    for a in alerts:
        if a.state in (State.NEW, State.CLAIMED):
            alert_service.act(session=session, actor=actor, alert_id=a.id, move=Move.ACKNOWLEDGE,
                              note=ALERT_NOTE.english(number=incident.number), now=now)
    return incident


def add_alerts(*, session: Session, actor: Actor, number: str, alert_ids: list[int],
               now: datetime | None = None) -> Incident:
    """Add open alerts of the actor's scope to an open incident of it (a second press of the same person): they
    are linked and acknowledged as when the incident was made, and dispatched with it when a unit is sent."""
    actor.require(Perm.DISPATCH_ASSIGN)
    actor.require(Perm.ALERTS_HANDLE)
    now = now or utcnow()
    incident = service.get(session=session, actor=actor, number=number)
    alerts = _alerts(session, actor, alert_ids)
    for i, a in enumerate(alerts):
        held = service.incident_of_alert(session, a.id)
        if held is not None:
            raise ValidationFailed([FieldError.said(f"alerts.{i}", IN_INCIDENT, number=held,
                                               value=str(a.id))])
    service.link_alerts(session=session, actor=actor, incident=incident, alert_ids=[a.id for a in alerts], now=now)
    for a in alerts:
        if a.state in (State.NEW, State.CLAIMED):
            alert_service.act(session=session, actor=actor, alert_id=a.id, move=Move.ACKNOWLEDGE,
                              note=ALERT_NOTE.english(number=incident.number), now=now)
    if incident.dispatched_at is not None:
        alerts_dispatched(session=session, actor=actor, incident=incident, now=now)
    return incident


def alerts_dispatched(*, session: Session, actor: Actor, incident: Incident, now: datetime) -> list[int]:
    """Move the incident's acknowledged alerts to dispatched; the ids moved."""
    moved = []
    for alert_id in service.alert_ids(session, incident.id):
        alert = session.get(Alert, alert_id)
        if alert is not None and alert.state in (State.CLAIMED, State.ACKNOWLEDGED):
            alert_service.act(session=session, actor=actor, alert_id=alert_id, move=Move.DISPATCH,
                              note=ALERT_NOTE.english(number=incident.number), now=now)
            moved.append(alert_id)
    if moved:
        service.add_entry(session, incident, EntryKind.NOTE, DISPATCHED, params={"alerts": ", ".join(map(str, moved))},
                          by=actor.username, data={"alerts": moved}, at=now)
    return moved


def resolve_alerts(*, session: Session, actor: Actor, incident: Incident, outcome: Outcome,
                   now: datetime) -> list[int]:
    """Close the incident's alerts still open with the incident's outcome; the ids closed."""
    closed = []
    for alert_id in service.alert_ids(session, incident.id):
        alert = session.get(Alert, alert_id)
        if alert is not None and alert.state in OPEN:
            alert_service.act(session=session, actor=actor, alert_id=alert_id, move=Move.RESOLVE,
                              outcome=_OUTCOME[outcome],
                              note=ALERT_NOTE_OUTCOME.english(number=incident.number, outcome=outcome.value), now=now)
            closed.append(alert_id)
    return closed
