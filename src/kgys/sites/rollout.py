"""Roll-out steps of a site's camera system and when a step is overdue. Pure functions."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class RolloutStatus(StrEnum):
    """Where a site stands: none → planned → tendered → contracted → installed → integrated → verified."""

    NONE = "none"
    PLANNED = "planned"
    TENDERED = "tendered"
    CONTRACTED = "contracted"
    INSTALLED = "installed"
    INTEGRATED = "integrated"
    VERIFIED = "verified"


ORDER: tuple[RolloutStatus, ...] = tuple(RolloutStatus)


class SiteType(StrEnum):
    """Kinds of site."""

    KINDERGARTEN = "kindergarten"
    PRIMARY_SCHOOL = "primary_school"
    MIDDLE_SCHOOL = "middle_school"
    HIGH_SCHOOL = "high_school"
    COLLEGE = "college"
    MUNICIPAL_POINT = "municipal_point"
    OTHER = "other"


SCHOOL_TYPES = frozenset({SiteType.KINDERGARTEN, SiteType.PRIMARY_SCHOOL, SiteType.MIDDLE_SCHOOL,
                          SiteType.HIGH_SCHOOL, SiteType.COLLEGE})


def transition_error(current: str, target: str) -> str | None:
    """Why a move from ``current`` to ``target`` is not allowed, or None if it is.

    A site moves one step forward at a time, or back any number of steps (a cancelled tender, a
    failed verification); staying put is not a change.
    """
    try:
        tgt = RolloutStatus(target)
    except ValueError:
        return f"unknown roll-out status '{target}'"
    try:
        cur = RolloutStatus(current)
    except ValueError:
        return f"the site's current roll-out status '{current}' is unknown; ask an administrator"
    if cur == tgt:
        return f"the site is already '{tgt.value}'"
    if ORDER.index(tgt) > ORDER.index(cur) + 1:
        nxt = ORDER[ORDER.index(cur) + 1].value
        return f"a site moves one step at a time: from '{cur.value}' the next step is '{nxt}'"
    return None


def overdue_days(status: str, since: date, today: date, max_days: dict[str, int]) -> int:
    """Days past the target for leaving ``status`` (0 when on time or final)."""
    if status == RolloutStatus.VERIFIED.value:
        return 0
    allowed = max_days.get(status)
    if allowed is None:
        return 0
    return max(0, (today - since).days - allowed)
