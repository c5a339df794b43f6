"""What an alert is and how it moves: sources, priorities, states and the moves between them (no I/O).

An alert is ``new`` when raised; an operator ``claims`` it (so that no second operator works it), may
``release`` it back, ``acknowledges`` it (has seen and taken it on), ``dispatches`` a team, and closes it with
an outcome: resolved, false alarm, drill or test. Technical alerts are also closed by the system when what
they tell of is over (``clear``). A closed alert stays closed: a new press raises a new alert.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Source(StrEnum):
    """Where an alert came from (the stored value)."""

    PANIC = "panic"            # a school's panic button
    KADES = "kades"            # a protected person's app
    ACCESS = "access"          # doors and turnstiles
    CAP = "cap"                # a CAP 1.2 message from another system
    RECORDER = "recorder"      # recording and storage health
    OPERATOR = "operator"      # raised by hand in the console
    SYSTEM = "system"


class Priority(IntEnum):
    """How urgent: P1 a life in danger (panic, KADES) … P4 technical."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4


class State(StrEnum):
    """Where an alert is in its handling (the stored value)."""

    NEW = "new"
    CLAIMED = "claimed"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    RESOLVED = "resolved"
    FALSE_ALARM = "false_alarm"
    DRILL = "drill"
    TEST = "test"


OPEN = frozenset({State.NEW, State.CLAIMED, State.ACKNOWLEDGED, State.DISPATCHED})
CLOSED = frozenset(State) - OPEN
OUTCOMES = (State.RESOLVED, State.FALSE_ALARM, State.DRILL, State.TEST)


class Move(StrEnum):
    """What is done to an alert (the stored value of its history)."""

    RAISE = "raise"
    REPEAT = "repeat"
    UPDATE = "update"          # a position update, a changed detail
    CLAIM = "claim"
    RELEASE = "release"
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    NOTE = "note"
    ESCALATE = "escalate"
    RESOLVE = "resolve"
    CLEAR = "clear"            # closed by the system: what it told of is over


class MoveRefused(Exception):
    """A move that the alert's state does not allow."""

    def __init__(self, move: Move, state: State) -> None:
        super().__init__(f"cannot {move} an alert that is {state}")
        self.move, self.state = move, state


_TO: dict[Move, dict[State, State]] = {
    Move.CLAIM: {State.NEW: State.CLAIMED},
    Move.RELEASE: {State.CLAIMED: State.NEW},
    Move.ACKNOWLEDGE: {State.NEW: State.ACKNOWLEDGED, State.CLAIMED: State.ACKNOWLEDGED},
    Move.DISPATCH: {State.CLAIMED: State.DISPATCHED, State.ACKNOWLEDGED: State.DISPATCHED},
}


def after(state: State, move: Move, outcome: State | None = None) -> State:
    """The state an alert in ``state`` is in after ``move`` (``outcome`` for resolve); MoveRefused if the move
    is not allowed."""
    if move in (Move.NOTE, Move.UPDATE, Move.REPEAT, Move.ESCALATE):
        if state in CLOSED and move is not Move.NOTE:
            raise MoveRefused(move, state)
        return state
    if move in (Move.RESOLVE, Move.CLEAR):
        if state in CLOSED:
            raise MoveRefused(move, state)
        target = State.RESOLVED if move is Move.CLEAR else outcome
        if target not in OUTCOMES:
            raise MoveRefused(move, state)
        return target
    try:
        return _TO[move][state]
    except KeyError:
        raise MoveRefused(move, state) from None
