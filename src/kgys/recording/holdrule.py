"""When footage is held: the one rule, as a pure check and as the SQL that selects the same rows.

A legal hold is **in force** while each of its end marks (:data:`END_MARKS`: when it was released, the
date it lapses) is empty or still ahead of now. A hold **touches** footage of its camera when the two time
ranges share at least one instant, edges included. **Held** footage is footage an in-force hold touches:
it is never deleted, not by retention and not under disk pressure.

Each rule exists here twice, once for values (:func:`in_force`, :func:`touches`, :func:`held`) and once as a
SQL condition (:func:`in_force_clause`, :func:`touches_clause`, :func:`held_clause`), built from the same
fields and the same comparisons; ``tests/recording/test_holds_rule.py`` evaluates both over the same rows
on SQLite and PostgreSQL, so they cannot drift apart. What people read of a hold (active, released,
expired) is :func:`state`, which follows the same marks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, or_

from kgys.recording.models import LegalHold
from kgys.recording.schemas import HoldState

END_MARKS = ("released_at", "until")  # a hold is in force while each of these is empty or later than now


class HoldTimes(Protocol):
    """What the rule reads of a hold (a :class:`LegalHold` row or a plain copy of one)."""

    @property
    def camera_id(self) -> int: ...
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...
    @property
    def until(self) -> datetime | None: ...
    @property
    def released_at(self) -> datetime | None: ...


def _ahead(mark: datetime | None, now: datetime) -> bool:
    return mark is None or mark > now


def _ahead_sql(mark: Any, now: datetime) -> ColumnElement[bool]:
    return or_(mark.is_(None), mark > now)


def in_force(hold: HoldTimes, now: datetime) -> bool:
    """Whether the hold protects footage at ``now``: neither released nor lapsed by then."""
    return all(_ahead(getattr(hold, mark), now) for mark in END_MARKS)


def in_force_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: the :class:`LegalHold` row is in force at ``now`` (the same marks and comparison as :func:`in_force`)."""
    return and_(*(_ahead_sql(getattr(LegalHold, mark), now) for mark in END_MARKS))


def touches(hold: HoldTimes, camera_id: int, start: datetime, end: datetime) -> bool:
    """Whether the hold covers any instant of the camera's footage from ``start`` to ``end`` (shared edges count)."""
    return hold.camera_id == camera_id and hold.start <= end and start <= hold.end


def touches_clause(camera_id: Any, start: Any, end: Any) -> ColumnElement[bool]:
    """SQL: the :class:`LegalHold` row touches footage given by columns or values (as :func:`touches`)."""
    return and_(LegalHold.camera_id == camera_id, LegalHold.start <= end, start <= LegalHold.end)


def held(holds: Iterable[HoldTimes], camera_id: int, start: datetime, end: datetime, now: datetime) -> bool:
    """Whether any of ``holds`` is in force at ``now`` and touches the footage."""
    return any(in_force(h, now) and touches(h, camera_id, start, end) for h in holds)


def held_clause(now: datetime, *, camera_id: Any, start: Any, end: Any) -> ColumnElement[bool]:
    """SQL: some hold in force at ``now`` touches the footage given by columns (e.g. a segment's) or values."""
    return exists().where(touches_clause(camera_id, start, end), in_force_clause(now))


def state(hold: HoldTimes, now: datetime) -> HoldState:
    """What a hold is at ``now``, in the words every list of holds uses: ``released`` once its release time has
    come, else ``active`` while in force, else ``expired`` (it lapsed)."""
    if not _ahead(hold.released_at, now):
        return "released"
    return "active" if in_force(hold, now) else "expired"
