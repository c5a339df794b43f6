"""Units over the API, on both engines: registered in a district of one's scope, positions taken only when they
make sense (inside Türkiye, not from the future, not too old: each refusal names its field), status by hand in
order only, every change audited, and another district's unit answered as one that does not exist."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kgys.audit.models import AuditEntry
from tests import factories
from tests.dispatch.conftest import API, World


def test_a_unit_is_registered_and_reports_its_position(world: World) -> None:
    unit = world.unit("99-A-01", capabilities=["first_aid", "first_aid"], station="Merkez Karakolu",
                      members="Kom. Yılmaz, Pol. Demir", field_user=world.field_user.username)
    assert (unit["status"], unit["district"], unit["capabilities"], unit["field_user"]) == (
        "available", "TR-99-A", ["first_aid"], world.field_user.username)
    r = world.position("99-A-01", 39.93)
    assert r.status_code == 200, r.text
    pos = r.json()["position"]
    assert (pos["latitude"], pos["accuracy_m"], pos["stale"]) == (39.93, 10, False)
    listed = world.client.get(f"{API}/units", headers=world.h["op_a"]).json()
    assert [u["call_sign"] for u in listed] == ["99-A-01"] and listed[0]["position"]["latitude"] == 39.93
    entries = world.session.scalars(select(AuditEntry.action).where(AuditEntry.object_id == "99-A-01")).all()
    assert "unit.create" in entries


def test_a_call_sign_is_taken_once(world: World) -> None:
    world.unit("99-A-01")
    r = world.client.post(f"{API}/units", headers=world.h["sup"],
                          json={"call_sign": "99-A-01", "kind": "motorcycle", "district": "TR-99-A"})
    assert r.status_code == 409 and "99-A-01" in r.json()["error"]["message"]


@pytest.mark.parametrize(("lat", "lon", "age_s", "field"), [
    (48.85, 2.35, 5, "latitude"),           # Paris
    (39.93, 50.0, 5, "longitude"),          # east of the border
    (39.93, 32.85, -120, "reported_at"),    # two minutes in the future
    (39.93, 32.85, 7200, "reported_at"),    # two hours old
])
def test_bad_positions_are_refused_naming_the_field(world: World, lat: float, lon: float, age_s: float,
                                                    field: str) -> None:
    world.unit("99-A-01")
    r = world.position("99-A-01", lat, lon, age_s=age_s)
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]
    assert world.client.get(f"{API}/units/99-A-01", headers=world.h["op_a"]).json()["position"] is None


def test_a_position_without_offset_or_of_an_unknown_unit(world: World) -> None:
    world.unit("99-A-01")
    naive = datetime.now(UTC).replace(tzinfo=None).isoformat()
    r = world.client.post(f"{API}/units/99-A-01/position", headers=world.h["op_a"],
                          json={"latitude": 39.93, "longitude": 32.85, "reported_at": naive})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reported_at"
    r = world.client.post(f"{API}/units/NO-SUCH/position", headers=world.h["op_a"],
                          json={"latitude": 39.93, "longitude": 32.85, "reported_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 404


def test_an_older_report_does_not_replace_a_newer_one(world: World) -> None:
    world.unit("99-A-01")
    assert world.position("99-A-01", 39.93, age_s=5).status_code == 200
    r = world.position("99-A-01", 39.99, age_s=60)  # arrived late
    assert r.status_code == 200 and r.json()["position"]["latitude"] == 39.93


def test_status_by_hand_in_order_only(world: World) -> None:
    world.unit("99-A-01")
    url = f"{API}/units/99-A-01/status"
    r = world.client.post(url, headers=world.h["op_a"], json={"status": "on_scene"})
    assert r.status_code == 409 and "follows an assignment" in r.json()["error"]["message"]
    r = world.client.post(url, headers=world.h["op_a"], json={"status": "off_duty", "note": "vardiya bitti"})
    assert r.status_code == 200 and r.json()["status"] == "off_duty"
    r = world.client.post(url, headers=world.h["op_a"], json={"status": "off_duty"})
    assert r.status_code == 409 and "already" in r.json()["error"]["message"]
    r = world.client.post(url, headers=world.h["op_a"], json={"status": "flying"})
    assert r.status_code == 422
    history = world.client.get(f"{API}/units/99-A-01/history", headers=world.h["op_a"]).json()
    assert [(c["from_status"], c["to_status"]) for c in history] == [("available", "off_duty"), (None, "available")]
    assert history[0]["note"] == "vardiya bitti"


def test_changes_are_compare_and_set(world: World) -> None:
    unit = world.unit("99-A-01")
    url = f"{API}/units/99-A-01"
    r = world.client.patch(url, headers=world.h["sup"], json={"version": unit["version"], "members": "Pol. Kaya"})
    assert r.status_code == 200 and r.json()["members"] == "Pol. Kaya"
    r = world.client.patch(url, headers=world.h["sup"], json={"version": unit["version"], "members": "eski"})
    assert r.status_code == 409
    assert world.client.get(url, headers=world.h["op_a"]).json()["members"] == "Pol. Kaya"
    r = world.client.patch(url, headers=world.h["op_a"], json={"version": 2, "members": "x"})
    assert r.status_code == 403  # operators send units, supervisors manage them


def test_another_districts_unit_is_not_there(world: World) -> None:
    world.unit("99-B-01", district="TR-99-B")
    assert world.client.get(f"{API}/units/99-B-01", headers=world.h["op_a"]).status_code == 404
    assert world.client.get(f"{API}/units", headers=world.h["op_a"]).json() == []
    assert world.position("99-B-01", 39.93).status_code == 404
    r = world.client.post(f"{API}/units", headers=world.h["op_b"],
                          json={"call_sign": "X", "kind": "patrol_car", "district": "TR-99-B"})
    assert r.status_code == 403
    r = world.client.post(f"{API}/units", headers=world.h["sup"],
                          json={"call_sign": "X", "kind": "patrol_car", "district": "TR-98-C"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "district"


def test_a_field_login_speaks_for_its_own_unit_only(world: World) -> None:
    world.unit("99-A-01", field_user=world.field_user.username)
    world.unit("99-A-02")
    assert world.position("99-A-01", 39.93, who="field").status_code == 200
    assert world.position("99-A-02", 39.93, who="field").status_code == 404
    assert world.position("99-A-01", 39.93, who="other_field").status_code == 404
    r = world.client.post(f"{API}/units/99-A-01/status", headers=world.h["field"], json={"status": "busy"})
    assert r.status_code == 200 and r.json()["status"] == "busy"
    assert world.client.get(f"{API}/units", headers=world.h["field"]).status_code == 403
    assert world.client.get(f"{API}/units/99-A-01/assignments", headers=world.h["field"]).json() == []


def test_a_field_login_is_linked_within_its_scope_and_its_steps_are_its_own_in_the_audit_log(world: World) -> None:
    far = factories.user(world.session, "field_unit", scope=["TR-98-C"])
    world.session.commit()
    for name, field_msg in ((far.username, "does not cover"), ("no-such-login", "no field login")):
        r = world.client.post(f"{API}/units", headers=world.h["sup"], json={
            "call_sign": "X-1", "kind": "patrol_car", "district": "TR-99-A", "field_user": name})
        assert r.status_code == 422 and field_msg in r.text and r.json()["error"]["fields"][0]["field"] == "field_user"
    unit = world.unit("99-A-01")
    r = world.client.patch(f"{API}/units/99-A-01", headers=world.h["sup"],
                           json={"version": unit["version"], "field_user": world.field_user.username})
    assert r.status_code == 200 and r.json()["field_user"] == world.field_user.username
    assert world.client.post(f"{API}/units/99-A-01/status", headers=world.h["field"],
                             json={"status": "off_duty"}).status_code == 200
    entry = world.session.scalars(select(AuditEntry).where(AuditEntry.object_id == "99-A-01")
                                  .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.actor == world.field_user.username and entry.action == "unit.update"


def test_stale_is_shown(world: World) -> None:
    world.unit("99-A-01")
    world.position("99-A-01", 39.93, age_s=400)
    assert world.client.get(f"{API}/units/99-A-01", headers=world.h["op_a"]).json()["position"]["stale"] is True
    fresh = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    world.client.post(f"{API}/units/99-A-01/position", headers=world.h["op_a"],
                      json={"latitude": 39.93, "longitude": 32.85, "reported_at": fresh})
    assert world.client.get(f"{API}/units/99-A-01", headers=world.h["op_a"]).json()["position"]["stale"] is False
