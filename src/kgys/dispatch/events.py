"""The events dispatch publishes, for the operators' map and the field logins (:mod:`kgys.events.bus`).

Topic ``unit``: ``{"move": "created" | "updated" | "status" | "position", "unit": <UnitOut>}``, in the unit's
district (``scope_path`` its jurisdiction path). Topic ``assignment``: ``{"move": "assigned" | <the state it moved
to> | "escalated", "assignment": <AssignmentOut>}``, in the incident's district and site. Each is published in the
transaction of the change, by the one function that makes it: :func:`kgys.dispatch.service.change_status` and its
siblings for units, :func:`kgys.dispatch.assignments.publish` for assignments.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kgys.dispatch.schemas import AssignmentOut, UnitOut
from kgys.events import bus

UNIT, ASSIGNMENT = "unit", "assignment"
TOPICS = frozenset({UNIT, ASSIGNMENT})


def unit_changed(session: Session, out: UnitOut, move: str, *, scope_path: str) -> None:
    """Publish that a unit was created, changed, moved status or reported a position."""
    bus.publish(session, UNIT, {"move": move, "unit": out.model_dump(mode="json")}, scope_path=scope_path)


def assignment_changed(session: Session, out: AssignmentOut, move: str, *, scope_path: str,
                       site_id: int | None) -> None:
    """Publish that an assignment was made or moved a step."""
    bus.publish(session, ASSIGNMENT, {"move": move, "assignment": out.model_dump(mode="json")},
                scope_path=scope_path, site_id=site_id)


def unit_of(topic: str, payload: dict[str, Any]) -> str | None:
    """The call sign of the unit a ``unit`` or ``assignment`` event tells of (None for other topics)."""
    if topic == UNIT:
        found = payload.get("unit", {}).get("call_sign")
    elif topic == ASSIGNMENT:
        found = payload.get("assignment", {}).get("unit")
    else:
        return None
    return found if isinstance(found, str) else None
