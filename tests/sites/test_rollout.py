"""Roll-out steps: which moves are allowed and when a site is overdue."""

from __future__ import annotations

from datetime import date

import pytest

from kgys.sites.rollout import ORDER, RolloutStatus, overdue_days, transition_error

MAX_DAYS = {"none": 30, "planned": 60, "tendered": 60, "contracted": 90, "installed": 30, "integrated": 30}


@pytest.mark.parametrize(
    ("current", "target", "problem"),
    [
        ("none", "planned", None),
        ("planned", "tendered", None),
        ("tendered", "contracted", None),
        ("contracted", "installed", None),
        ("installed", "integrated", None),
        ("integrated", "verified", None),
        # back any number of steps: a cancelled tender, a failed verification
        ("tendered", "planned", None),
        ("verified", "none", None),
        ("verified", "installed", None),
        # forward only one step at a time, naming the step that comes next
        ("none", "tendered", "from 'none' the next step is 'planned'"),
        ("planned", "verified", "from 'planned' the next step is 'tendered'"),
        ("contracted", "integrated", "from 'contracted' the next step is 'installed'"),
        # staying put is not a change
        ("planned", "planned", "already 'planned'"),
        ("verified", "verified", "already 'verified'"),
        ("none", "finished", "unknown roll-out status 'finished'"),
    ],
)
def test_transition_error(current: str, target: str, problem: str | None) -> None:
    got = transition_error(current, target)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got


def test_every_forward_step_is_one_move_and_every_skip_is_refused() -> None:
    for i, cur in enumerate(ORDER):
        for j, tgt in enumerate(ORDER):
            allowed = transition_error(cur.value, tgt.value) is None
            assert allowed == (j == i + 1 or j < i), (cur, tgt)


TODAY = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("status", "since", "days"),
    [
        ("none", date(2025, 3, 1), 0),  # 30 days in 'none', 30 allowed: on time
        ("none", date(2025, 2, 28), 1),  # 31 days: one day late
        ("planned", date(2025, 1, 20), 10),  # 70 days, 60 allowed
        ("contracted", date(2024, 12, 31), 0),  # 90 days, 90 allowed
        ("contracted", date(2024, 3, 31), 275),  # 365 days, 90 allowed
        ("integrated", date(2025, 3, 31), 0),  # entered today
        ("installed", date(2025, 4, 10), 0),  # dated in the future: never negative
        ("verified", date(2020, 1, 1), 0),  # the last step is never overdue
        ("unknown", date(2020, 1, 1), 0),  # no target configured
    ],
)
def test_overdue_days(status: str, since: date, days: int) -> None:
    assert overdue_days(status, since, TODAY, MAX_DAYS) == days


def test_overdue_days_follows_the_configured_targets() -> None:
    since = date(2025, 3, 1)
    assert overdue_days(RolloutStatus.PLANNED.value, since, TODAY, {"planned": 10}) == 20
    assert overdue_days(RolloutStatus.PLANNED.value, since, TODAY, {}) == 0
