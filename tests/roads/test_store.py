"""Importing an OpenStreetMap extract into PostgreSQL and routing over it with pgRouting."""

from __future__ import annotations

import bz2
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kgys import geo
from kgys.errors import ValidationFailed
from kgys.roads import store, times
from tests.roads import osmfile

pytestmark = pytest.mark.postgres

MB = 1 << 20


def _import(engine: Engine, path: Path, *, max_bytes: int = 10 * MB) -> store.Imported:
    with engine.begin() as conn:
        return store.import_file(conn, path, max_bytes=max_bytes)


def test_a_river_in_the_way_turns_the_ranking(roads_engine: Engine, tmp_path: Path) -> None:
    found = _import(roads_engine, osmfile.river(tmp_path / "town.osm"))
    assert (found.vertices, found.edges) == (6, 5)  # junctions and ends only; the footpath is no road for a car
    assert found.skipped == {"not_drivable": 1}
    north_line = geo.distance_m(*osmfile.NORTH_TEAM, *osmfile.INCIDENT)
    south_line = geo.distance_m(*osmfile.SOUTH_TEAM, *osmfile.INCIDENT)
    assert north_line < south_line  # in a straight line the team across the river is nearer
    with roads_engine.connect() as conn:
        assert store.ready(conn)
        north, south = times.travel_times(conn, [osmfile.NORTH_TEAM, osmfile.SOUTH_TEAM], osmfile.INCIDENT)
    assert north is not None and south is not None
    assert south.seconds < north.seconds  # by road it is the other way round
    # north: along the north bank to the bridge, over it and back along the south bank (45 km/h secondary)
    way_north = (geo.distance_m(39.910, 32.850, 39.910, 32.900) + geo.distance_m(39.910, 32.900, 39.900, 32.900)
                 + geo.distance_m(39.900, 32.900, 39.900, 32.850))
    assert north.road_seconds == pytest.approx(way_north / (45 / 3.6), rel=1e-3)
    way_south = geo.distance_m(39.890, 32.870, 39.900, 32.870) / (25 / 3.6) + geo.distance_m(
        39.900, 32.870, 39.900, 32.850) / (45 / 3.6)
    assert south.road_seconds == pytest.approx(way_south, rel=1e-3)
    assert north.off_road_m == pytest.approx(geo.distance_m(*osmfile.NORTH_TEAM, 39.910, 32.850), abs=1)
    assert north.seconds == pytest.approx(north.road_seconds + north.off_road_m / (15 / 3.6))


def test_one_way_streets_are_driven_one_way(roads_engine: Engine, tmp_path: Path) -> None:
    nodes = {1: (39.0, 32.0), 2: (39.0, 32.01), 3: (39.01, 32.01), 4: (39.01, 32.0)}
    ways = [(1, [1, 2], {"highway": "residential", "oneway": "yes"}),
            (2, [2, 3, 4, 1], {"highway": "residential"})]
    _import(roads_engine, osmfile.write_osm(tmp_path / "oneway.osm", nodes, ways))
    with roads_engine.connect() as conn:
        there, back = (times.travel_times(conn, [nodes[a]], nodes[b])[0] for a, b in ((1, 2), (2, 1)))
    assert there is not None and back is not None
    assert there.road_seconds == pytest.approx(geo.distance_m(*nodes[1], *nodes[2]) / (25 / 3.6), rel=1e-3)
    assert back.road_seconds > 2.5 * there.road_seconds  # round the block: the one-way street is not taken back


def test_places_off_the_graph_have_no_road_time(roads_engine: Engine, tmp_path: Path) -> None:
    _import(roads_engine, osmfile.river(tmp_path / "town.osm"))
    with roads_engine.connect() as conn:
        far, near = times.travel_times(conn, [(41.0, 29.0), osmfile.SOUTH_TEAM], osmfile.INCIDENT)
        assert far is None and near is not None
        assert times.travel_times(conn, [osmfile.SOUTH_TEAM], (41.0, 29.0)) == [None]
        same = times.travel_times(conn, [osmfile.INCIDENT], osmfile.INCIDENT)[0]
        assert same is not None and same.road_seconds == 0.0
        assert times.travel_times(conn, [], osmfile.INCIDENT) == []


def test_a_bad_file_leaves_the_graph_in_use_as_it_was(roads_engine: Engine, tmp_path: Path) -> None:
    good = _import(roads_engine, osmfile.river(tmp_path / "town.osm"))
    empty = osmfile.write_osm(tmp_path / "fields.osm", {1: (39.0, 32.0), 2: (39.0, 32.1)},
                              [(1, [1, 2], {"highway": "footway"})])
    with pytest.raises(ValidationFailed, match="no drivable roads"):
        _import(roads_engine, empty)
    with roads_engine.connect() as conn:
        assert store.latest(conn) == good
        assert conn.execute(text("SELECT count(*) FROM roads.edges")).scalar() == good.edges


def test_a_second_import_replaces_the_first(roads_engine: Engine, tmp_path: Path) -> None:
    _import(roads_engine, osmfile.river(tmp_path / "town.osm"))
    packed = tmp_path / "small.osm.bz2"
    plain = osmfile.write_osm(tmp_path / "small.osm", {1: (39.0, 32.0), 2: (39.0, 32.01)},
                              [(1, [1, 2], {"highway": "primary"})])
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    second = _import(roads_engine, packed)
    assert (second.vertices, second.edges, second.file_name) == (2, 1, "small.osm.bz2")
    with roads_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roads.edges")).scalar() == 1
        assert store.latest(conn) == second
    _import(roads_engine, osmfile.river(tmp_path / "town.osm"))  # and back: names of the old tables are free


HOSTILE = {
    "text.osm": b"this is not a map\n",
    "truncated.osm": b'<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="39" lon="32"/><way id="1"><nd',
    "laughs.osm": (b'<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY a "aaaaaaaaaa">'
                   + b"".join(f'<!ENTITY {c}{i} "{("&" + (c if i else "a") + str(i - 1) + ";") * 10 if i else "&a;"}">'
                              .encode() for c in "b" for i in range(0, 9))
                   + b']>\n<osm version="0.6"><node id="1" lat="39" lon="32"><tag k="name" v="&b8;"/></node></osm>'),
    "garbage.osm.pbf": b"\x00\x00\x00\x0dOSMHeader" + b"\xff" * 64,
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_with_the_reason(roads_engine: Engine, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    with pytest.raises(ValidationFailed) as caught:
        _import(roads_engine, path)
    assert caught.value.errors[0].field == "file" and name in caught.value.errors[0].message


def test_files_refused_before_reading(tmp_path: Path, roads_engine: Engine) -> None:
    big = osmfile.river(tmp_path / "town.osm")
    with pytest.raises(ValidationFailed, match="more than the limit"):
        _import(roads_engine, big, max_bytes=100)
    with pytest.raises(ValidationFailed, match="not an OpenStreetMap file"):
        _import(roads_engine, big.rename(tmp_path / "town.json"))
    with pytest.raises(ValidationFailed, match="cannot be read"):
        _import(roads_engine, tmp_path / "missing.osm")
    (tmp_path / "empty.osm").write_bytes(b"")
    with pytest.raises(ValidationFailed, match="empty"):
        _import(roads_engine, tmp_path / "empty.osm")
