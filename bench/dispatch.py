"""The dispatch recommendation with many units: p50/p95 of `recommend` (units of the scope loaded, ranked, reasons
written) by straight line on both engines and by road on PostgreSQL, next to a bare query doing the same ranking in
the same run.

For each engine: a fresh database; ``--units`` (5,000) patrol cars spread over a synthetic city (``bench/roadgrid``,
``--grid`` × ``--grid`` junctions, ~105,000 road sections at 230) in one district, available with fresh positions;
``--incidents`` (30) incidents at random places. Straight line: `kgys.dispatch.flows.sending.recommend` with the
straight-line model, next to one SQL query that orders the same units by the same distance (planar degrees scaled by
the cosine of the latitude: the same order as the haversine over a city) and returns the first 20. By road (PostgreSQL
with PostGIS and pgRouting): the city's OSM file imported with `kgys.roads.store.import_file`, `recommend` with the
road model (the 50 nearest by straight line routed), next to one bare `pgr_dijkstraCost` from the same 50 units'
nearest junctions (found beforehand, not timed) to the incident's, over the same box of roads.

Goals (issue 11): p95 ≤ 50 ms by straight line, ≤ 200 ms by road.
"""

from __future__ import annotations

import argparse
import math
import random
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, text
from tests import factories

from bench import common, roadgrid
from kgys.accounts import service as account_service
from kgys.audit.mechanism import acting_as
from kgys.config import Settings
from kgys.db import utcnow
from kgys.dispatch import ranking
from kgys.dispatch import roads as dispatch_roads
from kgys.dispatch.flows import sending
from kgys.dispatch.models import Unit, UnitPosition
from kgys.incidents import service as incident_service
from kgys.roads import store, times


def _timed(fn: Callable[[], object], n: int, deadline: common.Deadline) -> list[float]:
    out: list[float] = []
    for _ in range(n):
        if deadline.expired:
            break
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _row(engine: str, what: str, samples: list[float], bare: list[float] | None) -> list[object]:
    p50, p95 = common.percentile(samples, 50), common.percentile(samples, 95)
    goal = 0.050 if what.startswith("straight") else 0.200
    ratio = "" if not bare else f"{p50 / common.percentile(bare, 50):.1f} ×"
    return [engine, what, len(samples), common.fmt_ms(p50), common.fmt_ms(p95), ratio,
            "met" if p95 <= goal else "missed"]


