"""From OpenStreetMap ways to a routable graph: which ways cars drive on, how fast, in which direction, and the
edges between junctions. Pure: no file and no database here (``osm`` reads, ``store`` keeps).

A way is split at every node that another routable way shares (a junction) and at its ends, so that each edge
joins two vertices that routing can turn at. An edge's cost is the seconds to drive it at the way's speed; a
one-way street's cost against its direction is -1 (pgRouting's "no way").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kgys.geo import distance_m

# km/h by highway class where the way carries no usable maxspeed: urban speeds of Turkish roads
SPEEDS_KMH: Mapping[str, float] = {
    "motorway": 110, "motorway_link": 60,
    "trunk": 80, "trunk_link": 50,
    "primary": 50, "primary_link": 40,
    "secondary": 45, "secondary_link": 35,
    "tertiary": 40, "tertiary_link": 30,
    "unclassified": 30, "road": 30,
    "residential": 25, "living_street": 10, "service": 15,
}

# maxspeed zone values (OSM wiki, Turkey): urban, rural, dual carriageway, motorway
ZONES_KMH: Mapping[str, float] = {
    "tr:urban": 50, "tr:rural": 90, "tr:trunk": 110, "tr:motorway": 120, "tr:living_street": 20,
}

NO_ACCESS = frozenset({"no", "private", "agricultural", "forestry", "delivery"})
_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$")
MIN_KMH, MAX_KMH = 5.0, 140.0


@dataclass(frozen=True)
class WayNode:
    """A node of a way: its OSM id and position (degrees)."""

    id: int
    lon: float
    lat: float


@dataclass(frozen=True)
class Way:
    """A routable way as read: its id, its highway class, its speed and its direction of travel."""

    id: int
    highway: str
    kmh: float
    forward: bool  # cars may drive from its first node to its last
    backward: bool  # and back
    nodes: Sequence[WayNode]


@dataclass(frozen=True)
class Edge:
    """A stretch of road between two vertices (OSM node ids): length, seconds each way (-1: not that way)."""

    source: int
    target: int
    length_m: float
    cost: float
    reverse_cost: float
    highway: str
    way_id: int
    points: tuple[tuple[float, float], ...]  # (lon, lat) from source to target


@dataclass
class Graph:
    """Vertices (id → lon, lat) and the edges between them, with what was left out and why."""

    vertices: dict[int, tuple[float, float]]
    edges: list[Edge]
    skipped: Counter[str]


def routable(tags: Mapping[str, str]) -> bool:
    """Whether cars may drive on a way with these tags."""
    highway = tags.get("highway", "")
    if highway not in SPEEDS_KMH or tags.get("area") == "yes":
        return False
    for key in ("motor_vehicle", "motorcar", "vehicle", "access"):
        value = tags.get(key)
        if value is not None:  # the most specific key given decides
            return value not in NO_ACCESS
    return True


def maxspeed_kmh(value: str | None) -> float | None:
    """The speed a maxspeed tag gives in km/h (numbers, mph, Turkish zones), or None where it says nothing usable."""
    if not value:
        return None
    value = value.strip().lower()
    if value in ZONES_KMH:
        return ZONES_KMH[value]
    first = value.split(";")[0]
    m = _MAXSPEED.match(first)
    if m is None:
        return None
    kmh = float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)
    return kmh if MIN_KMH <= kmh <= MAX_KMH else None


def speed_kmh(tags: Mapping[str, str]) -> float:
    """The speed to plan with on a way: its maxspeed where usable, else its class's."""
    given = maxspeed_kmh(tags.get("maxspeed"))
    return given if given is not None else SPEEDS_KMH.get(tags.get("highway", ""), SPEEDS_KMH["road"])


def directions(tags: Mapping[str, str]) -> tuple[bool, bool]:
    """(forward, backward): the directions cars may drive a way in."""
    oneway = tags.get("oneway", "").lower()
    if oneway in ("yes", "true", "1"):
        return True, False
    if oneway == "-1":
        return False, True
    if oneway in ("no", "false", "0"):
        return True, True
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") in ("motorway", "motorway_link"):
        return True, False
    return True, True


def build(ways: Iterable[Way]) -> Graph:
    """Split the ways at junctions into edges; keep the vertices the edges use."""
    kept = [w for w in ways if len(w.nodes) >= 2 and (w.forward or w.backward)]
    uses: Counter[int] = Counter()
    for way in kept:
        uses.update({n.id for n in way.nodes})
        uses[way.nodes[0].id] += 1  # a way's ends are vertices even where nothing else meets them
        uses[way.nodes[-1].id] += 1
    vertices: dict[int, tuple[float, float]] = {}
    edges: list[Edge] = []
    skipped: Counter[str] = Counter()
    for way in kept:
        start = 0
        length = 0.0
        for i in range(1, len(way.nodes)):
            a, b = way.nodes[i - 1], way.nodes[i]
            length += distance_m(a.lat, a.lon, b.lat, b.lon)
            if uses[b.id] < 2 and i < len(way.nodes) - 1:
                continue
            first, last = way.nodes[start], b
            if first.id == last.id:
                skipped["loop"] += 1
            elif length <= 0.0:
                skipped["zero_length"] += 1
            else:
                seconds = length / (way.kmh / 3.6)
                edges.append(Edge(
                    source=first.id, target=last.id, length_m=length,
                    cost=seconds if way.forward else -1.0, reverse_cost=seconds if way.backward else -1.0,
                    highway=way.highway, way_id=way.id,
                    points=tuple((n.lon, n.lat) for n in way.nodes[start:i + 1])))
                vertices[first.id] = (first.lon, first.lat)
                vertices[last.id] = (last.lon, last.lat)
            start, length = i, 0.0
    return Graph(vertices=vertices, edges=edges, skipped=skipped)
