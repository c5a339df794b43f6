"""The kinds of alert dispatch raises (the stored value)."""

from __future__ import annotations

from enum import StrEnum


class DispatchAlertKind(StrEnum):
    """Alerts of the dispatch loop."""

    UNACKNOWLEDGED = "assignment_unacknowledged"
