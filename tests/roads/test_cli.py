"""``kgys roads``: import a town's roads, see what is loaded, ask a travel time; audited; refused on SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kgys.audit.models import AuditEntry
from kgys.cli.main import app
from kgys.config import Settings
from kgys.runtime import make_runtime
from tests.conftest import _pg_create, _pg_drop
from tests.roads import osmfile


@pytest.fixture
def pg_data(tmp_path: Path) -> Iterator[list[str]]:
    name = f"kgys_roads_cli_{tmp_path.name[-20:].replace('-', '_')}"
    url = _pg_create(name)
    rt = make_runtime(Settings(mode="dev", data_dir=tmp_path / "data", database={"url": url}), upgrade=True)
    rt.close()
    try:
        yield ["--data-dir", str(tmp_path / "data"), "--mode", "dev", "--database-url", url]
    finally:
        _pg_drop(name)


@pytest.mark.postgres
def test_import_status_and_time(pg_data: list[str], tmp_path: Path) -> None:
    runner = CliRunner()
    none = runner.invoke(app, [*pg_data, "roads", "status"])
    assert none.exit_code == 0 and "straight-line" in none.output, none.output
    town = osmfile.river(tmp_path / "town.osm")
    done = runner.invoke(app, [*pg_data, "roads", "import", str(town)])
    assert done.exit_code == 0, done.output
    assert "6 junctions, 5 road sections" in done.output and "not_drivable: 1" in done.output
    status = runner.invoke(app, [*pg_data, "roads", "status"])
    assert "town.osm" in status.output and "5 road sections" in status.output
    south = runner.invoke(app, [*pg_data, "roads", "time", "39.8899,32.87", "39.9,32.85"])
    north = runner.invoke(app, [*pg_data, "roads", "time", "39.9101,32.85", "39.9,32.85"])
    assert south.exit_code == 0 and north.exit_code == 0, (south.output, north.output)
    minutes = [float(r.output.split(" min by road")[0]) for r in (south, north)]
    assert minutes[0] < minutes[1]
    bad = runner.invoke(app, [*pg_data, "roads", "time", "north", "39.9,32.85"])
    assert bad.exit_code == 2 and "from: expected LAT,LON" in bad.output
    (tmp_path / "bad.osm").write_text("<osm><way", encoding="utf-8")
    refused = runner.invoke(app, [*pg_data, "roads", "import", str(tmp_path / "bad.osm")])
    assert refused.exit_code == 1 and "file: bad.osm: not a readable OpenStreetMap file" in refused.output
    rt = make_runtime(Settings(mode="dev", data_dir=tmp_path / "data",
                               database={"url": pg_data[pg_data.index("--database-url") + 1]}))
    try:
        with rt.sessions() as s:
            entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "roads.import")).all()
        assert len(entries) == 1 and entries[0].actor.startswith("cli:")
        assert json.loads(entries[0].details)["edges"] == 5
    finally:
        rt.close()


def test_refused_on_sqlite_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    make_runtime(Settings(mode="dev", data_dir=data), upgrade=True).close()
    r = CliRunner().invoke(app, ["--data-dir", str(data), "--mode", "dev", "roads", "import",
                                 str(osmfile.river(tmp_path / "town.osm"))])
    assert r.exit_code == 1 and "need PostgreSQL with PostGIS and pgRouting" in r.output, r.output
