"""The field page (/field) of a unit's field login: it sees its own unit and assignment only, moves it one step at a
time by plain forms (audited as the field login), is refused a step out of order in its language with nothing
written, sets its status by hand when free, and reads /field/state.json; a dispatcher opens any unit of its scope."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.dispatch.models import Assignment, Unit, UnitStatusChange
from tests import factories
from tests.dispatch.conftest import API, PLACE, World
from tests.web.conftest import browser_login


def _sent(world: World, call_sign: str, field_user: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A unit with ``field_user`` as its field login, sent to a new incident; the incident and the assignment."""
    world.unit(call_sign, field_user=field_user)
    incident = world.incident(world.kades_alert(), details="Kapıda bağırışlar")
    r = world.client.post(f"{API}/incidents/{incident['number']}/assignments", headers=world.h["op_a"],
                          json={"unit": call_sign})
    assert r.status_code == 201, r.text
    return incident, dict(r.json())


@pytest.fixture
def field(world: World) -> tuple[dict[str, Any], dict[str, Any], str]:
    """99-A-01 sent, its field login signed in by cookie in the client; the incident, assignment and CSRF token."""
    incident, assignment = _sent(world, "99-A-01", world.field_user.username)
    csrf = _sign_in(world.client, world.field_user)
    return incident, assignment, csrf


def _sign_in(client: TestClient, user: User) -> str:
    """Sign in by the login form; the signed-in session's CSRF token (as the page's forms carry it)."""
    browser_login(client, user)
    page = client.get("/field")
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _form(csrf: str, **fields: Any) -> dict[str, Any]:
    return {"csrf_token": csrf, "unit": "99-A-01", **fields}


def _state(world: World, assignment_id: int) -> str:
    world.session.expire_all()
    a = world.session.get(Assignment, assignment_id)
    assert a is not None
    return a.state


def test_the_field_login_sees_its_unit_and_assignment(world: World, field: tuple[dict[str, Any], dict[str, Any], str]
                                                      ) -> None:
    incident, assignment, _ = field
    page = world.client.get("/field?lang=en")
    assert page.status_code == 200, page.text
    html = page.text
    assert "99-A-01" in html and "Patrol car" in html and "Busy" in html
    assert f'data-assignment="{assignment["id"]}"' in html and incident["number"] in html
    assert "Domestic violence" in html and "Kapıda bağırışlar" in html
    assert 'href="tel:+905551112233"' in html  # the alert's call-back number
    assert f'href="geo:{PLACE[0]:.6f},{PLACE[1]:.6f}' in html and f"{PLACE[0]:.6f}, {PLACE[1]:.6f}" in html
    # the next moves only: acknowledge or decline
    assert 'data-move="acknowledge"' in html and 'data-move="decline"' in html
    assert 'data-move="en_route"' not in html and 'data-move="clear"' not in html
    assert 'data-status="off_duty"' not in html  # no status by hand while on an assignment
    assert 'id="field-share"' in html


