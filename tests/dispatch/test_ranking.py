"""The straight-line ranking, table-driven: who is quickest there, who is left out and why, with the reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kgys.dispatch import ranking
from kgys.dispatch.ranking import Candidate, Exclusion, Leg, Point, StraightLine

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PLACE = Point(39.9200, 32.8500)  # Kızılay, Ankara
SPEEDS = {"patrol_car": 40.0, "motorcycle": 45.0, "foot_patrol": 5.0}
MODEL = StraightLine(speeds_kmh=SPEEDS, detour_factor=1.4)
STALE = timedelta(minutes=5)


def unit(call: str, lat: float | None, lon: float | None = 32.85, *, kind: str = "patrol_car",
         status: str = "available", caps: tuple[str, ...] = (), age_s: float = 10) -> Candidate:
    """A candidate ``lat`` degrees north of nothing in particular (None: no position)."""
    pos = None if lat is None else Point(lat, lon if lon is not None else 32.85)
    return Candidate(call_sign=call, kind=kind, status=status, capabilities=frozenset(caps), position=pos,
                     reported_at=None if lat is None else NOW - timedelta(seconds=age_s))


@dataclass(frozen=True)
class Case:
    name: str
    units: list[Candidate]
    required: frozenset[str]
    ranked: list[str]
    left_out: list[tuple[str, Exclusion]]


CASES = [
    Case("nearest first", [unit("far", 39.96), unit("near", 39.93), unit("mid", 39.94)], frozenset(),
         ["near", "mid", "far"], []),
    Case("speed beats distance: a motorcycle further away arrives first",
         [unit("car", 39.95), unit("moto", 39.952, kind="motorcycle")], frozenset(), ["moto", "car"], []),
    Case("a foot patrol close by beats a car far away, not one nearby",
         [unit("foot", 39.925, kind="foot_patrol"), unit("car-far", 40.10), unit("car-near", 39.93)], frozenset(),
         ["car-near", "foot", "car-far"], []),
    Case("stale positions are shown, not ranked",
         [unit("fresh", 39.95), unit("old", 39.921, age_s=301)], frozenset(), ["fresh"],
         [("old", Exclusion.STALE)]),
    Case("a position just at the limit is still trusted", [unit("edge", 39.93, age_s=300)], frozenset(), ["edge"],
         []),
    Case("a missing capability leaves a unit out",
         [unit("plain", 39.921), unit("dv", 39.96, caps=("domestic_violence",))], frozenset({"domestic_violence"}),
         ["dv"], [("plain", Exclusion.MISSING_CAPABILITY)]),
    Case("no position, not available, no speed for its kind",
         [unit("nopos", None), unit("busy", 39.921, status="busy"), unit("horse", 39.921, kind="mounted"),
          unit("ok", 39.99)], frozenset(), ["ok"],
         [("busy", Exclusion.NOT_AVAILABLE), ("nopos", Exclusion.NO_POSITION), ("horse", Exclusion.NO_ROUTE)]),
    Case("ties go by call sign", [unit("B-2", 39.93), unit("A-1", 39.93)], frozenset(), ["A-1", "B-2"], []),
    Case("nobody", [], frozenset(), [], []),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_ranking(case: Case) -> None:
    out = ranking.rank(case.units, PLACE, required=case.required, now=NOW, stale_after=STALE, travel=MODEL)
    assert [r.candidate.call_sign for r in out if r.rank is not None] == case.ranked
    assert [r.rank for r in out if r.rank is not None] == list(range(1, len(case.ranked) + 1))
    assert [(r.candidate.call_sign, r.excluded) for r in out if r.rank is None] == case.left_out
    for r in out:
        assert r.reasons, f"{r.candidate.call_sign} has no reasons"
        assert (r.leg is None) == (r.rank is None)


def test_the_estimate_is_distance_times_detour_at_the_kinds_speed() -> None:
    origin = Point(39.9200 + 5000 / (ranking.EARTH_RADIUS_M * 3.141592653589793 / 180), 32.85)  # 5 km north
    straight = ranking.haversine_m(origin, PLACE)
    assert straight == pytest.approx(5000)
    [leg] = MODEL.estimate([("patrol_car", origin)], PLACE)
    assert leg is not None
    assert leg.distance_m == pytest.approx(straight * 1.4)
    assert leg.seconds == pytest.approx(straight * 1.4 / (40 / 3.6))
    out = ranking.rank([unit("x", origin.latitude)], PLACE, required=frozenset(), now=NOW, stale_after=STALE,
                       travel=MODEL)
    reasons = " | ".join(out[0].reasons)
    assert "7.00 km" in reasons and "40 km/h" in reasons and "ETA 10 min 30 s" in reasons and "× 1.4" in reasons


def test_why_a_unit_is_left_out_is_said() -> None:
    out = ranking.rank([unit("old", 39.93, age_s=900), unit("plain", 39.93)], PLACE,
                       required=frozenset({"k9", "first_aid"}), now=NOW, stale_after=STALE, travel=MODEL)
    assert out[0].reasons == ("lacks first_aid, k9",)
    assert out[1].reasons == ("lacks first_aid, k9",)
    stale = ranking.rank([unit("old", 39.93, age_s=900)], PLACE, required=frozenset(), now=NOW, stale_after=STALE,
                         travel=MODEL)
    assert stale[0].excluded is Exclusion.STALE and stale[0].reasons == ("position 900 s old (stale after 300 s)",)


class Road:
    """A road model stand-in: a river between the place and anything north of 39.94 makes those far."""

    name = "road"

    def estimate(self, trips: Sequence[tuple[str, Point]], destination: Point) -> list[Leg | None]:
        return [Leg(1000.0, 60.0 if p.latitude < 39.94 else 3600.0, 40.0, "road") for _kind, p in trips]


def test_another_travel_time_model_plugs_in() -> None:
    units = [unit("north", 39.941), unit("south", 39.895)]
    straight = ranking.rank(units, PLACE, required=frozenset(), now=NOW, stale_after=STALE, travel=MODEL)
    road = ranking.rank(units, PLACE, required=frozenset(), now=NOW, stale_after=STALE, travel=Road())
    assert [r.candidate.call_sign for r in straight] == ["north", "south"]
    assert [r.candidate.call_sign for r in road] == ["south", "north"]
