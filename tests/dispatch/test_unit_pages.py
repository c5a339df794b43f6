"""The unit registry pages on both engines: the list with status, position age (stale marked) and field login,
filtered; a supervisor registers a unit and changes it with the version seen (a stale version is shown as a
conflict, bad input named by field and nothing written); the unit's page shows its status history and recent
assignments; the status set by hand out of order is refused in the page; scope answers 404, permissions 403."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.dispatch.models import Unit
from tests import factories
from tests.dispatch.conftest import API, World
from tests.web.conftest import browser_login


def signed_in(client: TestClient, session: Session, role: str, scope: list[str]) -> str:
    """Sign the client in as a new user of ``role``; the CSRF token of the session."""
    user = factories.user(session, role, scope=scope, box=client.app.state.runtime.box)  # type: ignore[attr-defined]
    session.commit()
    browser_login(client, user)
    return client.get("/units").text.split('name="csrf_token" value="')[1].split('"')[0]


def _listed(text: str) -> list[str]:
    return re.findall(r'<tr data-unit="([^"]+)"', text)


def _units(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(Unit)) or 0)


def test_the_list_shows_status_position_age_and_field_login(world: World, session: Session) -> None:
    world.unit("A-01", field_user=world.field_user.username, station="Merkez")
    world.unit("A-02", kind="motorcycle")
    world.unit("B-01", district="TR-99-B")
    assert world.position("A-01", 39.92, age_s=20).status_code == 200
    assert world.position("A-02", 39.92, age_s=900).status_code == 200
    signed_in(world.client, session, "operator", ["TR-99-A"])
    page = world.client.get("/units?lang=en")
    assert page.status_code == 200
    assert _listed(page.text) == ["A-01", "A-02"]  # B-01 is another district's
    row = page.text.split('data-unit="A-01"')[1].split("</tr>")[0]
    assert world.field_user.username in row and "Merkez" in row and 'data-stale="false"' in row
    assert 'data-stale="true"' in page.text.split('data-unit="A-02"')[1].split("</tr>")[0]
    assert _listed(world.client.get("/units?kind=motorcycle").text) == ["A-02"]
    assert _listed(world.client.get("/units?q=01").text) == ["A-01"]
    assert _listed(world.client.get("/units?status=off_duty").text) == []
    assert world.client.get("/units?status=flying&kind=x").status_code == 200
    assert 'id="unit-new"' not in page.text  # an operator does not register units


def test_a_supervisor_registers_a_unit_and_bad_input_is_named(world: World, session: Session) -> None:
    csrf = signed_in(world.client, session, "supervisor", ["TR-99"])
    form = world.client.get("/units/new?lang=en")
    assert form.status_code == 200 and '<option value="TR-99-A"' in form.text
    bad = {"csrf_token": csrf, "call_sign": "A 01!", "kind": "tank", "district": "TR-99-A",
           "capabilities": "First Aid"}
    r = world.client.post("/units/new?lang=en", data=bad)
    assert r.status_code == 422
    assert 'id="err-call_sign"' in r.text and 'id="err-kind"' in r.text and 'id="err-capabilities"' in r.text
    r = world.client.post("/units/new?lang=en", data=bad | {"call_sign": "A-01", "kind": "patrol_car",
                                                           "capabilities": "", "field_user": "nobody"})
    assert r.status_code == 422 and 'id="err-field_user"' in r.text
    r = world.client.post("/units/new?lang=en", data=bad | {"call_sign": "A-01", "kind": "patrol_car",
                                                           "capabilities": "", "district": "TR-98-C"})
    assert r.status_code == 422 and 'id="err-district"' in r.text
    assert _units(session) == 0
    good = {"csrf_token": csrf, "call_sign": "A-01", "kind": "patrol_car", "district": "TR-99-A",
            "station": "Merkez", "capabilities": "first_aid, k9", "members": "Kom. Ali",
            "field_user": world.field_user.username}
    r = world.client.post("/units/new", data=good, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/units/A-01"
    unit = session.scalar(select(Unit).where(Unit.call_sign == "A-01"))
    assert unit is not None and unit.capabilities == ["first_aid", "k9"] and unit.field_user_id == world.field_user.id
    r = world.client.post("/units/new?lang=en", data=good)
    assert r.status_code == 409 and "Not done:" in r.text
    assert _units(session) == 1


def test_changing_a_unit_with_the_version_seen(world: World, session: Session) -> None:
    world.unit("A-01")
    csrf = signed_in(world.client, session, "supervisor", ["TR-99"])
    page = world.client.get("/units/A-01")
    version = page.text.split('name="version" value="')[1].split('"')[0]
    form = {"csrf_token": csrf, "version": version, "kind": "motorcycle", "station": "Kuzey",
            "capabilities": "k9", "members": "", "field_user": ""}
    r = world.client.post("/units/A-01", data=form, follow_redirects=False)
    assert r.status_code == 303
    unit = session.scalar(select(Unit).where(Unit.call_sign == "A-01"))
    assert unit is not None
    session.refresh(unit)
    assert unit.kind == "motorcycle" and unit.station == "Kuzey" and unit.capabilities == ["k9"]
    r = world.client.post("/units/A-01?lang=en", data=form | {"station": "Güney"})  # the version seen is old
    assert r.status_code == 409 and 'id="form-errors"' in r.text and "changed meanwhile" in r.text
    assert 'value="Güney"' in r.text  # what was typed is kept
    r = world.client.post("/units/A-01?lang=en", data=form | {"version": str(unit.version), "station": "x\u202ey"})
    assert r.status_code == 422 and 'id="err-station"' in r.text
    session.refresh(unit)
    assert unit.station == "Kuzey"


def test_the_unit_page_shows_history_and_assignments_and_status_by_hand(world: World, session: Session) -> None:
    world.unit("A-01")
    assert world.position("A-01", 39.925).status_code == 200
    incident = world.incident(world.kades_alert())["number"]
    r = world.client.post(f"{API}/incidents/{incident}/assignments", headers=world.h["op_a"], json={"unit": "A-01"})
    assert r.status_code == 201
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    page = world.client.get("/units/A-01?lang=en")
    assert page.status_code == 200
    assert f'href="/incidents/{incident}"' in page.text
    assert re.findall(r'<tr data-to="([^"]+)"', page.text) == ["busy", "available"]  # newest first
    assert 'id="unit-form"' not in page.text  # an operator does not change the registry
    r = world.client.post("/units/A-01/status?lang=en", data={"csrf_token": csrf, "status": "off_duty"})
    assert r.status_code == 409 and "on an assignment" in r.text
    r = world.client.post("/units/A-01/status?lang=en", data={"csrf_token": csrf, "status": "on_scene"})
    assert r.status_code == 409 and "follows an assignment" in r.text
    r = world.client.post("/units/A-01/status?lang=en", data={"csrf_token": csrf, "status": "asleep"})
    assert r.status_code == 422 and 'id="err-status"' in r.text
    unit = session.scalar(select(Unit).where(Unit.call_sign == "A-01"))
    assert unit is not None and unit.status == "busy"


def test_scope_and_permissions(world: World, session: Session) -> None:
    world.unit("A-01")
    csrf = signed_in(world.client, session, "operator", ["TR-99-B"])
    assert world.client.get("/units/A-01").status_code == 404
    assert world.client.get("/units/NOSUCH").status_code == 404
    assert world.client.get("/units/new").status_code == 403
    assert world.client.post("/units/A-01", data={"csrf_token": csrf, "version": "1", "kind": "motorcycle"}
                             ).status_code == 403
    assert world.client.post("/units/new", data={"csrf_token": csrf, "call_sign": "Z-1", "kind": "patrol_car",
                                                 "district": "TR-99-B"}).status_code == 403
    assert world.client.post("/units/A-01/status", data={"csrf_token": csrf, "status": "busy"}).status_code == 404
    world.client.cookies.clear()
    csrf = signed_in(world.client, session, "supervisor", ["TR-98"])
    assert world.client.get("/units/A-01").status_code == 404
    assert world.client.post("/units/A-01", data={"csrf_token": csrf, "version": "1", "kind": "motorcycle"}
                             ).status_code == 404
    assert "A-01" not in world.client.get("/units").text
    world.client.cookies.clear()
    assert world.client.get("/units", follow_redirects=False).status_code == 303
    unit = session.scalar(select(Unit).where(Unit.call_sign == "A-01"))
    assert unit is not None and unit.kind == "patrol_car" and unit.status == "available"
    assert _units(session) == 1
