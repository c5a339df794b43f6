"""Assignments their unit did not acknowledge in time: a P2 alert in the queue (once per assignment), noted on
the incident's timeline, so that a supervisor sends another unit or calls this one."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.audit.mechanism import acting_as
from kgys.dispatch import assignments
from kgys.dispatch.kinds import DispatchAlertKind
from kgys.dispatch.models import Unit
from kgys.incidents import service as incident_service
from kgys.incidents.models import Incident
from kgys.incidents.states import EntryKind
from kgys.said import _

log = logging.getLogger(__name__)

NOT_ACKNOWLEDGED = _("unit %(unit)s did not acknowledge within %(seconds)s s")


def escalate_unacknowledged(session: Session, *, now: datetime, ack_within: timedelta) -> list[int]:
    """Raise a P2 alert for each assignment waiting for acknowledgement longer than ``ack_within``; their ids."""
    done: list[int] = []
    actor = system_actor("jobs")
    for a in assignments.unacknowledged(session, assigned_before=now - ack_within):
        unit, incident = session.get(Unit, a.unit_id), session.get(Incident, a.incident_id)
        if unit is None or incident is None:
            continue
        waited = int((now - a.assigned_at).total_seconds())
        with acting_as(session, actor):
            a.escalated_at = now
            session.flush()
        assignments.publish(session, a, unit, "escalated")
        raising.raise_alert(session, Alarm(
            source=Source.SYSTEM, kind=DispatchAlertKind.UNACKNOWLEDGED, priority=Priority.P2,
            details=f"Unit {unit.call_sign} has not acknowledged incident {incident.number} for {waited} s",
            site_id=incident.site_id, scope_path=incident.scope_path,
            position=Position(incident.latitude, incident.longitude, incident.accuracy_m),
            dedup_key=f"unacknowledged:{a.id}",
            data={"incident": incident.number, "unit": unit.call_sign, "assignment": a.id, "waited_seconds": waited}),
            by="jobs", now=now)
        within = int(ack_within.total_seconds())
        incident_service.add_entry(session, incident, EntryKind.ESCALATED, NOT_ACKNOWLEDGED,
                                   params={"unit": unit.call_sign, "seconds": within},
                                   by="jobs", data={"unit": unit.call_sign, "assignment": a.id}, at=now)
        log.info("assignment %s of %s to %s unacknowledged after %s s: alert raised", a.id, unit.call_sign,
                 incident.number, waited)
        done.append(a.id)
    return done
