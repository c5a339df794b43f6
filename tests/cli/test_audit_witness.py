"""``kgys audit`` with a witness folder: checkpoints reach it, and a log cut back to an earlier checkpoint —
which plain verification cannot tell — fails against it; a too long unsigned tail fails plain verification."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from kgys.audit import service as audit_service
from kgys.cli.main import app
from kgys.config import load_settings
from kgys.runtime import make_runtime
from tests import factories


def _append(config: Path, data: Path, n: int) -> None:
    rt = make_runtime(load_settings(config, mode="dev", data_dir=data), upgrade=True)
    with rt.sessions.begin() as s:
        for i in range(n):
            audit_service.append(s, actor=factories.admin(), action="site.update", object_type="site",
                                 object_id=f"S{i}", reason="düzeltme")
    rt.close()


def _out(result: Result) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def test_a_witness_folder_catches_a_log_cut_back_to_an_earlier_checkpoint(tmp_path: Path) -> None:
    data, board = tmp_path / "data", tmp_path / "board"
    config = tmp_path / "kgys.toml"
    config.write_text(f'[audit]\nwitnesses = [{{ type = "directory", name = "board", path = "{board}" }}]\n',
                      encoding="utf-8")
    runner = CliRunner()
    base = ["--config", str(config), "--data-dir", str(data), "--mode", "dev"]

    _append(config, data, 10)
    r = runner.invoke(app, [*base, "audit", "checkpoint"])
    assert r.exit_code == 0, r.output
    assert "checkpoint at entry 10" in _out(r) and "handed 1 checkpoint record(s)" in _out(r)
    _append(config, data, 5)
    assert "checkpoint at entry 15" in _out(runner.invoke(app, [*base, "audit", "checkpoint"]))
    assert len((board / "kgys-checkpoints.jsonl").read_text(encoding="utf-8").splitlines()) == 2
    assert "handed 0 checkpoint record(s) to witnesses; 0 still owed" in _out(runner.invoke(
        app, [*base, "audit", "deliver"]))

    r = runner.invoke(app, [*base, "audit", "verify", "--witness", str(board)])
    assert r.exit_code == 0, r.output
    assert "2 held by witnesses" in _out(r)

    _append(config, data, 3)  # an unsigned tail of 3
    r = runner.invoke(app, [*base, "audit", "verify", "--max-tail-entries", "2"])
    assert r.exit_code == 1
    assert "entry 16 (unsigned)" in _out(r) and "more than the 2 allowed" in _out(r)

    db = sqlite3.connect(data / "kgys.db")  # the owner cuts the log back to checkpoint 10
    db.executescript("DROP TRIGGER audit_entries_no_delete; DROP TRIGGER audit_checkpoints_no_delete;"
                     "DELETE FROM audit_entries WHERE seq > 10; DELETE FROM audit_checkpoints WHERE seq > 10;")
    db.close()
    r = runner.invoke(app, [*base, "audit", "verify"])
    assert r.exit_code == 0, r.output  # nothing in the database itself tells
    r = runner.invoke(app, [*base, "audit", "verify", "--witness", str(board)])
    assert r.exit_code == 1
    assert "entry 15 (witness)" in _out(r) and "not in the database" in _out(r)

    pub = tmp_path / "pub.pem"
    pub.write_text(runner.invoke(app, [*base, "audit", "public-key"]).output)
    export = tmp_path / "audit.jsonl"
    assert runner.invoke(app, [*base, "audit", "export", str(export)]).exit_code == 0
    r = runner.invoke(app, ["audit", "verify", "--file", str(export), "--public-key", str(pub),
                            "--witness", str(board / "kgys-checkpoints.jsonl")])
    assert r.exit_code == 1  # an outsider with the export and the witness's copy sees it too
    assert "entry 15 (witness)" in _out(r)


def test_a_witness_that_cannot_be_read_stops_verification(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "--mode", "dev", "audit", "verify",
                                 "--witness", str(tmp_path / "missing")])
    assert r.exit_code == 2
    assert "witness" in _out(r)
