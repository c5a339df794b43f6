"""``kgys sim kades`` drives a real server: the press becomes a P1 alert, the positions move it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select

from kgys.alerts.models import Alert, AlertChange
from kgys.kades import service
from kgys.kades.schemas import OrderIn
from kgys.sim import kades as sim
from tests import factories
from tests.alerts.conftest import Served, serving


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving("sqlite", tmp_path_factory.mktemp("kades-sim")) as s:
        yield s


def test_a_simulated_phone_presses_and_moves(served: Served) -> None:
    with served.rt.sessions.begin() as session:
        order = service.create_order(session=session, actor=factories.admin(), data=OrderIn(
            number="SIM/1", court="Aile Mahkemesi", valid_from=date(2026, 1, 1), valid_until=date(2030, 1, 1),
            person_name="Deneme Kişi", person_phone="+90 555 000 00 01", district="TR-99-A"))
        _phone, token = service.add_phone(session=session, actor=factories.admin(), order_id=order.id)
    said: list[str] = []
    taken = sim.run(served.base, token, walk=sim.Walk(39.93, 32.86), positions=3, every=0.01, say=said.append)
    assert taken == 4, said
    with served.session() as s:
        alert = s.scalars(select(Alert).where(Alert.source == "kades")).one()
        assert alert.latitude is not None and alert.latitude > 39.93  # it moved north-east
        moves = s.scalars(select(AlertChange.move).where(AlertChange.alert_id == alert.id)).all()
        assert list(moves) == ["raise", "update", "update", "update"]
    assert sim.run(served.base, "wrong", walk=sim.Walk(39.93, 32.86), positions=0, say=said.append) == 0
    assert "401" in said[-1]
