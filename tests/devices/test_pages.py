"""The devices pages: the list within the user's scope with each device's signs of life, the form that adds one
(its password shown once, bad input named by field with nothing written), the moves on a device with their CSRF
token, and a device or site of another district answered 404."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts.models import User
from kgys.audit.mechanism import acting_as
from kgys.db import utcnow
from kgys.devices import secrets
from kgys.devices.flows import registry
from kgys.devices.kinds import DeviceKind
from kgys.devices.models import Device, DeviceStatus
from kgys.devices.schemas import DeviceIn
from kgys.runtime import Runtime
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories
from tests.web.conftest import browser_login
from tests.web.test_pages import html


@dataclass
class World:
    """Sites in TR-99-A and TR-99-B with a device each; users of TR-99-A."""

    a: Site
    b: Site
    users: dict[str, User]


def _add(session: Session, site: Site, serial: str, kind: DeviceKind = DeviceKind.PANIC, **kw: object) -> Device:
    pins = {"cancel_pin": "1234", "duress_pin": "9999"} if kind is DeviceKind.PANIC else {}
    actor = factories.admin()
    with acting_as(session, actor):
        row, _password = registry.provision(session=session, actor=actor, data=DeviceIn(
            site=site.code, serial=serial, kind=kind, **pins, **kw))  # type: ignore[arg-type]
    return row.device


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """A browser-like client of an app on the test's transaction."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def world(session: Session) -> World:
    factories.tree(session)
    a = factories.site(session, "TR-99-A", name="Merkez İlkokulu")
    b = factories.site(session, "TR-99-B", name="Sahil Ortaokulu")
    heard = _add(session, a, "PB-A-0001", room="Müdür odası", heartbeat_seconds=60)
    session.add(DeviceStatus(device_id=heard.id, last_seen_at=utcnow() - timedelta(seconds=30), firmware="2.1.0",
                             battery=81))
    silent = _add(session, a, "DC-A-0002", DeviceKind.ACCESS, heartbeat_seconds=60)
    session.add(DeviceStatus(device_id=silent.id, last_seen_at=utcnow() - timedelta(hours=2), firmware="1.0"))
    _add(session, b, "PB-B-0001")
    users = {role: factories.user(session, role, scope=["TR-99-A"])
             for role in ("school_admin", "operator", "auditor")}
    session.commit()
    return World(a, b, users)


def _devices(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Device)) or 0)


def _csrf(web: TestClient, path: str) -> str:
    return web.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_list_shows_the_scope_s_devices_with_their_signs_of_life(client: TestClient, world: World) -> None:
    browser_login(client, world.users["operator"])
    page = html(client.get("/devices").text)
    rows = {r.attrs["data-serial"]: r for r in page.all("tr") if "data-serial" in r.attrs}
    assert set(rows) == {"PB-A-0001", "DC-A-0002"}  # not the device of TR-99-B
    heard, silent = rows["PB-A-0001"], rows["DC-A-0002"]
    assert (heard.attrs["data-online"], silent.attrs["data-online"]) == ("online", "offline")
    assert "81 %" in heard.text() and "2.1.0" in heard.text() and "Müdür odası" in heard.text()
    assert world.a.code in heard.text()
    assert page.all("a", href="/devices")  # in the menu
    assert not page.all("form", id="disable-PB-A-0001")  # an operator reads, does not change
    assert not page.all("a", id="new-device")
    one_site = html(client.get("/devices", params={"site": world.a.code}).text)
    assert len([r for r in one_site.all("tr") if "data-serial" in r.attrs]) == 2
    site_page = html(client.get(f"/sites/{world.a.code}").text)
    assert site_page.one("a", id="site-devices").attrs["href"] == f"/devices?site={world.a.code}"


