"""Ranking by road time where a road graph is loaded (PostgreSQL with PostGIS and pgRouting): a river between a
team and the incident turns the straight-line order round; foot patrols and teams off the graph keep the straight
line, and the reasons say which is which."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.roads import store
from tests.dispatch.conftest import API, World
from tests.roads import osmfile


def _incident_by_the_river(world: World) -> str:
    alert = raising.raise_alert(world.session, Alarm(
        source=Source.KADES, kind="kades_press", priority=Priority.P1, details="KADES — sahil yolu",
        device="kades-9", position=Position(*osmfile.INCIDENT, 15), scope_path=world.nodes["TR-99-A"].path))
    world.session.commit()
    return str(world.incident(alert)["number"])


def _ranking(world: World, number: str) -> tuple[str, dict[str, dict[str, object]]]:
    r = world.client.get(f"{API}/incidents/{number}/recommendations", headers=world.h["op_a"])
    assert r.status_code == 200, r.text
    body = r.json()
    return body["model"], {u["call_sign"]: u for u in body["units"]}


def _teams(world: World) -> None:
    for call_sign, kind, place in (("NORTH-1", "patrol_car", osmfile.NORTH_TEAM),
                                   ("SOUTH-1", "patrol_car", osmfile.SOUTH_TEAM),
                                   ("FOOT-1", "foot_patrol", (39.9005, 32.8520)),
                                   ("FAR-1", "patrol_car", (39.99, 32.99))):
        world.unit(call_sign, kind=kind)
        assert world.position(call_sign, *place).status_code == 200


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # road graphs live in PostgreSQL only
def test_a_river_turns_the_straight_line_ranking_round(world: World, tmp_path: Path) -> None:
    _teams(world)
    number = _incident_by_the_river(world)
    model, before = _ranking(world, number)
    assert model == "straight_line"
    assert int(str(before["NORTH-1"]["rank"])) < int(str(before["SOUTH-1"]["rank"]))  # across the river, nearer
    # the road graph is loaded in the test's own transaction (rolled back with it)
    store.import_file(world.session.connection(), osmfile.river(tmp_path / "town.osm"), max_bytes=1 << 20)
    model, after = _ranking(world, number)
    assert model == "road"
    assert int(str(after["SOUTH-1"]["rank"])) < int(str(after["NORTH-1"]["rank"]))  # over the bridge is far
    assert "by road" in str(after["SOUTH-1"]["reasons"]) and "by road" in str(after["NORTH-1"]["reasons"])
    assert float(str(after["NORTH-1"]["eta_seconds"])) > 600  # ~9.7 km at 45 km/h
    assert "by road" not in str(after["FOOT-1"]["reasons"])  # a foot patrol keeps the straight line
    assert "off the road graph" in str(after["FAR-1"]["reasons"])
    assert after["FAR-1"]["eta_seconds"] == before["FAR-1"]["eta_seconds"]


def test_without_a_road_graph_the_straight_line_ranks(world: World) -> None:
    _teams(world)
    number = _incident_by_the_river(world)
    model, ranked = _ranking(world, number)
    assert model == "straight_line" and int(str(ranked["NORTH-1"]["rank"])) < int(str(ranked["SOUTH-1"]["rank"]))
    if world.session.get_bind().dialect.name == "postgresql":
        assert world.session.execute(text("SELECT to_regclass('roads.edges')")).scalar() is None
