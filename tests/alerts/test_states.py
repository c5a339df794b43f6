"""The moves an alert's state allows (no database)."""

from __future__ import annotations

import pytest

from kgys.alerts.states import CLOSED, OPEN, OUTCOMES, Move, MoveRefused, State, after


def test_an_alert_is_claimed_acknowledged_dispatched_and_resolved() -> None:
    s = after(State.NEW, Move.CLAIM)
    assert s is State.CLAIMED
    s = after(s, Move.ACKNOWLEDGE)
    assert s is State.ACKNOWLEDGED
    s = after(s, Move.DISPATCH)
    assert s is State.DISPATCHED
    assert after(s, Move.RESOLVE, State.FALSE_ALARM) is State.FALSE_ALARM


def test_acknowledging_a_new_alert_takes_it_on_and_release_hands_a_claim_back() -> None:
    assert after(State.NEW, Move.ACKNOWLEDGE) is State.ACKNOWLEDGED
    assert after(State.CLAIMED, Move.RELEASE) is State.NEW


@pytest.mark.parametrize("state", sorted(CLOSED))
@pytest.mark.parametrize("move", [Move.CLAIM, Move.RELEASE, Move.ACKNOWLEDGE, Move.DISPATCH, Move.RESOLVE,
                                  Move.CLEAR, Move.REPEAT, Move.UPDATE])
def test_a_closed_alert_stays_closed(state: State, move: Move) -> None:
    with pytest.raises(MoveRefused):
        after(state, move, State.RESOLVED)


def test_notes_go_on_closed_alerts_too() -> None:
    for state in State:
        assert after(state, Move.NOTE) is state


@pytest.mark.parametrize("outcome", [None, State.NEW, State.CLAIMED])
def test_closing_needs_an_outcome(outcome: State | None) -> None:
    with pytest.raises(MoveRefused):
        after(State.CLAIMED, Move.RESOLVE, outcome)


def test_the_system_clears_as_resolved_and_the_sets_are_a_partition() -> None:
    assert after(State.NEW, Move.CLEAR) is State.RESOLVED
    assert OPEN | CLOSED == set(State) and not OPEN & CLOSED
    assert set(OUTCOMES) == CLOSED
    with pytest.raises(MoveRefused):
        after(State.ACKNOWLEDGED, Move.RELEASE)
    with pytest.raises(MoveRefused):
        after(State.NEW, Move.DISPATCH)
