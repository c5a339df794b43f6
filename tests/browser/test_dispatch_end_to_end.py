"""A protected person's press, answered end to end in Chromium against a real ``kgys serve``.

The KADES app presses through the server's own app API; the operator sees the alert on the console, makes an
incident of it, is shown the units able to go in travel-time order and sends the nearest; the team's field login
sees the assignment on its phone without a reload, acknowledges it, reports en route, on scene and clear; the
dispatch map follows the unit; the operator closes the incident as resolved, which resolves the alert. Every step
is in the audit log under the person who took it, and an operator of another district finds neither the incident
nor its unit.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoServer, sign_in, submit
from tests.waiting import wait_for

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.accounts.permissions import Role
from kgys.accounts.service import actor_for, issue_token
from kgys.db import utcnow
from kgys.demo.names import FIELD_UNIT_DISTRICT
from kgys.dispatch import service as unit_service
from kgys.dispatch.schemas import PositionIn, UnitIn
from kgys.kades import service as kades_service
from kgys.kades.schemas import OrderIn
from kgys.runtime import Runtime

PLACE = (39.9120, 32.8110)  # where the protected person presses, in the field login's district
OTHER_DISTRICT = "TR-99-02"
SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared
PHONE = {"width": 390, "height": 844}


class Setup:
    """What the test registers for itself: a protection order with the person's phone, two teams of its own (the
    near one with a field login) and an operator of another district."""

    def __init__(self, rt: Runtime, tag: str) -> None:
        self.rt = rt
        self.tag = tag
        self.capability = f"e2e_{tag.lower()}"
        self.near, self.far = f"Y{tag}", f"U{tag}"
        self.field_user, self.outsider = f"ekip-{tag.lower()}", f"op-{tag.lower()}"
        self.passwords = {self.field_user: secrets.token_urlsafe(18), self.outsider: secrets.token_urlsafe(18)}
        with rt.sessions.begin() as session:
            supervisor = session.scalars(select(User).where(User.username == "supervisor")).one()
            admin = actor_for(session.scalars(select(User).where(User.username == "admin")).one())
            actor = actor_for(supervisor)
            for name, role, district in ((self.field_user, Role.FIELD_UNIT, FIELD_UNIT_DISTRICT),
                                         (self.outsider, Role.OPERATOR, OTHER_DISTRICT)):
                account_service.create_user(session=session, actor=admin, username=name, password=self.passwords[name],
                                            role=role.value, full_name=name, jurisdiction_codes=(district,),
                                            settings=rt.settings.security)
            for call_sign, north, login in ((self.near, 0.006, self.field_user), (self.far, 0.03, None)):
                unit_service.create_unit(session=session, actor=actor, data=UnitIn(
                    call_sign=call_sign, kind="patrol_car", district=FIELD_UNIT_DISTRICT,
                    capabilities=[self.capability], field_user=login))
                unit_service.report_position(
                    session=session, actor=actor, call_sign=call_sign, settings=rt.settings.dispatch,
                    data=PositionIn(latitude=PLACE[0] + north, longitude=PLACE[1], accuracy_m=8,
                                    reported_at=utcnow() - timedelta(seconds=2)))
            order = kades_service.create_order(session=session, actor=actor, data=OrderIn(
                number=f"2026/{tag}", court="Ankara 1. Aile Mahkemesi", valid_from=date.today() - timedelta(days=1),
                valid_until=date.today() + timedelta(days=90), person_name=f"Zehra {tag}",
                person_phone="+90 555 010 77 88", district=FIELD_UNIT_DISTRICT))
            _phone, self.phone_token = kades_service.add_phone(session=session, actor=actor, order_id=order.id,
                                                               label="Zehra'nın telefonu")

    def token(self, username: str) -> dict[str, str]:
        with self.rt.sessions.begin() as session:
            user = session.scalars(select(User).where(User.username == username)).one()
            token = issue_token(session=session, settings=self.rt.settings.security, user=user)
            return {"Authorization": f"Bearer {token}"}


def _press(server: DemoServer, setup: Setup) -> int:
    """The protected person presses in the KADES app: the server answers 202 once the alert is stored."""
    r = httpx.post(f"{server.url}/api/v1/kades/app/press", timeout=30,
                   headers={"Authorization": f"Device {setup.phone_token}"},
                   json={"msg_id": uuid.uuid4().hex, "at": datetime.now(UTC).isoformat(), "latitude": PLACE[0],
                         "longitude": PLACE[1], "accuracy_m": 15, "battery": 64})
    assert r.status_code == 202, r.text
    alert_id = server.scalar("SELECT id FROM alerts WHERE details LIKE ? ORDER BY id DESC", f"%Zehra {setup.tag}%")
    assert alert_id is not None
    return int(alert_id)  # type: ignore[call-overload]


def _assignment_state(server: DemoServer, assignment: int) -> object:
    return server.scalar("SELECT state FROM assignments WHERE id = ?", assignment)


def test_a_kades_press_is_answered_by_the_nearest_team_end_to_end(browser: Browser, page: Page, server: DemoServer,
                                                                   other_process: Runtime) -> None:
    setup = Setup(other_process, uuid.uuid4().hex[:5].upper())

    phone = browser.new_context(base_url=server.url, locale="tr-TR", viewport=PHONE, is_mobile=True, has_touch=True)
    desk = browser.new_context(base_url=server.url, locale="tr-TR")
    try:
        field = phone.new_page()  # the team's phone shows its page before anything happens
        sign_in(field, server, setup.field_user, setup.passwords[setup.field_user])
        field.goto("/field?poll=2")
        expect(field.locator("#field-idle")).to_be_visible()
        board = desk.new_page()  # the supervisor watches the dispatch map
        sign_in(board, server, "supervisor")
        board.goto("/dispatch")
        expect(board.locator(f"li[data-unit='{setup.near}']")).to_have_attribute("data-status", "available")

        sign_in(page, server, "operator")  # the operator is at the console before the press
        page.goto("/console")
        expect(page.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
        alert_id = _press(server, setup)
        item = page.locator(f"li.queue-item[data-alert='{alert_id}']")
        expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)

        item.click()
        submit(page, "#card-incident")
        expect(page.locator("#f-category")).to_have_value("domestic_violence")
        page.fill("#f-capabilities", setup.capability)
        submit(page, "#make-incident-submit")
        number = page.url.rsplit("/", 1)[-1]
        ranked = page.locator("#recommendation-table tr[data-rank]:not([data-rank=''])")
        expect(ranked).to_have_count(2)
        assert ranked.evaluate_all("rows => rows.map(r => r.dataset.unit)") == [setup.near, setup.far]
        submit(page, f"#recommendation-table tr[data-unit='{setup.near}'] button.assign")
        row = page.locator(f"#assignment-table tr[data-unit='{setup.near}']")
        expect(row).to_have_attribute("data-state", "assigned")
        assignment = int(row.get_attribute("data-assignment") or 0)

        _field_steps(field, server, setup, number, assignment, board)
    finally:
        phone.close()
        desk.close()

    page.goto(f"/incidents/{number}")
    expect(page.locator(f"#assignment-table tr[data-unit='{setup.near}']")).to_have_attribute("data-state", "cleared")
    page.select_option("#f-outcome", "resolved")
    page.fill("#f-close-note", "Şüpheli gözaltına alındı")
    submit(page, "#incident-close button[type=submit]")
    expect(page.locator("#incident")).to_have_attribute("data-state", "closed")
    assert server.scalar("SELECT state FROM alerts WHERE id = ?", alert_id) == "resolved"

    times = server.query("SELECT dispatched_at, acknowledged_at, arrived_at, cleared_at, closed_at FROM incidents "
                         "WHERE number = ?", number)[0]
    assert all(t is not None for t in times), times  # every minute of the response measured
    _audited(server, setup, alert_id, number, assignment)
    _out_of_scope(server, setup, number)


def _field_steps(phone: Page, server: DemoServer, setup: Setup, number: str, assignment: int, board: Page) -> None:
    """The team on its phone: the assignment appears without a reload; each step reaches the server and the
    supervisor's map."""
    phone.evaluate("window.__samePage = true")
    task = phone.locator(f"section[data-assignment='{assignment}']")
    expect(task).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(task).to_contain_text(number)
    expect(task.locator("a.field-tel")).to_have_attribute("href", "tel:+905550107788")
    assert phone.evaluate("window.__samePage") is True
    unit_on_map = board.locator(f"li[data-unit='{setup.near}']")
    for move, state in (("acknowledge", "acknowledged"), ("en_route", "en_route"), ("on_scene", "on_scene")):
        task.locator(f"button[data-move='{move}']").click()
        expect(task).to_have_attribute("data-state", state, timeout=SHOWN_WITHIN_MS)
        assert wait_for(f"the assignment {state}", lambda: _assignment_state(server, assignment), 10) == state
    expect(unit_on_map).to_have_attribute("data-status", "on_scene", timeout=SHOWN_WITHIN_MS)
    assert server.scalar("SELECT state FROM incidents WHERE number = ?", number) == "on_scene"
    task.locator("button[data-move='clear']").click()
    expect(phone.locator("#field-idle")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    assert wait_for("the assignment cleared", lambda: _assignment_state(server, assignment), 10) == "cleared"
    expect(unit_on_map).to_have_attribute("data-status", "available", timeout=SHOWN_WITHIN_MS)


def _audited(server: DemoServer, setup: Setup, alert_id: int, number: str, assignment: int) -> None:
    """Each step in the audit log, under who took it."""
    by_action = {(str(a), str(who)) for a, who in server.query(
        "SELECT action, actor FROM audit_entries WHERE (object_type = 'alert' AND object_id = ?) "
        "OR (object_type = 'incident' AND object_id = ?) OR (object_type = 'assignment' AND object_id = ?)",
        str(alert_id), number, str(assignment))}
    assert ("incident.create", "operator") in by_action, by_action
    assert ("assignment.create", "operator") in by_action, by_action
    assert ("assignment.update", setup.field_user) in by_action, by_action
    assert ("incident.update", setup.field_user) in by_action, by_action  # on scene, clear
    assert ("incident.update", "operator") in by_action, by_action  # closed
    assert ("alert.dispatch", "operator") in by_action, by_action
    assert server.scalar("SELECT count(*) FROM audit_entries WHERE action = 'alert.resolve' AND object_id = ?",
                         str(alert_id)) == 1


def _out_of_scope(server: DemoServer, setup: Setup, number: str) -> None:
    """An operator of another district is answered as if neither the incident nor the unit existed."""
    outsider = setup.token(setup.outsider)
    for path in (f"/api/v1/incidents/{number}", f"/api/v1/units/{setup.near}", "/api/v1/incidents/0000-000000"):
        r = httpx.get(server.url + path, headers=outsider, timeout=30)
        assert r.status_code == 404, (path, r.status_code, r.text)
    listed = httpx.get(f"{server.url}/api/v1/incidents", params={"state": "all"}, headers=outsider, timeout=30)
    assert listed.status_code == 200 and number not in listed.text
