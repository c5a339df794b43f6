"""Which ways are drivable, how fast and which way, and how ways become edges between junctions."""

from __future__ import annotations

import pytest

from kgys import geo
from kgys.roads import graph
from kgys.roads.graph import Way, WayNode


@pytest.mark.parametrize(("tags", "expected"), [
    ({"highway": "primary"}, True),
    ({"highway": "residential", "access": "private"}, False),
    ({"highway": "residential", "access": "no", "motor_vehicle": "yes"}, True),  # the specific key decides
    ({"highway": "service", "motor_vehicle": "no"}, False),
    ({"highway": "footway"}, False),
    ({"highway": "pedestrian"}, False),
    ({"highway": "primary", "area": "yes"}, False),
    ({"building": "yes"}, False),
])
def test_routable(tags: dict[str, str], expected: bool) -> None:
    assert graph.routable(tags) is expected


@pytest.mark.parametrize(("value", "kmh"), [
    ("50", 50.0), ("50 km/h", 50.0), ("30 mph", 30 * 1.609344), ("TR:urban", 50.0), ("tr:motorway", 120.0),
    ("50;30", 50.0), ("none", None), ("signals", None), ("", None), (None, None), ("0", None), ("900", None),
    ("-20", None), ("1e9", None),
])
def test_maxspeed(value: str | None, kmh: float | None) -> None:
    assert graph.maxspeed_kmh(value) == (pytest.approx(kmh) if kmh is not None else None)


@pytest.mark.parametrize(("tags", "expected"), [
    ({"highway": "residential"}, (True, True)),
    ({"highway": "residential", "oneway": "yes"}, (True, False)),
    ({"highway": "residential", "oneway": "-1"}, (False, True)),
    ({"highway": "primary", "junction": "roundabout"}, (True, False)),
    ({"highway": "motorway"}, (True, False)),
    ({"highway": "motorway", "oneway": "no"}, (True, True)),
])
def test_directions(tags: dict[str, str], expected: tuple[bool, bool]) -> None:
    assert graph.directions(tags) == expected


def test_speed_falls_back_to_the_class() -> None:
    assert graph.speed_kmh({"highway": "residential", "maxspeed": "fast"}) == graph.SPEEDS_KMH["residential"]
    assert graph.speed_kmh({"highway": "primary", "maxspeed": "70"}) == 70.0


def _n(i: int, lon: float) -> WayNode:
    return WayNode(id=i, lon=lon, lat=39.9)


def test_ways_split_at_junctions_only() -> None:
    long = Way(id=1, highway="primary", kmh=36.0, forward=True, backward=True,
               nodes=[_n(1, 32.80), _n(2, 32.81), _n(3, 32.82), _n(4, 32.83)])
    cross = Way(id=2, highway="residential", kmh=18.0, forward=True, backward=False,
                nodes=[_n(3, 32.82), WayNode(id=5, lon=32.82, lat=39.91)])
    built = graph.build([long, cross])
    pairs = sorted((e.source, e.target) for e in built.edges)
    assert pairs == [(1, 3), (3, 4), (3, 5)]  # node 2 is no junction: no vertex there
    assert set(built.vertices) == {1, 3, 4, 5}
    first = next(e for e in built.edges if (e.source, e.target) == (1, 3))
    assert first.length_m == pytest.approx(
        geo.distance_m(39.9, 32.80, 39.9, 32.81) + geo.distance_m(39.9, 32.81, 39.9, 32.82))
    assert first.cost == pytest.approx(first.length_m / 10.0) and first.reverse_cost == first.cost  # 36 km/h
    oneway = next(e for e in built.edges if e.target == 5)
    assert oneway.cost > 0 and oneway.reverse_cost == -1.0
    assert len(first.points) == 3


def test_degenerate_ways_are_left_out_and_counted() -> None:
    loop = Way(id=1, highway="service", kmh=15, forward=True, backward=True, nodes=[_n(1, 32.8), _n(1, 32.8)])
    single = Way(id=2, highway="service", kmh=15, forward=True, backward=True, nodes=[_n(7, 32.8)])
    built = graph.build([loop, single])
    assert built.edges == [] and built.skipped["loop"] == 1


def test_distance() -> None:
    # one degree of latitude is ~111.2 km
    assert geo.distance_m(39.0, 32.0, 40.0, 32.0) == pytest.approx(111_195, rel=1e-3)