def test_the_whole_loop_by_forms_is_audited_as_the_field_login(world: World,
                                                               field: tuple[dict[str, Any], dict[str, Any], str]
                                                               ) -> None:
    incident, assignment, csrf = field
    for move, state in (("acknowledge", "acknowledged"), ("en_route", "en_route"), ("on_scene", "on_scene"),
                        ("clear", "cleared")):
        r = world.client.post(f"/field/assignments/{assignment['id']}/{move}", data=_form(csrf),
                              follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/field"
        assert _state(world, assignment["id"]) == state
    unit = world.session.scalar(select(Unit).where(Unit.call_sign == "99-A-01"))
    assert unit is not None and unit.status == "available"
    actors = set(world.session.scalars(select(AuditEntry.actor).where(
        AuditEntry.action == "assignment.update", AuditEntry.object_id == str(assignment["id"]))).all())
    assert actors == {world.field_user.username}
    by = set(world.session.scalars(select(UnitStatusChange.by).where(
        UnitStatusChange.unit_id == unit.id, UnitStatusChange.assignment_id == assignment["id"],
        UnitStatusChange.to_status != "busy")).all())
    assert by == {world.field_user.username}
    done = world.client.get("/field?lang=en").text
    assert "No assignment now." in done and 'data-status="off_duty"' in done


def test_a_step_out_of_order_is_refused_in_the_users_language_and_nothing_is_written(
        world: World, field: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    _, assignment, csrf = field
    audits = world.session.scalar(select(func.count()).select_from(AuditEntry))
    r = world.client.post(f"/field/assignments/{assignment['id']}/on_scene?lang=tr", data=_form(csrf))
    assert r.status_code == 409
    assert "Şu an yapılamaz: görev Görevlendirildi durumunda. Önce yola çıktığınızı bildirin." in r.text
    assert _state(world, assignment["id"]) == "assigned"
    assert world.session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    r = world.client.post(f"/field/assignments/{assignment['id']}/clear?lang=ru", data=_form(csrf))
    assert r.status_code == 409 and "Сначала сообщите, что прибыли на место." in r.text


def test_another_units_assignment_is_not_found(world: World, field: tuple[dict[str, Any], dict[str, Any], str]
                                               ) -> None:
    _, _, csrf = field
    other_user = factories.user(world.session, "field_unit", scope=["TR-99-A"])
    world.session.commit()
    _, other = _sent(world, "99-A-02", other_user.username)
    for unit in ("99-A-01", "", "99-A-02"):
        r = world.client.post(f"/field/assignments/{other['id']}/acknowledge",
                              data={"csrf_token": csrf, "unit": unit})
        assert r.status_code == 404, (unit, r.text)
    assert _state(world, other["id"]) == "assigned"
    assert world.client.get("/field?unit=99-A-02").status_code == 404
    assert world.client.get("/field/state.json?unit=99-A-02").status_code == 404
    assert world.client.post(f"/field/assignments/{other['id']}/cancel", data=_form(csrf)).status_code == 404


def test_declining_needs_a_reason(world: World, field: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    _, assignment, csrf = field
    r = world.client.post(f"/field/assignments/{assignment['id']}/decline?lang=en", data=_form(csrf, note="  "))
    assert r.status_code == 422 and "Say why the unit declines." in r.text
    assert _state(world, assignment["id"]) == "assigned"
    r = world.client.post(f"/field/assignments/{assignment['id']}/decline", data=_form(csrf, note="Lastik patladı"),
                          follow_redirects=False)
    assert r.status_code == 303
    assert _state(world, assignment["id"]) == "declined"
    world.session.expire_all()
    a = world.session.get(Assignment, assignment["id"])
    assert a is not None and a.note == "Lastik patladı"


def test_a_form_without_the_csrf_token_is_refused(world: World, field: tuple[dict[str, Any], dict[str, Any], str]
                                                  ) -> None:
    _, assignment, _ = field
    r = world.client.post(f"/field/assignments/{assignment['id']}/acknowledge", data={"unit": "99-A-01"})
    assert r.status_code == 403
    assert _state(world, assignment["id"]) == "assigned"


def test_status_by_hand_only_when_free(world: World, field: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    _, assignment, csrf = field
    r = world.client.post("/field/status?lang=en", data=_form(csrf, status="off_duty"))
    assert r.status_code == 409 and "The unit is on an assignment" in r.text
    world.client.post(f"/field/assignments/{assignment['id']}/decline", data=_form(csrf, note="arıza"))
    r = world.client.post("/field/status", data=_form(csrf, status="off_duty"), follow_redirects=False)
    assert r.status_code == 303
    world.session.expire_all()
    unit = world.session.scalar(select(Unit).where(Unit.call_sign == "99-A-01"))
    assert unit is not None and unit.status == "off_duty"
    change = world.session.scalar(select(UnitStatusChange).where(UnitStatusChange.unit_id == unit.id)
                                  .order_by(UnitStatusChange.id.desc()))
    assert change is not None and change.by == world.field_user.username and change.to_status == "off_duty"
    r = world.client.post("/field/status?lang=en", data=_form(csrf, status="off_duty"))
    assert r.status_code == 409 and "The unit is Off duty already." in r.text
    r = world.client.post("/field/status?lang=en", data=_form(csrf, status="on_scene"))
    assert r.status_code == 422 and "Choose one of the listed values." in r.text


def test_state_json(world: World, field: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    incident, assignment, csrf = field
    r = world.client.get("/field/state.json?lang=en")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"unit", "assignments", "statuses", "version", "seq"}
    assert body["unit"]["call_sign"] == "99-A-01" and body["unit"]["status"] == "busy"
    assert body["unit"]["status_label"] == "Busy" and body["statuses"] == []
    [a] = body["assignments"]
    assert a["id"] == assignment["id"] and a["incident"] == incident["number"] and a["state"] == "assigned"
    assert a["moves"] == ["acknowledge", "decline"] and a["call_back"] == "+90 555 111 22 33"
    assert a["category"] == "domestic_violence" and a["category_label"] == "Domestic violence"
    assert (a["latitude"], a["longitude"]) == PLACE and a["priority"] == 1
    etag = r.headers["etag"]
    assert etag == f'"{body["version"]}"'
    assert world.client.get("/field/state.json", headers={"If-None-Match": etag}).status_code == 304
    world.client.post(f"/field/assignments/{assignment['id']}/acknowledge", data=_form(csrf))
    after = world.client.get("/field/state.json", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.json()["version"] != body["version"]
    assert after.json()["assignments"][0]["moves"] == ["en_route"]


def test_a_user_without_units_report_is_forbidden(world: World, client: TestClient) -> None:
    auditor = factories.user(world.session, "auditor", scope=["TR-99-A"])
    world.session.commit()
    browser_login(client, auditor)
    csrf = client.get("/").text.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.get("/field").status_code == 403
    assert client.get("/field/state.json").status_code == 403
    assert client.post("/field/status", data={"csrf_token": csrf, "status": "busy"}).status_code == 403


def test_a_field_login_without_a_unit_is_told_so(world: World) -> None:
    _sign_in(world.client, world.field_user)
    page = world.client.get("/field?lang=en")
    assert page.status_code == 200 and "No unit speaks through this login" in page.text
    assert world.client.get("/field/state.json").json()["unit"] is None


def test_a_dispatcher_opens_a_unit_of_the_scope(world: World) -> None:
    _, assignment = _sent(world, "99-A-01", world.field_user.username)
    world.unit("99-B-01", district="TR-99-B")
    dispatcher = factories.user(world.session, "dispatcher", scope=["TR-99-A"])
    world.session.commit()
    csrf = _sign_in(world.client, dispatcher)
    assert "Unit call sign" in world.client.get("/field?lang=en").text  # asks which unit
    page = world.client.get("/field?unit=99-A-01")
    assert page.status_code == 200 and f'data-assignment="{assignment["id"]}"' in page.text
    assert 'id="field-share"' not in page.text  # the dispatcher's desk is not where the unit is
    r = world.client.post(f"/field/assignments/{assignment['id']}/acknowledge", data=_form(csrf),
                          follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/field?unit=99-A-01"
    actor = world.session.scalar(select(AuditEntry.actor).where(
        AuditEntry.action == "assignment.update", AuditEntry.object_id == str(assignment["id"])))
    assert actor == dispatcher.username
    assert world.client.get("/field?unit=99-B-01").status_code == 404  # outside the scope
    assert world.client.get("/field?unit=no%20such").status_code == 404


def test_the_position_api_takes_the_browser_session_with_its_csrf_header(
        world: World, field: tuple[dict[str, Any], dict[str, Any], str]) -> None:
    _, _, csrf = field
    body = {"latitude": 39.93, "longitude": 32.86, "reported_at": "2026-01-01T00:00:00+00:00"}
    assert world.client.post(f"{API}/units/99-A-01/position", json=body).status_code == 403  # no CSRF header
    r = world.client.post(f"{API}/units/99-A-01/position", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422  # accepted as the field login; the time is too old
    assert r.json()["error"]["fields"][0]["field"] == "reported_at"