def run(kind: str, a: argparse.Namespace, osm: Path) -> list[list[object]]:
    """Measure one engine."""
    rows: list[list[object]] = []
    rnd = random.Random(7)
    lat0, lon0 = roadgrid.ORIGIN
    span = roadgrid.STEP * (a.grid - 1)
    with common.throwaway_db(kind) as db:
        settings: Settings = db.rt.settings
        with db.rt.sessions() as s:
            nodes = factories.tree(s)
            user = factories.user(s, "supervisor", scope=["TR-99-A"])
            actor = account_service.actor_for(user)
            district = nodes["TR-99-A"]
            now = utcnow()
            s.execute(insert(Unit), [
                {"call_sign": f"U-{i:05d}", "kind": "patrol_car", "jurisdiction_id": district.id,
                 "jurisdiction_path": district.path, "capabilities": [], "status": "available",
                 "status_since": now, "created_at": now, "version": 1} for i in range(a.units)])
            ids = s.scalars(select(Unit.id).order_by(Unit.id)).all()
            s.execute(insert(UnitPosition), [
                {"unit_id": uid, "latitude": lat0 + rnd.random() * span, "longitude": lon0 + rnd.random() * span,
                 "accuracy_m": 10.0, "reported_at": now, "received_at": now} for uid in ids])
            numbers = []
            with acting_as(s, actor):
                for _ in range(a.incidents):
                    lat, lon = lat0 + rnd.random() * span, lon0 + rnd.random() * span
                    new = incident_service.NewIncident(
                        category="other", priority=2, details="bench", latitude=lat, longitude=lon, accuracy_m=10,
                        site_id=None, scope_path=district.path, capabilities=[], reported_at=now)
                    inc = incident_service.create(session=s, actor=actor, alert_ids=[], new=new)
                    numbers.append((inc.number, lat, lon))
            s.commit()
        deadline = common.Deadline(a.max_seconds)
        line = sending.straight_line(settings.dispatch)
        cycle = iter(numbers * 1000)

        def straight() -> None:
            number, _, _ = next(cycle)
            with db.rt.sessions() as s:
                sending.recommend(session=s, actor=actor, number=number, settings=settings.dispatch, travel=line,
                                  now=utcnow(), limit=25)

        cos = math.cos(math.radians(lat0 + span / 2))
        bare_sql = text("SELECT u.call_sign FROM units u JOIN unit_positions p ON p.unit_id = u.id "
                        "WHERE u.status = 'available' AND u.jurisdiction_path LIKE :path AND p.reported_at > :fresh "
                        "ORDER BY (p.latitude - :lat) * (p.latitude - :lat) + "
                        "(p.longitude - :lon) * (p.longitude - :lon) * :c2 LIMIT 20")

        def bare_straight() -> None:
            _, lat, lon = next(cycle)
            with db.rt.engine.connect() as conn:
                conn.execute(bare_sql, {"path": district.path + "%", "lat": lat, "lon": lon, "c2": cos * cos,
                                        "fresh": utcnow() - timedelta(seconds=300)}).all()

        straight()  # warm up
        bare_straight()
        rows.append(_row(kind, f"straight line, {a.units:,} units", _timed(straight, a.runs, deadline),
                         bare := _timed(bare_straight, a.runs, deadline)))
        rows.append([kind, "bare: one SQL query ordering them", len(bare), common.fmt_ms(common.percentile(bare, 50)),
                     common.fmt_ms(common.percentile(bare, 95)), "1.0 ×", ""])
        if kind != "postgresql":
            return rows
        with db.rt.engine.begin() as conn:
            found = store.import_file(conn, osm, max_bytes=1 << 31)
        road_name = f"road ({found.edges:,} road sections), {a.units:,} units"

        def by_road() -> None:
            number, _, _ = next(cycle)
            with db.rt.sessions() as s:
                model = dispatch_roads.model_for(session=s, settings=settings)
                assert isinstance(model, dispatch_roads.RoadTimes)
                sending.recommend(session=s, actor=actor, number=number, settings=settings.dispatch, travel=model,
                                  now=utcnow(), limit=25)

        # the bare routing: the same 50 units' junctions found beforehand, one pgr_dijkstraCost per incident
        prepared = []
        with db.rt.sessions() as s:
            cands = sending.recommend(session=s, actor=actor, number=numbers[0][0], settings=settings.dispatch,
                                      travel=line).ranked
        with db.rt.engine.connect() as conn:
            for _number, lat, lon in numbers:
                pts = [(r.candidate.position.latitude, r.candidate.position.longitude)  # type: ignore[union-attr]
                       for r in cands if r.candidate.position is not None]
                pts.sort(key=lambda p: ranking.haversine_m(ranking.Point(*p), ranking.Point(lat, lon)))
                pts = pts[:settings.roads.candidates]
                vids = [conn.execute(text("SELECT id FROM roads.vertices ORDER BY geom <-> "
                                          "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1"),
                                     {"lat": p[0], "lon": p[1]}).scalar_one() for p in [*pts, (lat, lon)]]
                box = times._box([*pts, (lat, lon)], settings.roads.margin_m)
                prepared.append((vids[:-1], vids[-1], box))
        ring = iter(prepared * 1000)

        def bare_road() -> None:
            starts, end, (x1, y1, x2, y2) = next(ring)
            edges = ("SELECT id, source, target, cost, reverse_cost FROM roads.edges "
                     f"WHERE geom && ST_MakeEnvelope({x1!r}, {y1!r}, {x2!r}, {y2!r}, 4326)")
            with db.rt.engine.connect() as conn:
                conn.execute(text("SELECT start_vid, agg_cost FROM pgr_dijkstraCost(:e, CAST(:s AS bigint[]), "
                                  "CAST(:t AS bigint), true)"), {"e": edges, "s": starts, "t": end}).all()

        by_road()
        bare_road()
        road = _timed(by_road, a.runs, deadline)
        bare = _timed(bare_road, a.runs, deadline)
        rows.append(_row(kind, road_name, road, bare))
        rows.append([kind, "bare: one pgr_dijkstraCost, 50 junctions → 1", len(bare),
                     common.fmt_ms(common.percentile(bare, 50)), common.fmt_ms(common.percentile(bare, 95)), "1.0 ×",
                     ""])
    return rows


def main() -> None:
    """Run the benchmark."""
    p = common.base_parser(__doc__ or "")
    p.add_argument("--units", type=int, default=5000)
    p.add_argument("--incidents", type=int, default=30)
    p.add_argument("--runs", type=int, default=100, help="recommendations measured per phase")
    p.add_argument("--grid", type=int, default=230, help="junctions per side of the synthetic city")
    a = p.parse_args()
    common.install_signal_cleanup()
    kinds = common.engines(a.engine)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="kgys-roads-") as tmp:
        osm = roadgrid.write(Path(tmp) / "city.osm", a.grid)
        for kind in kinds:
            rows.extend(run(kind, a, osm))
    body = common.table(["engine", "recommendation", "runs", "p50", "p95", "p50 ÷ bare", "goal"], rows)
    common.report("Dispatch recommendation", body, kinds=kinds, append=a.append_results, notes=[
        f"{a.units:,} available patrol cars with fresh positions in one district, {a.incidents} incidents at random "
        f"places of a {a.grid} × {a.grid}-junction synthetic city with a river crossed by 3 bridges; `recommend` in "
        "its own session each time (units loaded, ranked, reasons written); by road the 50 nearest by straight line "
        "are routed in one pgRouting query. Goals: p95 ≤ 50 ms straight line, ≤ 200 ms by road."])


if __name__ == "__main__":
    main()
