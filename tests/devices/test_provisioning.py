"""Provisioning devices through the API and the command line: the broker password shown once, the broker's
password and ACL files written, the registry audited without its secrets, drill mode and disabling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kgys.accounts import service as account_service
from kgys.audit.models import AuditEntry
from kgys.cli.main import app
from kgys.config import Settings
from kgys.devices import mosquitto, secrets
from kgys.devices.models import Device
from kgys.devices.mosquitto import Login
from kgys.runtime import Runtime, make_runtime
from kgys.web.app import create_app
from tests import factories


def test_the_acl_keeps_each_device_to_its_own_topics() -> None:
    text = mosquitto.acl_text("kgys-intake", [Login("PB-2", "PB-2", "S2"), Login("PB-1", "PB-1", "S1")])
    blocks = text.split("\n\n")
    assert blocks[1].splitlines() == [
        "user kgys-intake", "topic read kgys/v1/devices/+/press", "topic read kgys/v1/devices/+/heartbeat",
        "topic read kgys/v1/devices/+/cancel", "topic read kgys/v1/devices/+/access",
        "topic write kgys/v1/devices/+/reply", "topic write kgys/v1/sites/+/lockdown",
        "topic read kgys/v1/units/+/position", "topic write kgys/v1/units/+/assignment"]
    assert blocks[2].splitlines() == [
        "user PB-1", "topic write kgys/v1/devices/PB-1/press", "topic write kgys/v1/devices/PB-1/heartbeat",
        "topic write kgys/v1/devices/PB-1/cancel", "topic write kgys/v1/devices/PB-1/access",
        "topic read kgys/v1/devices/PB-1/reply", "topic read kgys/v1/sites/S1/lockdown"]
    assert blocks[3].startswith("user PB-2\n")


def test_secrets_are_kept_as_hashes_that_check() -> None:
    stored = secrets.hash_secret("1234")
    assert "1234" not in stored and secrets.check_secret("1234", stored)
    assert not secrets.check_secret("1235", stored)
    assert not secrets.check_secret("1234", "") and not secrets.check_secret("1234", "md5$x")


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """A client of an app on the test's transaction."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


def _users(path: Path) -> list[str]:
    return [line.split(":", 1)[0] for line in path.read_text().splitlines() if line]


def test_a_school_admin_provisions_a_device_through_the_api(client: TestClient, session: Session,
                                                           rt: Runtime) -> None:
    factories.tree(session)
    site = factories.site(session)
    admin = factories.user(session, "school_admin", scope=["TR-99-A"])
    headers = {"Authorization": "Bearer " + account_service.issue_token(session=session, settings=rt.settings.security,
                                                                        user=admin)}
    session.commit()
    body = {"site": site.code, "serial": "PB-API-1", "kind": "panic", "room": "Oda 3", "cancel_pin": "2468",
            "duress_pin": "1357"}
    r = client.post("/api/v1/devices", json=body, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    password = out["mqtt_password"]
    assert (out["serial"], out["site"], out["mqtt_username"], out["enabled"]) == ("PB-API-1", site.code, "PB-API-1",
                                                                                  True)
    cfg = rt.settings.devices
    passwd, acl = cfg.password_path(rt.settings.data_dir), cfg.acl_path(rt.settings.data_dir)
    assert "PB-API-1" in _users(passwd) and password not in passwd.read_text()
    assert "topic write kgys/v1/devices/PB-API-1/press" in acl.read_text()
    listed = client.get(f"/api/v1/devices?site={site.code}", headers=headers).json()
    assert [d["serial"] for d in listed] == ["PB-API-1"] and "mqtt_password" not in listed[0]
    assert client.post("/api/v1/devices", json=body, headers=headers).status_code == 409
    no_pins = {k: v for k, v in body.items() if not k.endswith("_pin")} | {"serial": "PB-API-2"}
    assert client.post("/api/v1/devices", json=no_pins, headers=headers).status_code == 422
    same = body | {"serial": "PB-API-3", "duress_pin": "2468"}
    assert client.post("/api/v1/devices", json=same, headers=headers).status_code == 422
    device = session.scalars(select(Device).where(Device.serial == "PB-API-1")).one()
    assert secrets.check_secret("2468", device.cancel_pin_hash) and secrets.check_secret(password,
                                                                                         device.mqtt_password_hash)
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "device.create")).all()
    assert entry.object_id == "PB-API-1" and entry.site_id == site.id and entry.actor == admin.username
    assert device.cancel_pin_hash not in entry.details and device.mqtt_password_hash not in entry.details


def test_devices_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rt = make_runtime(Settings(mode="dev", data_dir=data), upgrade=True)
    with rt.sessions.begin() as s:
        factories.tree(s)
        code = factories.site(s).code
    rt.close()
    base = ["--data-dir", str(data), "--mode", "dev"]
    runner = CliRunner()
    added = runner.invoke(app, [*base, "devices", "add", "PB-CLI-1", "--site", code, "--room", "Müdür odası",
                                "--cancel-pin", "1234", "--duress-pin", "9999"])
    assert added.exit_code == 0, added.output
    assert "broker password (shown once):" in added.output
    door = runner.invoke(app, [*base, "devices", "add", "DC-CLI-1", "--site", code, "--kind", "access"])
    assert door.exit_code == 0, door.output
    same = runner.invoke(app, [*base, "devices", "add", "PB-CLI-2", "--site", code, "--cancel-pin", "1234",
                               "--duress-pin", "1234"])
    assert same.exit_code == 2 and "duress PIN must differ" in same.output, same.output
    unknown = runner.invoke(app, [*base, "devices", "add", "PB-CLI-3", "--site", "NOPE", "--cancel-pin", "1234",
                                  "--duress-pin", "9999"])
    assert unknown.exit_code == 1 and "site" in unknown.output, unknown.output
    passwd, acl = data / "mosquitto" / "passwd", data / "mosquitto" / "acl"
    assert sorted(_users(passwd)) == ["DC-CLI-1", "PB-CLI-1"]
    drill = runner.invoke(app, [*base, "devices", "drill", "PB-CLI-1", "--minutes", "30"])
    assert drill.exit_code == 0 and "drill mode until" in drill.output, drill.output
    listing = runner.invoke(app, [*base, "devices", "list"], env={"COLUMNS": "200"})
    assert "PB-CLI-1" in listing.output and "DC-CLI-1" in listing.output, listing.output
    off = runner.invoke(app, [*base, "devices", "disable", "PB-CLI-1"])
    assert off.exit_code == 0, off.output
    assert _users(passwd) == ["DC-CLI-1"] and "PB-CLI-1" not in acl.read_text()
    on = runner.invoke(app, [*base, "devices", "enable", "PB-CLI-1"])
    assert on.exit_code == 0 and "new broker password" in on.output, on.output
    assert "PB-CLI-1" in _users(passwd) and "user PB-CLI-1" in acl.read_text()
