"""Which available, suitable unit should go: units ranked by estimated travel time to an incident (no I/O).

The estimate comes from a :class:`TravelTimes` model. :class:`StraightLine` is the embedded one: the great-circle
distance times a detour factor, at a speed per unit kind (``[dispatch]`` settings). A road model (pgRouting on a
loaded road graph) implements the same protocol. A unit is not ranked, and says why, when it is not available,
lacks a required capability, has no position, its position is older than ``stale_after`` (stale: not trusted),
or the model finds no way to the place. Every result carries its reasons: distance, speed, ETA or exclusion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from kgys import geo

EARTH_RADIUS_M = geo.EARTH_RADIUS_M


@dataclass(frozen=True)
class Point:
    """A place on the earth (WGS 84 degrees)."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class Candidate:
    """A unit as the ranking sees it: plain data, no ORM row."""

    call_sign: str
    kind: str
    status: str
    capabilities: frozenset[str]
    position: Point | None
    reported_at: datetime | None


@dataclass(frozen=True)
class Leg:
    """A model's estimate of one unit's way to the place."""

    distance_m: float
    seconds: float
    speed_kmh: float
    how: str  # what the model did, in words


class TravelTimes(Protocol):
    """A travel-time model: for each unit (its kind and position), the way to ``destination`` (None: no way)."""

    @property
    def name(self) -> str:
        """The model's name in answers: straight_line, road."""
        ...

    def estimate(self, trips: Sequence[tuple[str, Point]], destination: Point) -> list[Leg | None]:
        """One estimate per (unit kind, origin), in order."""
        ...


def haversine_m(a: Point, b: Point) -> float:
    """The great-circle distance between two points, in metres."""
    return geo.distance_m(a.latitude, a.longitude, b.latitude, b.longitude)


@dataclass(frozen=True)
class StraightLine:
    """Straight-line distance × ``detour_factor`` at the kind's speed (km/h); a kind with no speed has no way."""

    speeds_kmh: Mapping[str, float]
    detour_factor: float = 1.4
    name: str = "straight_line"

    def estimate(self, trips: Sequence[tuple[str, Point]], destination: Point) -> list[Leg | None]:
        """One estimate per (unit kind, origin), in order."""
        out: list[Leg | None] = []
        for kind, origin in trips:
            speed = self.speeds_kmh.get(kind)
            if speed is None or speed <= 0:
                out.append(None)
                continue
            straight = haversine_m(origin, destination)
            distance = straight * self.detour_factor
            out.append(Leg(distance_m=distance, seconds=distance / (speed / 3.6), speed_kmh=speed,
                           how=f"{straight / 1000:.2f} km straight × {self.detour_factor:g} detour "
                               f"at {speed:g} km/h"))
        return out


class Exclusion(StrEnum):
    """Why a unit is not ranked."""

    NOT_AVAILABLE = "not_available"
    MISSING_CAPABILITY = "missing_capability"
    NO_POSITION = "no_position"
    STALE = "stale"
    NO_ROUTE = "no_route"


@dataclass(frozen=True)
class Ranked:
    """One unit's place in a recommendation: its rank and leg, or why it is left out, with the reasons."""

    candidate: Candidate
    rank: int | None
    leg: Leg | None
    excluded: Exclusion | None
    reasons: tuple[str, ...]
    position_age_s: float | None


def _age(c: Candidate, now: datetime) -> float | None:
    return None if c.reported_at is None else max(0.0, (now - c.reported_at).total_seconds())


def _exclusion(c: Candidate, required: frozenset[str], age: float | None,
               stale_after: timedelta) -> tuple[Exclusion, str] | None:
    if c.status != "available":
        return Exclusion.NOT_AVAILABLE, f"status {c.status}"
    missing = sorted(required - c.capabilities)
    if missing:
        return Exclusion.MISSING_CAPABILITY, "lacks " + ", ".join(missing)
    if c.position is None or age is None:
        return Exclusion.NO_POSITION, "no position reported"
    if age > stale_after.total_seconds():
        return Exclusion.STALE, f"position {int(age)} s old (stale after {int(stale_after.total_seconds())} s)"
    return None


def eta_text(seconds: float) -> str:
    """A travel time in words: 4 min 48 s."""
    s = int(round(seconds))
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def rank(candidates: Sequence[Candidate], destination: Point, *, required: frozenset[str], now: datetime,
         stale_after: timedelta, travel: TravelTimes, limit: int | None = None) -> list[Ranked]:
    """The candidates ranked by estimated travel time (ties by call sign), then those left out, each with why; at
    most ``limit`` of each (the quickest, and the first left out by reason)."""
    usable: list[tuple[Candidate, float]] = []
    left_out: list[Ranked] = []
    for c in candidates:
        age = _age(c, now)
        why = _exclusion(c, required, age, stale_after)
        if why is None:
            usable.append((c, age or 0.0))
        else:
            left_out.append(Ranked(c, None, None, why[0], (why[1],), age))
    legs = travel.estimate([(c.kind, c.position) for c, _ in usable if c.position is not None], destination)
    timed: list[tuple[Candidate, float, Leg]] = []
    for (c, age), leg in zip(usable, legs, strict=True):
        if leg is None:
            left_out.append(Ranked(c, None, None, Exclusion.NO_ROUTE, (f"no way to the place ({travel.name})",),
                                   age))
        else:
            timed.append((c, age, leg))
    timed.sort(key=lambda t: (t[2].seconds, t[0].call_sign))
    ranked = [Ranked(c, i, leg, None, (f"{leg.distance_m / 1000:.2f} km", f"{leg.speed_kmh:g} km/h",
                                       f"ETA {eta_text(leg.seconds)}", leg.how, f"position {int(age)} s old"), age)
              for i, (c, age, leg) in enumerate(timed[:limit], start=1)]
    order = list(Exclusion)
    left_out.sort(key=lambda r: (order.index(r.excluded or Exclusion.NO_ROUTE), r.candidate.call_sign))
    return ranked + left_out[:limit]
