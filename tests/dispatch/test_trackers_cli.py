"""``kgys units tracker`` on the command line: the login issued with its password printed once and written to the
broker's files, issued again with a new password, revoked (the files follow); an unknown unit is an error."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kgys.audit.mechanism import acting_as
from kgys.cli.main import app
from kgys.config import Settings
from kgys.dispatch import service as unit_service
from kgys.dispatch.schemas import UnitIn
from kgys.runtime import make_runtime
from tests import factories


def test_a_tracker_login_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = make_runtime(Settings(mode="dev", data_dir=data), upgrade=True)
    with rt.sessions.begin() as s:
        factories.tree(s)
        actor = factories.admin()
        with acting_as(s, actor):
            unit_service.create_unit(session=s, actor=actor, data=UnitIn(call_sign="99-A-07", kind="patrol_car",
                                                                         district="TR-99-A"))
    rt.close()
    base, runner = ["--data-dir", str(data), "--mode", "dev"], CliRunner()
    passwd, acl = data / "mosquitto" / "passwd", data / "mosquitto" / "acl"
    first = runner.invoke(app, [*base, "units", "tracker", "99-A-07"])
    assert first.exit_code == 0, first.output
    assert "tracker login unit.99-A-07" in first.output and "kgys/v1/units/99-A-07/position" in first.output
    assert "unit.99-A-07:" in passwd.read_text() and "user unit.99-A-07" in acl.read_text()
    again = runner.invoke(app, [*base, "units", "tracker", "99-A-07"])
    assert again.exit_code == 0 and again.output.split("(shown once): ")[1] != first.output.split("(shown once): ")[1]
    revoked = runner.invoke(app, [*base, "units", "tracker", "99-A-07", "--revoke"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output, revoked.output
    assert "unit.99-A-07" not in passwd.read_text() and "unit.99-A-07" not in acl.read_text()
    unknown = runner.invoke(app, [*base, "units", "tracker", "99-Z-99"])
    assert unknown.exit_code == 1 and "No such unit" in unknown.output, unknown.output
