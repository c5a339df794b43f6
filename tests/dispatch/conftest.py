"""Dispatch fixtures: the web app on the test's transaction, a district's people, units and an alert to send to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts.models import Jurisdiction, User
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from tests import factories
from tests.web import conftest as web_fixtures

API = "/api/v1"
PLACE = (39.9200, 32.8500)  # where the protected person pressed
client, token_for = web_fixtures.client, web_fixtures.token_for  # the web app on the test's transaction


@dataclass
class World:
    """Who is who: headers per person, the jurisdiction tree, and helpers calling the API."""

    client: TestClient
    session: Session
    nodes: dict[str, Jurisdiction]
    h: dict[str, dict[str, str]]
    field_user: User

    def unit(self, call_sign: str, kind: str = "patrol_car", district: str = "TR-99-A", **kw: Any) -> dict[str, Any]:
        """Register a unit (as the supervisor)."""
        r = self.client.post(f"{API}/units", headers=self.h["sup"],
                             json={"call_sign": call_sign, "kind": kind, "district": district, **kw})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def position(self, call_sign: str, lat: float, lon: float = PLACE[1], *, age_s: float = 5,
                 who: str = "op_a") -> Any:
        """Report a unit's position, ``age_s`` seconds old."""
        at = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat()
        return self.client.post(f"{API}/units/{call_sign}/position", headers=self.h[who],
                                json={"latitude": lat, "longitude": lon, "accuracy_m": 10, "reported_at": at})

    def kades_alert(self, district: str = "TR-99-A") -> Alert:
        """A protected person's press in ``district``, as the KADES intake raises it."""
        alert = raising.raise_alert(self.session, Alarm(
            source=Source.KADES, kind="kades_press", priority=Priority.P1, details="KADES — Ayşe Yılmaz",
            device="kades-1", position=Position(*PLACE, 25), scope_path=self.nodes[district].path,
            data={"call_back": "+90 555 111 22 33"}))
        self.session.commit()
        return alert

    def incident(self, alert: Alert, who: str = "op_a", **kw: Any) -> dict[str, Any]:
        """Make an incident of the alert."""
        r = self.client.post(f"{API}/incidents", headers=self.h[who],
                             json={"alerts": [alert.id], "category": "domestic_violence", **kw})
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture
def world(session: Session, client: TestClient, token_for: Callable[[User], dict[str, str]]) -> World:
    nodes = factories.tree(session)
    sup = factories.user(session, "supervisor", scope=["TR-99"])
    op_a = factories.user(session, "operator", scope=["TR-99-A"])
    op_a2 = factories.user(session, "operator", scope=["TR-99-A"])
    op_b = factories.user(session, "operator", scope=["TR-99-B"])
    field = factories.user(session, "field_unit", scope=["TR-99-A"])
    other_field = factories.user(session, "field_unit", scope=["TR-99-A"])
    session.commit()
    h = {"sup": token_for(sup), "op_a": token_for(op_a), "op_a2": token_for(op_a2), "op_b": token_for(op_b),
         "field": token_for(field), "other_field": token_for(other_field)}
    return World(client=client, session=session, nodes=nodes, h=h, field_user=field)
