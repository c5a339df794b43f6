"""Road travel times as a model of the ranking: pgRouting over the imported road graph (PostgreSQL with PostGIS
and pgRouting, `kgys roads import`), the straight line where the road graph cannot say.

Of the units that drive (``roads.drive_kinds``), the ``roads.candidates`` quickest by straight line are routed by
road, all in one query; a unit off the graph (outside the imported area) or with no road to the place keeps its
straight-line estimate, and its reasons say so. Units that do not drive (foot patrols) and those beyond the
candidates keep the straight line too. Without a road graph (SQLite, or none imported) the model is the straight
line itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from kgys.config import RoadsSettings, Settings
from kgys.dispatch import ranking
from kgys.roads import store, times


@dataclass(frozen=True)
class RoadTimes:
    """Travel times by road for the units that drive, the straight line for the rest."""

    conn: Connection
    settings: RoadsSettings
    line: ranking.StraightLine
    name: str = "road"

    def estimate(self, trips: Sequence[tuple[str, ranking.Point]], destination: ranking.Point
                 ) -> list[ranking.Leg | None]:
        """One estimate per (unit kind, origin), in order."""
        out = self.line.estimate(trips, destination)
        drive = set(self.settings.drive_kinds)
        seconds = {i: leg.seconds for i, leg in enumerate(out) if leg is not None}
        picked = sorted((i for i, (kind, _) in enumerate(trips) if kind in drive and i in seconds),
                        key=seconds.__getitem__)
        routed, beyond = picked[:self.settings.candidates], picked[self.settings.candidates:]
        found = times.travel_times(self.conn, [(trips[i][1].latitude, trips[i][1].longitude) for i in routed],
                                   (destination.latitude, destination.longitude),
                                   access_kmh=self.settings.access_kmh, max_snap_m=self.settings.max_snap_m,
                                   margin_m=self.settings.margin_m)
        for i, road in zip(routed, found, strict=True):
            line = out[i]
            assert line is not None
            if road is None:
                out[i] = _with(line, "off the road graph or no road there: straight line")
                continue
            straight = ranking.haversine_m(trips[i][1], destination)
            out[i] = ranking.Leg(
                distance_m=straight, seconds=road.seconds,
                speed_kmh=round(straight / road.seconds * 3.6, 1) if road.seconds > 0 else line.speed_kmh,
                how=f"{ranking.eta_text(road.road_seconds)} by road + {road.off_road_m:.0f} m to and from the road "
                    f"at {self.settings.access_kmh:g} km/h ({straight / 1000:.2f} km straight)")
        for i in beyond:
            line = out[i]
            assert line is not None
            out[i] = _with(line, f"not among the {self.settings.candidates} nearest: straight line")
        return out


def _with(leg: ranking.Leg, note: str) -> ranking.Leg:
    return ranking.Leg(distance_m=leg.distance_m, seconds=leg.seconds, speed_kmh=leg.speed_kmh,
                       how=f"{leg.how}; {note}")


def model_for(*, session: Session, settings: Settings) -> ranking.TravelTimes:
    """The travel-time model for a recommendation: by road where a road graph is loaded, else the straight
    line."""
    line = ranking.StraightLine(speeds_kmh=dict(settings.dispatch.speeds_kmh),
                                detour_factor=settings.dispatch.detour_factor)
    if session.get_bind().dialect.name != "postgresql":
        return line
    conn = session.connection()
    return RoadTimes(conn, settings.roads, line) if store.ready(conn) else line