def test_another_district_is_answered_as_if_it_did_not_exist(client: TestClient, world: World,
                                                            session: Session) -> None:
    browser_login(client, world.users["school_admin"])
    csrf = _csrf(client, "/devices")
    assert client.get("/devices", params={"site": world.b.code}).status_code == 404
    assert client.get("/devices", params={"site": "NO-SUCH-SITE"}).status_code == 404
    for action in ("disable", "enable", "drill"):
        r = client.post(f"/devices/PB-B-0001/{action}", data={"csrf_token": csrf, "minutes": "30"})
        assert r.status_code == 404, (action, r.text[:300])
        assert client.post(f"/devices/PB-NONE-1/{action}", data={"csrf_token": csrf, "minutes": "30"}
                           ).status_code == 404
    other = session.scalar(select(Device).where(Device.serial == "PB-B-0001"))
    assert other is not None and other.enabled and other.drill_until is None
    r = client.post("/devices/new", data={"csrf_token": csrf, "site": world.b.code, "serial": "PB-X-0001",
                                          "kind": "panic", "cancel_pin": "1111", "duress_pin": "2222"})
    assert r.status_code == 422
    assert [n.attrs["id"] for n in html(r.text).all(cls="field-error")] == ["err-site"]
    assert _devices(session) == 3


def test_who_may_not_see_devices_has_no_menu_entry_and_is_refused(client: TestClient, world: World) -> None:
    browser_login(client, world.users["auditor"])
    assert not html(client.get("/audit").text).all("a", href="/devices")
    assert client.get("/devices").status_code == 403


def test_a_device_is_added_through_the_form_and_its_password_shown_once(client: TestClient, world: World,
                                                                        session: Session, rt: Runtime) -> None:
    browser_login(client, world.users["school_admin"])
    form = html(client.get("/devices/new", params={"site": world.a.code}).text).one("form", id="device-form")
    values = {i.attrs["name"]: i.attrs.get("value", "") for i in form.all("input")}
    assert values["site"] == world.a.code
    filled = values | {"serial": "PB-A-0042", "kind": "panic", "room": "Kapı 2", "heartbeat_seconds": "120",
                       "cancel_pin": "2468", "duress_pin": "1357"}
    no_token = client.post("/devices/new", data={k: v for k, v in filled.items() if k != "csrf_token"})
    assert no_token.status_code == 403 and _devices(session) == 3
    r = client.post("/devices/new", data=filled)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["cache-control"] == "no-store"
    password = html(r.text).one("code", id="device-password").text()
    device = session.scalar(select(Device).where(Device.serial == "PB-A-0042"))
    assert device is not None and (device.site_id, device.room, device.heartbeat_seconds) == (world.a.id, "Kapı 2",
                                                                                              120)
    assert secrets.check_secret(password, device.mqtt_password_hash)
    assert secrets.check_secret("2468", device.cancel_pin_hash) and secrets.check_secret("1357",
                                                                                       device.duress_pin_hash)
    assert "PB-A-0042:" in rt.settings.devices.password_path(rt.settings.data_dir).read_text()
    listed = client.get("/devices", params={"site": world.a.code}).text
    assert "PB-A-0042" in listed and password not in listed  # shown once, never again
    again = client.post("/devices/new", data=filled)
    assert again.status_code == 409
    assert [n.attrs["id"] for n in html(again.text).all(cls="field-error")] == ["err-serial"]


@pytest.mark.parametrize(("change", "field"), [
    pytest.param({"serial": "x"}, "serial", id="serial too short"),
    pytest.param({"serial": "PB 0001"}, "serial", id="serial with a space"),
    pytest.param({"site": ""}, "site", id="no site"),
    pytest.param({"kind": "camera"}, "kind", id="unknown kind"),
    pytest.param({"heartbeat_seconds": "5"}, "heartbeat_seconds", id="heartbeat too short"),
    pytest.param({"heartbeat_seconds": "soon"}, "heartbeat_seconds", id="heartbeat not a number"),
    pytest.param({"cancel_pin": ""}, "cancel_pin", id="panic button without a cancel PIN"),
    pytest.param({"cancel_pin": "12a4"}, "cancel_pin", id="PIN with a letter"),
    pytest.param({"duress_pin": "2468"}, "duress_pin", id="duress PIN equal to the cancel PIN"),
    pytest.param({"room": "Oda\u202e1"}, "room", id="room with a direction override"),
])
def test_bad_form_input_names_the_field_and_writes_nothing(client: TestClient, world: World, session: Session,
                                                           change: dict[str, str], field: str) -> None:
    browser_login(client, world.users["school_admin"])
    csrf = _csrf(client, "/devices")
    filled = {"csrf_token": csrf, "site": world.a.code, "serial": "PB-A-0077", "kind": "panic", "room": "Oda 1",
              "heartbeat_seconds": "60", "cancel_pin": "2468", "duress_pin": "1357"} | change
    r = client.post("/devices/new", data=filled)
    assert r.status_code == 422, r.text[:300]
    page = html(r.text)
    assert [n.attrs["id"] for n in page.all(cls="field-error")] == [f"err-{field}"]
    assert page.one("input", name="serial").attrs["value"] == filled["serial"]
    assert page.one("input", name="cancel_pin").attrs.get("value", "") == ""  # PINs are not sent back
    assert _devices(session) == 3


