"""What a unit and an assignment are and how they move: kinds, statuses, assignment states and moves (no I/O).

A unit is ``available``, ``busy``, ``off_duty`` (set by hand), or ``en_route`` / ``on_scene`` (following an
assignment). An assignment goes ``assigned → acknowledged → en_route → on_scene → cleared``, one step at a time;
before it is acknowledged the unit may ``decline`` it, and the operator may ``cancel`` it until it is cleared.
Each assignment state puts the unit in one status (:data:`UNIT_STATUS_OF`). A move out of order is refused with
:class:`MoveRefused`, whose message says what the unit must do first.
"""

from __future__ import annotations

from enum import StrEnum

from kgys.said import _


class UnitKind(StrEnum):
    """What kind of team a unit is (the stored value)."""

    PATROL_CAR = "patrol_car"
    MOTORCYCLE = "motorcycle"
    FOOT_PATROL = "foot_patrol"
    GENDARMERIE_TEAM = "gendarmerie_team"
    SCHOOL_LIAISON = "school_liaison"
    DOMESTIC_VIOLENCE_TEAM = "domestic_violence_team"


class UnitStatus(StrEnum):
    """Where a unit is in its shift (the stored value)."""

    AVAILABLE = "available"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


class AssignmentState(StrEnum):
    """Where an assignment is (the stored value)."""

    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class AssignmentMove(StrEnum):
    """What is done to an assignment."""

    ACKNOWLEDGE = "acknowledge"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEAR = "clear"
    DECLINE = "decline"
    CANCEL = "cancel"


ACTIVE = frozenset({AssignmentState.ASSIGNED, AssignmentState.ACKNOWLEDGED, AssignmentState.EN_ROUTE,
                    AssignmentState.ON_SCENE})
ENDED = frozenset(AssignmentState) - ACTIVE
# the statuses a person sets by hand; en route and on scene follow an assignment
BY_HAND = frozenset({UnitStatus.AVAILABLE, UnitStatus.BUSY, UnitStatus.OFF_DUTY})
# the moves the unit itself makes (a field login); cancel is the operator's
FIELD_MOVES = frozenset({AssignmentMove.ACKNOWLEDGE, AssignmentMove.EN_ROUTE, AssignmentMove.ON_SCENE,
                         AssignmentMove.CLEAR, AssignmentMove.DECLINE})

UNIT_STATUS_OF: dict[AssignmentState, UnitStatus] = {
    AssignmentState.ASSIGNED: UnitStatus.BUSY,
    AssignmentState.ACKNOWLEDGED: UnitStatus.BUSY,
    AssignmentState.EN_ROUTE: UnitStatus.EN_ROUTE,
    AssignmentState.ON_SCENE: UnitStatus.ON_SCENE,
    AssignmentState.CLEARED: UnitStatus.AVAILABLE,
    AssignmentState.DECLINED: UnitStatus.AVAILABLE,
    AssignmentState.CANCELLED: UnitStatus.AVAILABLE,
}

_NEXT: dict[AssignmentMove, tuple[frozenset[AssignmentState], AssignmentState]] = {
    AssignmentMove.ACKNOWLEDGE: (frozenset({AssignmentState.ASSIGNED}), AssignmentState.ACKNOWLEDGED),
    AssignmentMove.EN_ROUTE: (frozenset({AssignmentState.ACKNOWLEDGED}), AssignmentState.EN_ROUTE),
    AssignmentMove.ON_SCENE: (frozenset({AssignmentState.EN_ROUTE}), AssignmentState.ON_SCENE),
    AssignmentMove.CLEAR: (frozenset({AssignmentState.ON_SCENE}), AssignmentState.CLEARED),
    AssignmentMove.DECLINE: (frozenset({AssignmentState.ASSIGNED}), AssignmentState.DECLINED),
    AssignmentMove.CANCEL: (ACTIVE, AssignmentState.CANCELLED),
}

_FIRST: dict[AssignmentMove, str] = {
    AssignmentMove.ACKNOWLEDGE: "",
    AssignmentMove.EN_ROUTE: "acknowledge it first",
    AssignmentMove.ON_SCENE: "report en route first",
    AssignmentMove.CLEAR: "report on scene first",
    AssignmentMove.DECLINE: "only an assignment not yet acknowledged can be declined",
    AssignmentMove.CANCEL: "",
}


class MoveRefused(Exception):
    """A move the current state does not allow; the message says why and what comes first."""


def assignment_after(state: AssignmentState, move: AssignmentMove) -> AssignmentState:
    """The state an assignment in ``state`` is in after ``move``; MoveRefused when out of order."""
    allowed, target = _NEXT[move]
    if state in allowed:
        return target
    if state in ENDED:
        raise MoveRefused(f"the assignment is {state.value}: it cannot be moved to {move.value} any more")
    hint = _FIRST[move]
    raise MoveRefused(f"the assignment is {state.value}: cannot {move.value} now" + (f"; {hint}" if hint else ""))


def unit_after(status: UnitStatus, target: UnitStatus, *, active_assignment: bool) -> UnitStatus:
    """The status a unit goes to when set to ``target`` by hand; MoveRefused when that is not allowed."""
    if target not in BY_HAND:
        raise MoveRefused(f"{target.value} follows an assignment: report it on the assignment")
    if active_assignment:
        raise MoveRefused(f"the unit is on an assignment ({status.value}): clear it, or have it cancelled, first")
    if status == target:
        raise MoveRefused(f"the unit is {status.value} already")
    return target


ON_ANOTHER = _("the unit is on another assignment")  # why a unit cannot be sent
NOT_AVAILABLE = _("the unit is %(unit_status)s, not available")


def may_assign(status: UnitStatus, *, active_assignment: bool) -> str | None:
    """Why a unit cannot take an assignment now (None: it can)."""
    if active_assignment:
        return ON_ANOTHER.english()
    if status is not UnitStatus.AVAILABLE:
        return NOT_AVAILABLE.english(unit_status=status.value)
    return None
