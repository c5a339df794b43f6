"""``kgys roads import|status|time``: the road graph that dispatch ranks teams on (PostgreSQL with PostGIS and
pgRouting)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kgys import geo
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cli.common import cli_actor, console, err_console, runtime
from kgys.roads import store, times

app = typer.Typer(help="The road graph for travel times (PostgreSQL with PostGIS and pgRouting).",
                  no_args_is_help=True)


@app.command("import")
def import_(file: Annotated[Path, typer.Argument(help="OpenStreetMap extract: .osm.pbf, .osm, .osm.bz2 or .osm.gz")]
            ) -> None:
    """Replace the road graph with the drivable roads of an OpenStreetMap extract (all or nothing)."""
    with runtime() as rt, rt.sessions() as session:
        found = store.import_file(session.connection(), file, max_bytes=rt.settings.roads.max_import_mb << 20)
        audit_service.append(session, actor=cli_actor(), action=AuditAction.ROADS_IMPORT, object_type="road_graph",
                             object_id=found.id, details={
                                 "file": found.file_name, "sha256": found.sha256, "bytes": found.bytes,
                                 "vertices": found.vertices, "edges": found.edges, "skipped": found.skipped})
        session.commit()
    left = ", ".join(f"{k}: {v:,}" for k, v in sorted(found.skipped.items())) or "nothing"
    console.print(f"road graph [bold]{found.file_name}[/] imported: {found.vertices:,} junctions, {found.edges:,} "
                  f"road sections in {found.seconds:.1f} s; left out: {left}")


@app.command("status")
def status() -> None:
    """Show the road graph in use: where it came from, when, how large."""
    with runtime() as rt, rt.engine.connect() as conn:
        found = store.latest(conn)
    if found is None:
        console.print("no road graph: teams are ranked by straight-line distance")
        raise typer.Exit(0)
    console.print(f"{found.file_name} (sha256 {found.sha256[:16]}…), imported {found.imported_at:%Y-%m-%d %H:%M} "
                  f"UTC: {found.vertices:,} junctions, {found.edges:,} road sections")


def _point(value: str, name: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = value.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError as exc:
        err_console.print(f"[red]error:[/] {name}: expected LAT,LON in degrees, e.g. 39.92,32.85")
        raise typer.Exit(2) from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        err_console.print(f"[red]error:[/] {name}: {value} is not a place on Earth")
        raise typer.Exit(2)
    return lat, lon


@app.command("time")
def time_(origin: Annotated[str, typer.Argument(help="From: LAT,LON")],
          target: Annotated[str, typer.Argument(help="To: LAT,LON")]) -> None:
    """Travel time by road between two places, next to the straight-line distance."""
    a, b = _point(origin, "from"), _point(target, "to")
    with runtime() as rt, rt.engine.connect() as conn:
        r = rt.settings.roads
        store.require_routing(conn)
        found = times.travel_times(conn, [a], b, access_kmh=r.access_kmh, max_snap_m=r.max_snap_m,
                                   margin_m=r.margin_m)[0]
    line = geo.distance_m(*a, *b)
    if found is None:
        console.print(f"no road joins them (or one lies off the graph); straight line {line / 1000:.2f} km")
        raise typer.Exit(1)
    console.print(f"{found.seconds / 60:.1f} min by road ({found.road_seconds / 60:.1f} min driving, "
                  f"{found.off_road_m:.0f} m to and from the road); straight line {line / 1000:.2f} km")
