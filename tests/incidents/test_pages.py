"""The incident pages on both engines: an operator makes an incident of an alert from its page, sees the units
recommended in travel-time order with the reasons (those left out saying why), assigns the nearest, makes a step
for the unit, sees a refused move (another operator sent the unit first, a step out of order) in the page and
nothing written, closes with an outcome; bad form input is named by field; scope answers 404 and permissions
403 or the sign-in page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert
from kgys.dispatch.models import Assignment, Unit
from kgys.incidents.models import Incident
from tests import factories
from tests.dispatch.conftest import API, World
from tests.web.conftest import browser_login


def signed_in(client: TestClient, session: Session, role: str, scope: list[str]) -> str:
    """Sign the client in as a new user of ``role``; the CSRF token of the session."""
    user = factories.user(session, role, scope=scope, box=client.app.state.runtime.box)  # type: ignore[attr-defined]
    session.commit()
    browser_login(client, user)
    return client.get("/incidents").text.split('name="csrf_token" value="')[1].split('"')[0]


def _units(world: World) -> None:
    """Near, far, near but stale, no position; a domestic-violence team in between."""
    for call in ("NEAR", "FAR", "STALE", "NOPOS"):
        world.unit(call)
    world.unit("DV", kind="domestic_violence_team", capabilities=["domestic_violence"])
    for call, lat, age in (("NEAR", 39.925, 5), ("FAR", 39.99, 5), ("STALE", 39.921, 900), ("DV", 39.95, 5)):
        assert world.position(call, lat, age_s=age).status_code == 200


def _make(world: World, csrf: str, alert: Alert, **fields: str) -> str:
    """Make an incident of the alert through its form, as the signed-in operator; its number."""
    r = world.client.post("/incidents/new", data={"csrf_token": csrf, "alert": str(alert.id),
                                                  "category": "domestic_violence", **fields},
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"]).rsplit("/", 1)[-1]


def _rows(text: str, table: str) -> list[str]:
    body = text.split(f'id="{table}"')[1].split("</table>")[0]
    return re.findall(r'<tr[^>]* data-unit="([^"]+)"', body)


def _count(session: Session, model: type[Incident] | type[Assignment]) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_operator_makes_an_incident_of_an_alert_from_its_page(world: World, session: Session) -> None:
    alert = world.kades_alert()
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    page = world.client.get(f"/alerts/{alert.id}?lang=en")
    assert page.status_code == 200
    assert 'id="make-incident"' in page.text
    assert '<option value="domestic_violence" selected>' in page.text  # a KADES press: domestic violence
    assert 'name="priority" value="1"' in page.text  # the alert's priority
    r = world.client.post("/incidents/new", data={"csrf_token": csrf, "alert": str(alert.id),
                                                  "category": "domestic_violence", "priority": "1",
                                                  "details": "Ayşe Yılmaz", "capabilities": "domestic_violence"},
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[-1]
    incident = session.scalar(select(Incident).where(Incident.number == number))
    assert incident is not None and incident.capabilities == ["domestic_violence"]
    shown = world.client.get(r.headers["location"] + "?lang=en")
    assert shown.status_code == 200
    assert f'href="/alerts/{alert.id}"' in shown.text
    assert 'data-kind="created"' in shown.text
    assert 'id="incident-map"' in shown.text
    again = world.client.get(f"/alerts/{alert.id}")
    assert f'href="/incidents/{number}"' in again.text and 'id="make-incident"' not in again.text
    console = world.client.get("/console")
    assert '"can_dispatch": true' in console.text and 'id="card-incident"' in console.text


def test_bad_form_input_is_named_by_field_and_nothing_is_written(world: World, session: Session) -> None:
    alert = world.kades_alert()
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    r = world.client.post("/incidents/new?lang=en", data={
        "csrf_token": csrf, "alert": str(alert.id), "category": "burglary", "priority": "9",
        "capabilities": "Bad!"})
    assert r.status_code == 422
    assert 'id="err-category"' in r.text and 'id="err-priority"' in r.text and 'id="err-capabilities"' in r.text
    assert "Must be at most 4." in r.text
    assert _count(session, Incident) == 0
    session.refresh(alert)
    assert alert.state == "new"  # not acknowledged either
    r = world.client.post("/incidents/new?lang=en", data={"csrf_token": csrf, "alert": str(alert.id),
                                                          "category": "panic", "details": "a\u202eb"})
    assert r.status_code == 422 and 'id="err-details"' in r.text
    assert _count(session, Incident) == 0


def test_units_are_recommended_in_travel_time_order_and_the_nearest_is_assigned(world: World,
                                                                               session: Session) -> None:
    _units(world)
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    number = _make(world, csrf, world.kades_alert())
    page = world.client.get(f"/incidents/{number}?lang=en")
    assert page.status_code == 200
    assert _rows(page.text, "recommendation-table") == ["NEAR", "DV", "FAR", "NOPOS", "STALE"]
    assert 'data-unit="STALE" data-rank="" data-excluded="stale"' in page.text
    assert 'data-unit="NOPOS" data-rank="" data-excluded="no_position"' in page.text
    assert "Position too old" in page.text and "No position reported" in page.text
    assert "km straight × 1.4 detour" in page.text  # how the estimate was made
    r = world.client.post(f"/incidents/{number}/assign", data={"csrf_token": csrf, "unit": "NEAR"},
                          follow_redirects=False)
    assert r.status_code == 303, r.text
    page = world.client.get(f"/incidents/{number}?lang=en")
    assert _rows(page.text, "assignment-table") == ["NEAR"]
    assert 'data-unit="NEAR" data-state="assigned"' in page.text
    assert _rows(page.text, "recommendation-table")[0] == "DV"  # NEAR is busy now
    unit = session.scalar(select(Unit).where(Unit.call_sign == "NEAR"))
    assert unit is not None and unit.status == "busy"


def test_a_unit_sent_elsewhere_first_is_shown_as_a_conflict(world: World, session: Session) -> None:
    _units(world)
    first = world.incident(world.kades_alert())["number"]
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    second = _make(world, csrf, world.kades_alert(), category="panic")
    assert world.client.get(f"/incidents/{second}").status_code == 200  # the page the operator looks at
    r = world.client.post(f"{API}/incidents/{first}/assignments", headers=world.h["op_a"], json={"unit": "NEAR"})
    assert r.status_code == 201
    before = _count(session, Assignment)
    r = world.client.post(f"/incidents/{second}/assign?lang=en", data={"csrf_token": csrf, "unit": "NEAR"})
    assert r.status_code == 409
    assert 'id="form-errors"' in r.text and "Not done:" in r.text and "NEAR" in r.text
    assert _count(session, Assignment) == before
    r = world.client.post(f"/incidents/{second}/assign?lang=tr", data={"csrf_token": csrf, "unit": "NEAR"})
    assert r.status_code == 409 and "Yapılamadı" in r.text
    r = world.client.post(f"/incidents/{second}/assign?lang=en", data={"csrf_token": csrf, "unit": "NOBODY"})
    assert r.status_code == 422 and 'id="err-unit"' in r.text


def test_steps_for_the_unit_out_of_order_refused_then_cancel_and_close(world: World, session: Session) -> None:
    _units(world)
    alert = world.kades_alert()
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    number = _make(world, csrf, alert)
    assert world.client.post(f"/incidents/{number}/assign", data={"csrf_token": csrf, "unit": "NEAR"},
                             follow_redirects=False).status_code == 303
    assignment = session.scalar(select(Assignment))
    assert assignment is not None
    path = f"/incidents/{number}/assignments/{assignment.id}"
    r = world.client.post(path + "?lang=en", data={"csrf_token": csrf, "move": "on_scene"})
    assert r.status_code == 409 and "acknowledged" not in r.text.split('id="form-errors"')[0][-50:]
    assert "report en route first" in r.text or "acknowledge it first" in r.text or "cannot on_scene" in r.text
    session.refresh(assignment)
    assert assignment.state == "assigned"
    r = world.client.post(path, data={"csrf_token": csrf, "move": "acknowledge"}, follow_redirects=False)
    assert r.status_code == 303
    session.refresh(assignment)
    assert assignment.state == "acknowledged"
    r = world.client.post(f"/incidents/{number}/close?lang=en", data={"csrf_token": csrf, "outcome": "resolved"})
    assert r.status_code == 409 and "active assignment" in r.text
    r = world.client.post(path + "?lang=en", data={"csrf_token": csrf, "move": "fly"})
    assert r.status_code == 422 and 'id="err-move"' in r.text
    assert world.client.post(path, data={"csrf_token": csrf, "move": "cancel"},
                             follow_redirects=False).status_code == 303
    r = world.client.post(f"/incidents/{number}/close?lang=en", data={"csrf_token": csrf, "outcome": "won"})
    assert r.status_code == 422 and 'id="err-outcome"' in r.text
    r = world.client.post(f"/incidents/{number}/close", data={"csrf_token": csrf, "outcome": "false_alarm"},
                          follow_redirects=False)
    assert r.status_code == 303
    page = world.client.get(f"/incidents/{number}?lang=en")
    assert 'data-state="closed"' in page.text and 'id="incident-close"' not in page.text
    session.refresh(alert)
    assert alert.state == "false_alarm"
    late = world.kades_alert()
    r = world.client.post("/incidents/add-alert?lang=en", data={"csrf_token": csrf, "alert": str(late.id),
                                                               "incident": number})
    assert r.status_code == 409 and "is closed" in r.text
    session.refresh(late)
    assert late.state == "new"


def test_the_list_is_filtered_and_paged(world: World, session: Session) -> None:
    urgent = world.incident(world.kades_alert())["number"]
    quiet = world.incident(world.kades_alert(), priority=3)["number"]
    other = world.incident(world.kades_alert("TR-99-B"), who="sup")["number"]
    signed_in(world.client, session, "supervisor", ["TR-99"])
    page = world.client.get("/incidents")
    assert page.status_code == 200
    assert re.findall(r'data-incident="([^"]+)"', page.text) == [urgent, other, quiet]
    assert re.findall(r'data-incident="([^"]+)"', world.client.get("/incidents?priority=3").text) == [quiet]
    assert re.findall(r'data-incident="([^"]+)"',
                      world.client.get("/incidents?district=TR-99-B").text) == [other]
    assert re.findall(r'data-incident="([^"]+)"', world.client.get("/incidents?state=closed").text) == []
    assert world.client.get("/incidents?state=bogus&priority=x&page=-3").status_code == 200


def test_another_district_is_not_found_and_roles_without_the_right_are_refused(world: World,
                                                                             session: Session) -> None:
    alert = world.kades_alert()
    number = world.incident(alert)["number"]
    csrf = signed_in(world.client, session, "operator", ["TR-99-B"])
    assert world.client.get(f"/incidents/{number}").status_code == 404
    assert world.client.get("/incidents/2026-999999").status_code == 404
    assert world.client.get(f"/incidents/new?alert={alert.id}").status_code == 404
    assert world.client.post(f"/incidents/{number}/assign", data={"csrf_token": csrf, "unit": "X"}).status_code == 404
    assert number not in world.client.get("/incidents").text
    world.client.cookies.clear()
    assert world.client.get("/incidents", follow_redirects=False).status_code == 303
    csrf = signed_in(world.client, session, "field_unit", ["TR-99-A"])
    assert world.client.get("/incidents").status_code == 403
    assert world.client.get(f"/incidents/{number}").status_code == 403
    r = world.client.post(f"/incidents/{number}/close", data={"csrf_token": csrf, "outcome": "resolved"})
    assert r.status_code == 403
    assert session.scalar(select(Alert.state).where(Alert.id == alert.id)) == "acknowledged"


def test_a_second_alert_is_added_to_the_open_incident(world: World, session: Session) -> None:
    _units(world)
    csrf = signed_in(world.client, session, "operator", ["TR-99-A"])
    number = _make(world, csrf, world.kades_alert())
    assert world.client.post(f"/incidents/{number}/assign", data={"csrf_token": csrf, "unit": "NEAR"},
                             follow_redirects=False).status_code == 303
    second = world.kades_alert()
    page = world.client.get(f"/alerts/{second.id}")
    assert 'id="add-to-incident-link"' in page.text
    form = world.client.get(f"/incidents/new?alert={second.id}")
    assert f'<option value="{number}">' in form.text
    r = world.client.post("/incidents/add-alert?lang=en", data={"csrf_token": csrf, "alert": str(second.id),
                                                               "incident": "2026-999999"})
    assert r.status_code == 422 and 'id="err-incident"' in r.text
    r = world.client.post("/incidents/add-alert?lang=en", data={"csrf_token": csrf, "alert": str(second.id),
                                                               "incident": "nonsense"})
    assert r.status_code == 422 and 'id="err-incident"' in r.text
    session.refresh(second)
    assert second.state == "new"
    r = world.client.post("/incidents/add-alert", data={"csrf_token": csrf, "alert": str(second.id),
                                                       "incident": number}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{number}"
    session.refresh(second)
    assert second.state == "dispatched"  # a unit is on the way already
    page = world.client.get(f"/incidents/{number}")
    assert f'data-alert="{second.id}"' in page.text
    r = world.client.post("/incidents/add-alert?lang=en", data={"csrf_token": csrf, "alert": str(second.id),
                                                               "incident": number})
    assert r.status_code in (409, 422) and f"/incidents/{number}" in r.text  # in it already: the link to it
