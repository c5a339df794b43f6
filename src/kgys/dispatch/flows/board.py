"""The dispatch board: what the operators' map starts from — the units of one's scope with their last positions,
the open incidents with the units on them, and the number of the newest event, after which the map follows the
events stream (``/api/v1/events/stream``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.config import DispatchSettings
from kgys.db import utcnow
from kgys.dispatch import assignments
from kgys.dispatch import service as unit_service
from kgys.events import bus
from kgys.incidents import service as incident_service


def board(*, session: Session, actor: Actor, settings: DispatchSettings, now: datetime | None = None
          ) -> dict[str, Any]:
    """The board as JSON-ready data: ``seq`` (read first, so that nothing committed after it is missed),
    ``units`` (the API shape, by call sign), ``incidents`` (the open ones, most urgent first, each with its active
    ``assignments``) and ``stale_after_seconds``."""
    actor.require(Perm.DISPATCH_READ)
    seq = bus.last_seq(session)
    now = now or utcnow()
    stale_after = timedelta(seconds=settings.stale_after_seconds)
    rows = unit_service.list_units(session=session, actor=actor)
    names = unit_service.field_user_names(session, [u for u, _ in rows])
    units = [unit_service.unit_out(u, p, names.get(u.field_user_id) if u.field_user_id else None, now=now,
                                   stale_after=stale_after).model_dump(mode="json") for u, p in rows]
    incidents = incident_service.list_incidents(session=session, actor=actor, state="open")
    numbers = {i.id: i.number for i in incidents}
    sent: dict[int, list[dict[str, Any]]] = {}
    for a, unit in assignments.active_for(session, list(numbers)):
        sent.setdefault(a.incident_id, []).append(
            assignments.assignment_out(a, unit, numbers[a.incident_id]).model_dump(mode="json"))
    return {"seq": seq, "stale_after_seconds": settings.stale_after_seconds, "units": units, "incidents": [
        {**incident_service.incident_out(session, i).model_dump(mode="json"), "assignments": sent.get(i.id, [])}
        for i in incidents]}
