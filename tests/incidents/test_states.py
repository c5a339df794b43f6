"""How an incident follows its assignments, and its response times (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kgys.incidents import service
from kgys.incidents.models import Incident
from kgys.incidents.states import IncidentState, state_after_assignments

S = IncidentState


@pytest.mark.parametrize(("state", "active", "arrived", "after"), [
    (S.OPEN, 1, False, S.DISPATCHED),
    (S.DISPATCHED, 2, False, S.DISPATCHED),
    (S.DISPATCHED, 0, False, S.OPEN),        # every unit declined or was stood down before arriving
    (S.DISPATCHED, 1, True, S.ON_SCENE),
    (S.ON_SCENE, 0, True, S.ON_SCENE),      # everyone cleared: it stays on scene until an operator closes it
    (S.CLOSED, 1, False, S.CLOSED),
])
def test_the_incident_follows_its_assignments(state: IncidentState, active: int, arrived: bool,
                                              after: IncidentState) -> None:
    assert state_after_assignments(state, active=active, arrived=arrived) is after


def test_response_times() -> None:
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    inc = Incident(reported_at=t0, dispatched_at=t0 + timedelta(seconds=45),
                   acknowledged_at=t0 + timedelta(seconds=60), arrived_at=t0 + timedelta(minutes=7))
    assert service.response_seconds(inc) == {"to_dispatch": 45.0, "to_acknowledge": 15.0, "to_arrive": 420.0,
                                             "to_clear": None}
