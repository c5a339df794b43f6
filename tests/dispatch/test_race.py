"""Two operators send the same unit to two incidents at the same moment, on PostgreSQL (the city-scale engine,
where writers do run at once): both read it available, exactly one assignment is made, the other operator is
told the unit is taken, and nothing of the losing attempt is left behind."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.db import make_engine, transaction
from kgys.dispatch import service as unit_service
from kgys.dispatch.flows import sending
from kgys.dispatch.models import Assignment, Unit
from kgys.dispatch.schemas import UnitIn
from kgys.errors import Conflict
from kgys.incidents.flows import from_alerts
from kgys.incidents.models import Incident
from kgys.incidents.schemas import IncidentIn
from kgys.runtime import make_runtime
from tests import factories
from tests.conftest import ENGINES, _pg_create, _pg_drop, settings_for

pytestmark = pytest.mark.skipif("postgresql" not in ENGINES, reason="PostgreSQL not among the test engines")


def _incident(session: Session, path: str) -> str:
    alert = raising.raise_alert(session, Alarm(source=Source.KADES, kind="kades_press", priority=Priority.P1,
                                               position=Position(39.92, 32.85), scope_path=path))
    return from_alerts.create_from_alerts(session=session, actor=factories.admin(),
                                          data=IncidentIn(alerts=[alert.id], category="violence")).number


def test_of_two_operators_sending_one_unit_at_once_exactly_one_wins(tmp_path: Path) -> None:
    name = f"kgys_race_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name)
    engine = make_engine(settings_for(tmp_path, url), url=url)
    try:
        rt = make_runtime(settings_for(tmp_path, url), engine=engine, upgrade=True)
        with transaction(rt.sessions) as s:
            path = factories.tree(s)["TR-99-A"].path
            unit_service.create_unit(session=s, actor=factories.admin(),
                                     data=UnitIn(call_sign="99-A-01", kind="patrol_car", district="TR-99-A"))
            numbers = [_incident(s, path), _incident(s, path)]
        both_read = threading.Barrier(2, timeout=30)
        results: dict[str, str] = {}

        def operator(number: str) -> None:
            try:
                with transaction(rt.sessions) as s:
                    unit = s.scalars(select(Unit).where(Unit.call_sign == "99-A-01")).one()
                    assert unit.status == "available"
                    both_read.wait()  # each saw the unit available before either wrote
                    sending.assign(session=s, actor=factories.admin(), number=number, call_sign="99-A-01",
                                   unit_version=unit.version)
                results[number] = "sent"
            except Conflict as exc:
                results[number] = f"409 {exc.message}"

        threads = [threading.Thread(target=operator, args=(n,)) for n in numbers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(r.split(" ")[0] for r in results.values()) == ["409", "sent"], results
        assert "99-A-01" in next(r for r in results.values() if r.startswith("409"))
        with transaction(rt.sessions) as s:
            assert s.scalar(select(func.count()).select_from(Assignment)) == 1
            unit = s.scalars(select(Unit).where(Unit.call_sign == "99-A-01")).one()
            assert (unit.status, unit.version) == ("busy", 2)
            states = dict(s.execute(select(Incident.number, Incident.state)).all())
            assert sorted(states.values()) == ["dispatched", "open"]
    finally:
        engine.dispose()
        _pg_drop(name)