def test_a_door_controller_needs_no_pins(client: TestClient, world: World, session: Session) -> None:
    browser_login(client, world.users["school_admin"])
    csrf = _csrf(client, "/devices")
    r = client.post("/devices/new", data={"csrf_token": csrf, "site": world.a.code, "serial": "DC-A-0100",
                                          "kind": "access", "heartbeat_seconds": ""})
    assert r.status_code == 200, r.text[:300]
    device = session.scalar(select(Device).where(Device.serial == "DC-A-0100"))
    assert device is not None and (device.kind, device.heartbeat_seconds, device.cancel_pin_hash) == (
        "access", 60, "")


def test_disable_enable_and_drill_from_the_list(client: TestClient, world: World, session: Session,
                                               rt: Runtime) -> None:
    browser_login(client, world.users["school_admin"])
    passwd = rt.settings.devices.password_path(rt.settings.data_dir)
    csrf = _csrf(client, "/devices")
    assert client.post("/devices/PB-A-0001/disable", data={}).status_code == 403  # no CSRF token
    r = client.post("/devices/PB-A-0001/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/devices?site={world.a.code}&saved=disabled"
    row = html(client.get(r.headers["location"]).text).one("tr", id="device-PB-A-0001")
    assert row.attrs["data-enabled"] == "no" and row.all("form", id="enable-PB-A-0001")
    acl = rt.settings.devices.acl_path(rt.settings.data_dir).read_text()
    assert "user PB-A-0001" not in acl and "user DC-A-0002" in acl

    r = client.post("/devices/PB-A-0001/enable", data={"csrf_token": csrf})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    password = html(r.text).one("code", id="device-password").text()
    device = session.scalar(select(Device).where(Device.serial == "PB-A-0001"))
    assert device is not None and device.enabled and secrets.check_secret(password, device.mqtt_password_hash)
    assert "PB-A-0001:" in passwd.read_text()

    for bad in ("soon", "-5", "1441"):
        r = client.post("/devices/PB-A-0001/drill", data={"csrf_token": csrf, "minutes": bad})
        assert r.status_code == 422, bad
        assert [n.attrs["id"] for n in html(r.text).all(cls="field-error")] == ["err-drill-PB-A-0001"]
        session.refresh(device)
        assert device.drill_until is None
    r = client.post("/devices/PB-A-0001/drill", data={"csrf_token": csrf, "minutes": "45"}, follow_redirects=False)
    assert r.status_code == 303
    session.refresh(device)
    assert device.drill_until is not None
    assert timedelta(minutes=44) < device.drill_until - utcnow() <= timedelta(minutes=45)
    shown = html(client.get("/devices").text).one("tr", id="device-PB-A-0001").text()
    assert localtime.shown(device.drill_until, ZoneInfo("Europe/Istanbul"), "%Y-%m-%d %H:%M") in shown


def test_an_operator_may_not_change_devices(client: TestClient, world: World, session: Session) -> None:
    browser_login(client, world.users["operator"])
    csrf = _csrf(client, "/devices")
    assert client.get("/devices/new").status_code == 403
    assert client.post("/devices/PB-A-0001/disable", data={"csrf_token": csrf}).status_code == 403
    assert client.post("/devices/new", data={"csrf_token": csrf, "site": world.a.code, "serial": "DC-A-0200",
                                             "kind": "access"}).status_code == 403
    assert _devices(session) == 3
