"""Travel times by road: from many places (teams) to one (an incident), over the imported graph with pgRouting.

Each place is snapped to the nearest point of the nearest road (edge); from there the drive goes along that edge
to one of its ends, as its direction allows, and on through the graph; the step from the place to its road (and
from the target's road to the target) is counted at ``access_kmh`` in a straight line. A place farther than
``max_snap_m`` from every road of the graph (outside the imported area) has no road time: None, and the caller
falls back to its straight-line estimate. Routing reads only the edges within a box around the places, widened by
``margin_m`` and by half its own size, so that a detour to a bridge outside the box between them is still found
while a city's graph is not read whole for each question.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from kgys.geo import EARTH_RADIUS_M

_SNAP = text("""
SELECT o.i, e.id, e.source, e.target, e.cost, e.reverse_cost, ST_LineLocatePoint(e.geom, o.p) AS f, e.d
FROM (SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS p
      FROM unnest(CAST(:ids AS integer[]), CAST(:lons AS double precision[]), CAST(:lats AS double precision[]))
      AS u(i, lon, lat)) AS o
CROSS JOIN LATERAL (
    SELECT c.*, ST_Distance(c.geom::geography, o.p::geography) AS d
    FROM (SELECT id, source, target, cost, reverse_cost, geom FROM roads.edges ORDER BY geom <-> o.p LIMIT 8) AS c
    ORDER BY d LIMIT 1
) AS e
""")

_ROUTE = text("SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCost(:edges, CAST(:starts AS bigint[]), "
              "CAST(:ends AS bigint[]), true)")


@dataclass(frozen=True)
class _Snap:
    """Where a place meets the graph: the nearest edge, how far along it (0-1), and how far from it (metres)."""

    edge: int
    source: int
    target: int
    cost: float
    reverse_cost: float
    at: float
    off_m: float

    def leaving(self) -> list[tuple[int, float]]:
        """The vertices one can drive to from the place along its edge, with the seconds it takes."""
        out = []
        if self.cost >= 0:
            out.append((self.target, (1 - self.at) * self.cost))
        if self.reverse_cost >= 0:
            out.append((self.source, self.at * self.reverse_cost))
        return out

    def arriving(self) -> list[tuple[int, float]]:
        """The vertices from which one drives to the place along its edge, with the seconds it takes."""
        out = []
        if self.cost >= 0:
            out.append((self.source, self.at * self.cost))
        if self.reverse_cost >= 0:
            out.append((self.target, (1 - self.at) * self.reverse_cost))
        return out

    def along_to(self, other: _Snap) -> float | None:
        """Seconds from this place to ``other`` along their one edge, where the way allows."""
        if other.edge != self.edge:
            return None
        if other.at >= self.at and self.cost >= 0:
            return (other.at - self.at) * self.cost
        if other.at <= self.at and self.reverse_cost >= 0:
            return (self.at - other.at) * self.reverse_cost
        return None


@dataclass(frozen=True)
class RoadTime:
    """A road travel time: seconds in all, of which on the road; metres off the road at each end."""

    seconds: float
    road_seconds: float
    off_road_m: float


def _box(points: Sequence[tuple[float, float]], margin_m: float) -> tuple[float, float, float, float]:
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    mid = math.radians((min(lats) + max(lats)) / 2)
    dlat_deg = max(lats) - min(lats)
    dlon_deg = max(lons) - min(lons)
    widen_lat = math.degrees(margin_m / EARTH_RADIUS_M) + dlat_deg / 2
    widen_lon = math.degrees(margin_m / (EARTH_RADIUS_M * max(math.cos(mid), 0.01))) + dlon_deg / 2
    return min(lons) - widen_lon, min(lats) - widen_lat, max(lons) + widen_lon, max(lats) + widen_lat


def travel_times(conn: Connection, origins: Sequence[tuple[float, float]], target: tuple[float, float], *,
                 access_kmh: float = 15.0, max_snap_m: float = 1500.0, margin_m: float = 5000.0
                 ) -> list[RoadTime | None]:
    """Road travel time from each of ``origins`` (lat, lon) to ``target``, in the same order; None where a place
    lies off the graph or no road joins it to the target."""
    if not origins:
        return []
    places = [*origins, target]
    snaps = {int(r[0]): _Snap(int(r[1]), int(r[2]), int(r[3]), float(r[4]), float(r[5]), float(r[6]), float(r[7]))
             for r in conn.execute(_SNAP, {"ids": list(range(len(places))), "lons": [p[1] for p in places],
                                           "lats": [p[0] for p in places]})}
    end = snaps.get(len(origins))
    if end is None or end.off_m > max_snap_m:
        return [None] * len(origins)
    near = {i: s for i, s in snaps.items() if i < len(origins) and s.off_m <= max_snap_m}
    starts = sorted({v for s in near.values() for v, _ in s.leaving()})
    ends = sorted({v for v, _ in end.arriving()})
    paths: dict[tuple[int, int], float] = {(v, v): 0.0 for v in set(starts) & set(ends)}
    if starts and ends:
        x1, y1, x2, y2 = _box(places, margin_m)
        edges = ("SELECT id, source, target, cost, reverse_cost FROM roads.edges "
                 f"WHERE geom && ST_MakeEnvelope({x1!r}, {y1!r}, {x2!r}, {y2!r}, 4326)")
        for a, b, cost in conn.execute(_ROUTE, {"edges": edges, "starts": starts, "ends": ends}):
            paths[(int(a), int(b))] = float(cost)
    access = access_kmh / 3.6
    out: list[RoadTime | None] = []
    for i in range(len(origins)):
        snap = near.get(i)
        if snap is None:
            out.append(None)
            continue
        best = snap.along_to(end)
        for v, out_s in snap.leaving():
            for w, in_s in end.arriving():
                path = paths.get((v, w))
                if path is not None and (best is None or out_s + path + in_s < best):
                    best = out_s + path + in_s
        if best is None:
            out.append(None)
            continue
        off = snap.off_m + end.off_m
        out.append(RoadTime(seconds=best + off / access, road_seconds=best, off_road_m=off))
    return out
