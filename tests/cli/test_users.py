"""``kgys users``: the password policy and the last-administrator rule hold on the command line too."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kgys.cli.main import app
from kgys.config import Settings
from kgys.runtime import make_runtime
from tests import factories


def _base(data: Path) -> list[str]:
    rt = make_runtime(Settings(mode="dev", data_dir=data), upgrade=True)
    with rt.sessions.begin() as s:
        factories.tree(s)
    rt.close()
    return ["--data-dir", str(data), "--mode", "dev"]


def test_users_on_the_command_line(tmp_path: Path) -> None:
    base = _base(tmp_path / "data")
    runner = CliRunner()
    weak = runner.invoke(app, [*base, "users", "create", "ayse", "--role", "admin", "--scope", "TR",
                               "--password", "Password123!"])
    assert weak.exit_code == 1 and "password: The password is too easy to guess" in weak.output, weak.output
    made = runner.invoke(app, [*base, "users", "create", "ayse", "--role", "admin", "--scope", "TR",
                               "--password", "copper-lantern-39-fjord"])
    assert made.exit_code == 0, made.output
    for args in (["disable", "ayse"], ["update", "ayse", "--role", "auditor"], ["update", "ayse", "--scope", "TR-99"]):
        r = runner.invoke(app, [*base, "users", *args])
        assert r.exit_code == 1 and "last active administrator" in r.output, (args, r.output)
    second = runner.invoke(app, [*base, "users", "create", "mehmet", "--role", "admin", "--scope", "TR",
                                 "--password", "violet-summit-27-brook"])
    assert second.exit_code == 0, second.output
    moved = runner.invoke(app, [*base, "users", "update", "ayse", "--role", "auditor", "--scope", "TR-99"])
    assert moved.exit_code == 0, moved.output
    listing = runner.invoke(app, [*base, "users", "list"])
    assert "auditor" in listing.output and "TR-99" in listing.output
