"""What an incident is and how it moves (no I/O): categories, priorities and states.

An incident is ``open`` when made, ``dispatched`` once a unit is assigned, ``on_scene`` once a unit arrives,
and ``closed`` by an operator with an outcome. When every assignment of a dispatched incident ends before any
unit arrived (declined, cancelled), it is open again.
"""

from __future__ import annotations

from enum import StrEnum


class IncidentState(StrEnum):
    """Where an incident is (the stored value)."""

    OPEN = "open"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


class Category(StrEnum):
    """What happened (the stored value)."""

    PANIC = "panic"
    DOMESTIC_VIOLENCE = "domestic_violence"
    VIOLENCE = "violence"
    THEFT = "theft"
    TRAFFIC = "traffic"
    SUSPICIOUS = "suspicious"
    OTHER = "other"


class Outcome(StrEnum):
    """How an incident ended (the stored value)."""

    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"
    REFERRED = "referred"
    NO_TRACE = "no_trace"


class EntryKind(StrEnum):
    """What a timeline entry records."""

    CREATED = "created"
    ASSIGNED = "assigned"
    ASSIGNMENT = "assignment"  # an assignment moved on
    ESCALATED = "escalated"
    NOTE = "note"
    CLOSED = "closed"


def state_after_assignments(state: IncidentState, *, active: int, arrived: bool) -> IncidentState:
    """The state of a not closed incident given how many assignments are active and whether a unit arrived."""
    if state is IncidentState.CLOSED:
        return state
    if arrived:
        return IncidentState.ON_SCENE
    return IncidentState.DISPATCHED if active else IncidentState.OPEN
