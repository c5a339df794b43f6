"""The assignment loop over the API, on both engines: a KADES press becomes an incident, units are recommended in
travel-time order with their reasons (a stale one and one lacking a capability left out, saying why), the
operator assigns (unit busy, alert dispatched, in one transaction), a second operator sending the same unit is
refused, the field login moves its own assignment in order only, response times are kept, the incident closes
and its alert is resolved; an unacknowledged assignment escalates into a P2 alert once; scope applies."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kgys import jobs
from kgys.alerts import raising
from kgys.alerts.models import Alert
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.audit.mechanism import acting_as
from kgys.audit.models import AuditEntry
from kgys.db import utcnow
from kgys.dispatch.flows import escalation
from kgys.dispatch.models import Unit
from kgys.errors import Conflict
from kgys.incidents.models import Incident
from kgys.runtime import Runtime
from tests import factories
from tests.dispatch.conftest import API, World


def _units(world: World) -> None:
    """Four units around the place: near, far, near but stale, a domestic-violence team in between."""
    world.unit("NEAR", field_user=world.field_user.username)
    world.unit("FAR")
    world.unit("STALE")
    world.unit("DV", kind="domestic_violence_team", capabilities=["domestic_violence"])
    for call, lat, age in (("NEAR", 39.925, 5), ("FAR", 39.99, 5), ("STALE", 39.921, 900), ("DV", 39.95, 5)):
        assert world.position(call, lat, age_s=age).status_code == 200


def test_a_kades_press_becomes_an_incident_with_units_recommended_in_eta_order(world: World) -> None:
    _units(world)
    alert = world.kades_alert()
    inc = world.incident(alert)
    assert (inc["priority"], inc["state"], inc["alerts"], inc["district"]) == (1, "open", [alert.id], "TR-99-A")
    assert (inc["latitude"], inc["longitude"]) == (39.92, 32.85)  # the press's position
    world.session.refresh(alert)
    assert alert.state == "acknowledged"
    r = world.client.get(f"{API}/incidents/{inc['number']}/recommendations", headers=world.h["op_a"])
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["model"] == "straight_line"
    ranked = [u["call_sign"] for u in rec["units"] if u["rank"] is not None]
    assert ranked == ["NEAR", "DV", "FAR"]
    etas = [u["eta_seconds"] for u in rec["units"] if u["rank"] is not None]
    assert etas == sorted(etas) and etas[0] > 0
    near = rec["units"][0]
    assert any("km/h" in x for x in near["reasons"]) and any(x.startswith("ETA") for x in near["reasons"])
    stale = next(u for u in rec["units"] if u["call_sign"] == "STALE")
    assert (stale["rank"], stale["excluded"]) == (None, "stale") and "stale after 300 s" in stale["reasons"][0]
    r = world.client.get(f"{API}/incidents/{inc['number']}/recommendations?require=domestic_violence",
                         headers=world.h["op_a"])
    units = r.json()["units"]
    assert [u["call_sign"] for u in units if u["rank"]] == ["DV"]
    assert {u["call_sign"]: u["excluded"] for u in units if not u["rank"]} == {
        "NEAR": "missing_capability", "FAR": "missing_capability", "STALE": "missing_capability"}


def test_an_alert_goes_into_one_open_incident(world: World) -> None:
    alert = world.kades_alert()
    world.incident(alert)
    r = world.client.post(f"{API}/incidents", headers=world.h["op_a"],
                          json={"alerts": [alert.id], "category": "violence"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "alerts.0"
    r = world.client.post(f"{API}/incidents", headers=world.h["op_a"], json={"alerts": [987654], "category": "other"})
    assert r.status_code == 422 and "no such alert" in r.text


def test_assigning_moves_unit_incident_and_alert_together(world: World) -> None:
    _units(world)
    alert = world.kades_alert()
    number = world.incident(alert)["number"]
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"], json={"unit": "NEAR"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "assigned"
    world.session.refresh(alert)
    assert alert.state == "dispatched"
    assert world.client.get(f"{API}/units/NEAR", headers=world.h["op_a"]).json()["status"] == "busy"
    inc = world.client.get(f"{API}/incidents/{number}", headers=world.h["op_a"]).json()
    assert inc["state"] == "dispatched" and inc["response"]["to_dispatch"] is not None
    assert [e["kind"] for e in inc["timeline"]][:2] == ["created", "assigned"]
    # the same unit again, by a second operator who saw it available a moment ago
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a2"], json={"unit": "NEAR"})
    assert r.status_code == 409 and "NEAR" in r.json()["error"]["message"]
    # a second unit to the same incident: the alert stays dispatched
    assert world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a2"],
                             json={"unit": "FAR"}).status_code == 201
    actions = set(world.session.scalars(select(AuditEntry.action)).all())
    assert {"incident.create", "assignment.create", "unit.update", "alert.dispatch"} <= actions


def test_of_two_operators_sending_a_unit_at_once_one_wins(world: World) -> None:
    """Both read the unit available at version v; the second write finds the version moved on."""
    _units(world)
    first = world.incident(world.kades_alert())["number"]
    second_alert = world.kades_alert()
    second_alert_id = second_alert.id
    r = world.client.post(f"{API}/incidents", headers=world.h["op_a2"],
                          json={"alerts": [second_alert_id], "category": "violence"})
    second = r.json()["number"]
    seen = world.client.get(f"{API}/units/NEAR", headers=world.h["op_a"]).json()["version"]
    ok = world.client.post(f"{API}/incidents/{first}/assignments", headers=world.h["op_a"],
                           json={"unit": "NEAR", "unit_version": seen})
    late = world.client.post(f"{API}/incidents/{second}/assignments", headers=world.h["op_a2"],
                             json={"unit": "NEAR", "unit_version": seen})
    assert (ok.status_code, late.status_code) == (201, 409)
    assert world.client.get(f"{API}/incidents/{second}", headers=world.h["op_a"]).json()["state"] == "open"


def test_the_unit_row_is_compare_and_set_in_the_database(world: World) -> None:
    """A write based on a unit read before another transaction changed it is refused, whatever the code checked."""
    from kgys.dispatch import service

    world.unit("NEAR")
    unit = world.session.scalars(select(Unit).where(Unit.call_sign == "NEAR")).one()
    world.session.execute(Unit.__table__.update().where(Unit.id == unit.id).values(version=unit.version + 1))
    try:
        service.change_status(world.session, factories.admin(), unit, service.UnitStatus.BUSY)
    except Conflict as exc:
        assert "changed meanwhile" in exc.message
    else:
        raise AssertionError("a stale write went through")
    world.session.rollback()


def test_the_field_login_moves_its_assignment_in_order_and_times_are_kept(world: World) -> None:
    _units(world)
    alert = world.kades_alert()
    number = world.incident(alert)["number"]
    a = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"],
                          json={"unit": "NEAR"}).json()
    base = f"{API}/incidents/{number}/assignments/{a['id']}"
    r = world.client.post(f"{base}/on_scene", headers=world.h["field"], json={})
    assert r.status_code == 409 and "report en route first" in r.json()["error"]["message"]
    assert world.client.post(f"{base}/acknowledge", headers=world.h["other_field"], json={}).status_code == 404
    assert world.client.post(f"{base}/cancel", headers=world.h["field"], json={}).status_code == 403
    mine = world.client.get(f"{API}/units/NEAR/assignments", headers=world.h["field"]).json()
    assert [(x["id"], x["incident"]) for x in mine] == [(a["id"], number)]
    for step, unit_status in (("acknowledge", "busy"), ("en_route", "en_route"), ("on_scene", "on_scene"),
                              ("clear", "available")):
        r = world.client.post(f"{base}/{step}", headers=world.h["field"], json={"note": step})
        assert r.status_code == 200, r.text
        assert world.client.get(f"{API}/units/NEAR", headers=world.h["op_a"]).json()["status"] == unit_status
    r = world.client.post(f"{base}/clear", headers=world.h["field"], json={})
    assert r.status_code == 409 and "cleared" in r.json()["error"]["message"]
    inc = world.client.get(f"{API}/incidents/{number}", headers=world.h["op_a"]).json()
    assert inc["state"] == "on_scene"
    times = inc["response"]
    assert all(times[k] is not None and times[k] >= 0 for k in ("to_dispatch", "to_acknowledge", "to_arrive",
                                                                "to_clear"))
    assert times["to_arrive"] <= times["to_clear"]
    r = world.client.post(f"{API}/incidents/{number}/close", headers=world.h["op_a"], json={"outcome": "resolved"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    world.session.refresh(alert)
    assert alert.state == "resolved"
    history = world.client.get(f"{API}/units/NEAR/history", headers=world.h["op_a"]).json()
    assert [c["to_status"] for c in history][:4] == ["available", "on_scene", "en_route", "busy"]


def test_an_incident_with_active_assignments_does_not_close(world: World) -> None:
    _units(world)
    number = world.incident(world.kades_alert())["number"]
    a = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"],
                          json={"unit": "NEAR"}).json()
    r = world.client.post(f"{API}/incidents/{number}/close", headers=world.h["op_a"], json={"outcome": "resolved"})
    assert r.status_code == 409 and "clear or cancel" in r.json()["error"]["message"]
    r = world.client.post(f"{API}/incidents/{number}/assignments/{a['id']}/cancel", headers=world.h["op_a"],
                          json={"note": "yanlış ekip"})
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    inc = world.client.get(f"{API}/incidents/{number}", headers=world.h["op_a"]).json()
    assert inc["state"] == "open"  # nobody on the way any more
    assert world.client.get(f"{API}/units/NEAR", headers=world.h["op_a"]).json()["status"] == "available"


def test_an_unacknowledged_assignment_escalates_once(world: World) -> None:
    _units(world)
    number = world.incident(world.kades_alert())["number"]
    a = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"],
                          json={"unit": "NEAR"}).json()
    now = utcnow()
    within = timedelta(seconds=60)
    assert escalation.escalate_unacknowledged(world.session, now=now, ack_within=within) == []  # not yet
    assert escalation.escalate_unacknowledged(world.session, now=now + timedelta(seconds=61),
                                              ack_within=within) == [a["id"]]
    assert escalation.escalate_unacknowledged(world.session, now=now + timedelta(seconds=120),
                                              ack_within=within) == []  # once
    world.session.commit()
    raised = world.session.scalars(select(Alert).where(Alert.kind == "assignment_unacknowledged")).one()
    assert raised.priority == 2 and "NEAR" in raised.details and number in raised.details
    assert raised.scope_path == world.nodes["TR-99-A"].path
    queue = world.client.get(f"{API}/alerts/queue", headers=world.h["op_a"]).json()["items"]
    assert raised.id in [x["id"] for x in queue]
    timeline = world.client.get(f"{API}/incidents/{number}", headers=world.h["op_a"]).json()["timeline"]
    assert "escalated" in [e["kind"] for e in timeline]


def test_the_jobs_worker_escalates(world: World, rt: Runtime) -> None:
    _units(world)
    number = world.incident(world.kades_alert())["number"]
    a = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"],
                          json={"unit": "NEAR"}).json()
    later = utcnow() + timedelta(seconds=rt.settings.dispatch.ack_within_seconds + 1)
    tick = jobs.build(rt, started=later).tick(later)
    assert tick.failed == [] and tick.ran["dispatch.ack_escalation"] == [a["id"]]
    assert world.session.scalars(select(Alert.id).where(Alert.kind == "assignment_unacknowledged")).all()


def test_another_districts_incident_and_units_are_not_there(world: World) -> None:
    _units(world)
    world.unit("B-1", district="TR-99-B")
    world.position("B-1", 39.921, who="op_b")
    number = world.incident(world.kades_alert())["number"]
    for path in (f"/incidents/{number}", f"/incidents/{number}/recommendations", f"/incidents/{number}/assignments"):
        assert world.client.get(f"{API}{path}", headers=world.h["op_b"]).status_code == 404, path
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_b"], json={"unit": "B-1"})
    assert r.status_code == 404
    rec = world.client.get(f"{API}/incidents/{number}/recommendations", headers=world.h["op_a"]).json()
    assert "B-1" not in [u["call_sign"] for u in rec["units"]]  # another district's unit is not offered
    r = world.client.post(f"{API}/incidents/{number}/assignments", headers=world.h["op_a"], json={"unit": "B-1"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "unit"
    assert world.client.get(f"{API}/incidents", headers=world.h["op_b"]).json() == []
    with acting_as(world.session, factories.admin()):
        assert world.session.scalars(select(Incident.number)).all() == [number]


def test_the_place_of_an_incident(world: World) -> None:
    """Given, else the alert's position, else its site's; a place outside Türkiye or none at all is refused."""
    alert = world.kades_alert()
    r = world.client.post(f"{API}/incidents", headers=world.h["op_a"], json={
        "alerts": [alert.id], "category": "other", "latitude": 51.5, "longitude": -0.12})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "latitude"
    site = factories.site(world.session, "TR-99-A", latitude=39.8, longitude=32.7)
    at_site = raising.raise_alert(world.session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                                       site_id=site.id))
    nowhere = raising.raise_alert(world.session, Alarm(source=Source.OPERATOR, kind="note", priority=Priority.P3,
                                                       scope_path=world.nodes["TR-99-A"].path))
    world.session.commit()
    inc = world.incident(at_site, category="panic")
    assert (inc["latitude"], inc["longitude"], inc["site"]) == (39.8, 32.7, site.code)
    r = world.client.post(f"{API}/incidents", headers=world.h["op_a"], json={"alerts": [nowhere.id],
                                                                            "category": "other"})
    assert r.status_code == 422 and "give latitude and longitude" in r.text
    given = world.incident(nowhere, category="other", latitude=39.91, longitude=32.84, accuracy_m=50)
    assert (given["latitude"], given["accuracy_m"], given["priority"]) == (39.91, 50, 3)
