"""The events incidents publish, for the operators' map (:mod:`kgys.events.bus`).

Topic ``incident``: ``{"move": "opened" | "updated" | "closed", "incident": <IncidentOut>}``, in the incident's
district and site, published in the transaction of the change by :func:`kgys.incidents.service.publish`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kgys.events import bus
from kgys.incidents.schemas import IncidentOut

INCIDENT = "incident"


def incident_changed(session: Session, out: IncidentOut, move: str, *, scope_path: str, site_id: int | None) -> None:
    """Publish that an incident was opened, changed or closed."""
    bus.publish(session, INCIDENT, {"move": move, "incident": out.model_dump(mode="json")},
                scope_path=scope_path, site_id=site_id)
