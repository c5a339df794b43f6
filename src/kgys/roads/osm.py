"""Read the drivable roads of an OpenStreetMap extract (``.osm``, ``.osm.pbf``, ``.osm.bz2``, ``.osm.gz``).

The file is read by libosmium (pyosmium): a streaming reader in C++ that keeps no document tree, so a large or
hostile file costs memory in proportion to its roads only. What cannot be used is refused with the reason (not an
OSM file, cut short, no roads in it) or left out and counted (ways whose nodes are missing from the extract or lie
outside the world's coordinates).
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import osmium
import osmium.filter
import osmium.osm

from kgys.errors import FieldError, ValidationFailed
from kgys.roads import graph

log = logging.getLogger(__name__)

SUFFIXES = (".osm", ".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".osm.xml")


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field="file", message=message)])


def read(path: Path, *, max_bytes: int) -> tuple[list[graph.Way], Counter[str]]:
    """The routable ways of the OSM file at ``path`` and what was left out (reason → count).

    Refused (ValidationFailed naming the file) when the file is missing, larger than ``max_bytes``, of a kind
    libosmium does not read, malformed or cut short.
    """
    name = path.name.lower()
    if not name.endswith(SUFFIXES):
        raise _refuse(f"{path.name}: not an OpenStreetMap file (expected one of {', '.join(SUFFIXES)})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _refuse(f"{path}: cannot be read ({exc.strerror})") from exc
    if size == 0:
        raise _refuse(f"{path.name}: the file is empty")
    if size > max_bytes:
        raise _refuse(f"{path.name}: {size:,} bytes is more than the limit of {max_bytes:,}")
    ways: list[graph.Way] = []
    skipped: Counter[str] = Counter()
    processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                 .with_locations()
                 .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                 .with_filter(osmium.filter.KeyFilter("highway")))
    try:
        for obj in processor:
            if not isinstance(obj, osmium.osm.Way):
                continue
            way = _way(obj, skipped)
            if way is not None:
                ways.append(way)
    except (RuntimeError, ValueError, OSError) as exc:  # libosmium's parse and I/O errors
        raise _refuse(f"{path.name}: not a readable OpenStreetMap file ({_reason(exc)})") from exc
    return ways, skipped


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def _way(obj: osmium.osm.Way, skipped: Counter[str]) -> graph.Way | None:
    tags = {t.k: t.v for t in obj.tags}
    if not graph.routable(tags):
        skipped["not_drivable"] += 1
        return None
    nodes: list[graph.WayNode] = []
    for ref in obj.nodes:
        loc = ref.location
        if not loc.valid():
            skipped["missing_nodes"] += 1
            return None
        nodes.append(graph.WayNode(id=ref.ref, lon=loc.lon, lat=loc.lat))
    forward, backward = graph.directions(tags)
    return graph.Way(id=obj.id, highway=tags["highway"], kmh=graph.speed_kmh(tags), forward=forward,
                     backward=backward, nodes=nodes)
