"""Incidents are numbered by year and sequence; an alert belongs to one open incident at a time (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.errors import Conflict
from kgys.incidents import service
from tests import factories


def _new(session: Session, path: str) -> service.NewIncident:
    return service.NewIncident(category="other", priority=2, details="", latitude=39.9, longitude=32.8,
                               accuracy_m=None, site_id=None, scope_path=path, capabilities=["k9", "k9"],
                               reported_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_numbers_run_per_year(session: Session) -> None:
    path = factories.tree(session)["TR-99-A"].path
    alert = raising.raise_alert(session, Alarm(source=Source.OPERATOR, kind="x", priority=Priority.P2,
                                               position=Position(39.9, 32.8), scope_path=path))
    made = [service.create(session=session, actor=factories.admin(), new=_new(session, path), alert_ids=[],
                           now=datetime(year, 3, 1, tzinfo=UTC)).number for year in (2026, 2026, 2027, 2026)]
    assert made == ["2026-000001", "2026-000002", "2027-000001", "2026-000003"]
    first = service.by_number(session, "2026-000001")
    assert first is not None and first.capabilities == ["k9"]
    service.create(session=session, actor=factories.admin(), new=_new(session, path), alert_ids=[alert.id])
    with pytest.raises(Conflict, match="another open incident"):
        service.create(session=session, actor=factories.admin(), new=_new(session, path), alert_ids=[alert.id])
