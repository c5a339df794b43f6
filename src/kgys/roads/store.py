"""The road graph in PostgreSQL (schema ``roads``, PostGIS geometry, laid out as pgRouting reads it).

An import replaces the whole graph in one transaction: the new vertices and edges are copied into tables of
their own, indexed, and swapped in for the old ones at the end, so that routing reads the old graph until the new
one is complete and a failed import leaves the old one as it was. Imports take an advisory lock: two at once run
one after the other. The tables are not part of the application's schema (its migrations): the graph is
reference data the operator loads from a file, and only PostgreSQL with PostGIS and pgRouting can keep it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from kgys.errors import ConfigurationError, FieldError, ValidationFailed
from kgys.roads import graph, osm

log = logging.getLogger(__name__)

_LOCK = 0x6B677973726F6164 & 0x7FFFFFFFFFFFFFFF  # "kgysroad"

_SETUP = """
CREATE SCHEMA IF NOT EXISTS roads;
CREATE TABLE IF NOT EXISTS roads.imports (
    id serial PRIMARY KEY,
    imported_at timestamptz NOT NULL DEFAULT now(),
    file_name text NOT NULL,
    sha256 text NOT NULL,
    bytes bigint NOT NULL,
    vertices integer NOT NULL,
    edges integer NOT NULL,
    skipped jsonb NOT NULL,
    seconds double precision NOT NULL
)
"""


@dataclass(frozen=True)
class Imported:
    """What an import loaded."""

    id: int
    imported_at: datetime
    file_name: str
    sha256: str
    bytes: int
    vertices: int
    edges: int
    skipped: dict[str, int]
    seconds: float


def require_routing(conn: Connection) -> None:
    """Make sure PostGIS and pgRouting are there (created if the user may), or say what to install."""
    if conn.dialect.name != "postgresql":
        raise ConfigurationError("road travel times need PostgreSQL with PostGIS and pgRouting; the embedded "
                                 "SQLite database ranks teams by straight-line distance")
    have = {r[0] for r in conn.execute(text("SELECT extname FROM pg_extension"))}
    for ext in ("postgis", "pgrouting"):
        if ext in have:
            continue
        available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = :n"), {"n": ext}).first()
        if available is None:
            raise ConfigurationError(
                f"the PostgreSQL extension {ext} is not installed on the database server; install the Debian "
                f"packages postgresql-<version>-postgis-3 and postgresql-<version>-pgrouting")
        try:
            with conn.begin_nested():
                conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {ext} CASCADE"))
        except Exception as exc:  # not allowed for this role
            raise ConfigurationError(f"cannot create the extension {ext} ({str(exc).splitlines()[0]}); a "
                                     f"superuser must run: CREATE EXTENSION {ext};") from exc


def ready(conn: Connection) -> bool:
    """Whether a road graph is loaded (PostgreSQL, extensions present, edges imported)."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(text("SELECT to_regclass('roads.edges') IS NOT NULL "
                              "AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgrouting')")).scalar()
    return bool(found)


def latest(conn: Connection) -> Imported | None:
    """The import the graph in use came from, or None."""
    if conn.dialect.name != "postgresql" or not conn.execute(
            text("SELECT to_regclass('roads.imports') IS NOT NULL")).scalar():
        return None
    row = conn.execute(text("SELECT id, imported_at, file_name, sha256, bytes, vertices, edges, skipped, seconds "
                            "FROM roads.imports ORDER BY id DESC LIMIT 1")).first()
    if row is None:
        return None
    skipped = row[7] if isinstance(row[7], dict) else json.loads(row[7])
    return Imported(row[0], row[1], row[2], row[3], row[4], row[5], row[6], skipped, row[8])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_file(conn: Connection, path: Path, *, max_bytes: int) -> Imported:
    """Read the OSM file at ``path`` and make its roads the graph routing uses, in ``conn``'s transaction (all or
    nothing: the caller commits, or rolls back and the graph in use stays)."""
    started = time.monotonic()
    ways, skipped = osm.read(path, max_bytes=max_bytes)
    built = graph.build(ways)
    skipped.update(built.skipped)
    if not built.edges:
        raise ValidationFailed([FieldError(field="file", message=f"{path.name}: no drivable roads in the file")])
    digest = _sha256(path)
    require_routing(conn)
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    for statement in _SETUP.split(";"):
        conn.execute(text(statement))
    n = conn.execute(text(
        "INSERT INTO roads.imports (file_name, sha256, bytes, vertices, edges, skipped, seconds) "
        "VALUES (:f, :h, :b, :v, :e, CAST(:s AS jsonb), 0) RETURNING id"),
        {"f": path.name[:200], "h": digest, "b": path.stat().st_size, "v": len(built.vertices),
         "e": len(built.edges), "s": json.dumps(dict(skipped))}).scalar_one()
    _load(conn, built, n)
    seconds = time.monotonic() - started
    conn.execute(text("UPDATE roads.imports SET seconds = :s WHERE id = :n"), {"s": seconds, "n": n})
    row = conn.execute(text("SELECT imported_at FROM roads.imports WHERE id = :n"), {"n": n}).scalar_one()
    log.info("road graph %s imported: %d vertices, %d edges (%s) in %.1f s", path.name, len(built.vertices),
             len(built.edges), dict(skipped), seconds)
    return Imported(n, row, path.name, digest, path.stat().st_size, len(built.vertices), len(built.edges),
                    dict(skipped), seconds)


def _load(conn: Connection, built: graph.Graph, n: int) -> None:
    # tables (and so their keys' and sequences' names) of their own per import: renamed in at the end
    conn.execute(text(f"CREATE TABLE roads.vertices_{n} (id bigint PRIMARY KEY, "
                      "geom geometry(Point, 4326) NOT NULL)"))
    conn.execute(text(f"CREATE TABLE roads.edges_{n} (id bigserial PRIMARY KEY, source bigint NOT NULL, "
                      "target bigint NOT NULL, cost double precision NOT NULL, "
                      "reverse_cost double precision NOT NULL, length_m double precision NOT NULL, "
                      "highway text NOT NULL, way_id bigint NOT NULL, geom geometry(LineString, 4326) NOT NULL)"))
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY roads.vertices_{n} (id, geom) FROM STDIN") as copy:
            for vid, (lon, lat) in built.vertices.items():
                copy.write_row((vid, f"SRID=4326;POINT({lon!r} {lat!r})"))
        with cur.copy(f"COPY roads.edges_{n} (source, target, cost, reverse_cost, length_m, highway, way_id, geom) "
                      "FROM STDIN") as copy:
            for e in built.edges:
                line = ",".join(f"{lon!r} {lat!r}" for lon, lat in e.points)
                copy.write_row((e.source, e.target, e.cost, e.reverse_cost, e.length_m, e.highway, e.way_id,
                                f"SRID=4326;LINESTRING({line})"))
    for sql in (
        f"CREATE INDEX roads_vertices_geom_{n} ON roads.vertices_{n} USING gist (geom)",
        f"CREATE INDEX roads_edges_geom_{n} ON roads.edges_{n} USING gist (geom)",
        f"CREATE INDEX roads_edges_source_{n} ON roads.edges_{n} (source)",
        f"CREATE INDEX roads_edges_target_{n} ON roads.edges_{n} (target)",
        "DROP TABLE IF EXISTS roads.vertices, roads.edges",
        f"ALTER TABLE roads.vertices_{n} RENAME TO vertices",
        f"ALTER TABLE roads.edges_{n} RENAME TO edges",
        "ANALYZE roads.vertices",
        "ANALYZE roads.edges",
    ):
        conn.execute(text(sql))

