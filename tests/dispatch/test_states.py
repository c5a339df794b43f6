"""Assignment and unit status moves, table-driven: one step at a time; out of order refused, saying what first."""

from __future__ import annotations

import pytest

from kgys.dispatch.states import (
    UNIT_STATUS_OF,
    AssignmentMove,
    AssignmentState,
    MoveRefused,
    UnitStatus,
    assignment_after,
    may_assign,
    unit_after,
)

A, M, U = AssignmentState, AssignmentMove, UnitStatus

ALLOWED = [
    (A.ASSIGNED, M.ACKNOWLEDGE, A.ACKNOWLEDGED),
    (A.ACKNOWLEDGED, M.EN_ROUTE, A.EN_ROUTE),
    (A.EN_ROUTE, M.ON_SCENE, A.ON_SCENE),
    (A.ON_SCENE, M.CLEAR, A.CLEARED),
    (A.ASSIGNED, M.DECLINE, A.DECLINED),
    (A.ASSIGNED, M.CANCEL, A.CANCELLED),
    (A.EN_ROUTE, M.CANCEL, A.CANCELLED),
    (A.ON_SCENE, M.CANCEL, A.CANCELLED),
]
REFUSED = [
    (A.ASSIGNED, M.EN_ROUTE, "acknowledge it first"),
    (A.ASSIGNED, M.ON_SCENE, "report en route first"),
    (A.ACKNOWLEDGED, M.ON_SCENE, "report en route first"),
    (A.ACKNOWLEDGED, M.CLEAR, "report on scene first"),
    (A.ACKNOWLEDGED, M.DECLINE, "not yet acknowledged"),
    (A.ACKNOWLEDGED, M.ACKNOWLEDGE, "cannot acknowledge now"),
    (A.CLEARED, M.CANCEL, "cleared: it cannot be moved"),
    (A.DECLINED, M.ACKNOWLEDGE, "declined: it cannot be moved"),
]


@pytest.mark.parametrize(("state", "move", "target"), ALLOWED)
def test_allowed_assignment_moves(state: AssignmentState, move: AssignmentMove, target: AssignmentState) -> None:
    assert assignment_after(state, move) is target


@pytest.mark.parametrize(("state", "move", "says"), REFUSED)
def test_out_of_order_assignment_moves_are_refused_saying_why(state: AssignmentState, move: AssignmentMove,
                                                               says: str) -> None:
    with pytest.raises(MoveRefused, match=says):
        assignment_after(state, move)


def test_the_unit_follows_its_assignment() -> None:
    assert [UNIT_STATUS_OF[s] for s in (A.ASSIGNED, A.EN_ROUTE, A.ON_SCENE, A.CLEARED, A.CANCELLED)] == [
        U.BUSY, U.EN_ROUTE, U.ON_SCENE, U.AVAILABLE, U.AVAILABLE]


@pytest.mark.parametrize(("now", "target", "active", "says"), [
    (U.AVAILABLE, U.ON_SCENE, False, "follows an assignment"),
    (U.AVAILABLE, U.EN_ROUTE, False, "follows an assignment"),
    (U.BUSY, U.AVAILABLE, True, "on an assignment"),
    (U.OFF_DUTY, U.OFF_DUTY, False, "already"),
])
def test_refused_status_changes_by_hand(now: UnitStatus, target: UnitStatus, active: bool, says: str) -> None:
    with pytest.raises(MoveRefused, match=says):
        unit_after(now, target, active_assignment=active)


@pytest.mark.parametrize(("now", "target"), [(U.AVAILABLE, U.BUSY), (U.BUSY, U.AVAILABLE), (U.AVAILABLE, U.OFF_DUTY),
                                             (U.OFF_DUTY, U.AVAILABLE), (U.ON_SCENE, U.AVAILABLE)])
def test_status_changes_by_hand(now: UnitStatus, target: UnitStatus) -> None:
    assert unit_after(now, target, active_assignment=False) is target


def test_who_may_be_sent() -> None:
    assert may_assign(U.AVAILABLE, active_assignment=False) is None
    assert may_assign(U.BUSY, active_assignment=False) == "the unit is busy, not available"
    assert may_assign(U.AVAILABLE, active_assignment=True) == "the unit is on another assignment"
