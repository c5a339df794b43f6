"""Small OpenStreetMap files written for the tests: nodes and ways, as OSM XML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr


def write_osm(path: Path, nodes: Mapping[int, tuple[float, float]],
              ways: Sequence[tuple[int, Sequence[int], Mapping[str, str]]]) -> Path:
    """Write ``nodes`` (id → lat, lon) and ``ways`` (id, node ids, tags) as an .osm file."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="kgys-tests">']
    for nid, (lat, lon) in sorted(nodes.items()):
        lines.append(f'  <node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# A river runs east-west between latitude 39.900 (south bank road) and 39.910 (north bank road); the only bridge
# is at longitude 32.900. The incident is on the south bank at (39.900, 32.850).
INCIDENT = (39.900, 32.850)
NORTH_TEAM = (39.9101, 32.8500)  # across the river: 1.1 km in a straight line, ~9.7 km by road
SOUTH_TEAM = (39.8899, 32.8700)  # same bank: 2.0 km in a straight line, ~2.8 km by road
RIVER_NODES = {
    1: (39.910, 32.840), 2: (39.910, 32.850), 3: (39.910, 32.900),  # north bank road
    4: (39.900, 32.900),  # the bridge's south end
    5: (39.900, 32.840), 6: (39.900, 32.850), 7: (39.900, 32.870),  # south bank road
    8: (39.890, 32.870),  # a street south of it
    9: (39.880, 32.950), 10: (39.881, 32.951),  # a footpath far away (not drivable)
}
RIVER_WAYS = [
    (100, [1, 2, 3], {"highway": "secondary", "name": "Kuzey Sahil Yolu"}),
    (101, [3, 4], {"highway": "secondary", "bridge": "yes", "name": "Köprü"}),
    (102, [5, 6, 7, 4], {"highway": "secondary", "name": "Güney Sahil Yolu"}),
    (103, [8, 7], {"highway": "residential", "name": "Okul Sokak"}),
    (104, [9, 10], {"highway": "footway"}),
]


def river(path: Path) -> Path:
    """The river town above as an .osm file."""
    return write_osm(path, RIVER_NODES, RIVER_WAYS)
