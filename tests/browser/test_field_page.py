"""The field page in Chromium on a phone-sized screen (390 × 844) against a real ``kgys serve``: the field login signs
in, sees the assignment an operator made through the API, acknowledges it, reports en route, on scene and clear;
a new assignment made while the page is open appears without a reload, with its banner; "Share my position" posts
the phone's position to the units API, and a position outside Türkiye is refused in the user's language."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoApi, DemoServer, sign_in, submit
from tests.waiting import wait_for

from kgys.accounts.models import Jurisdiction
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.runtime import Runtime

SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 360, "height": 740}  # the narrowest phones in use
HERE = {"latitude": 39.9061, "longitude": 32.8071}  # in the field login's district


class Api(DemoApi):
    """The server's JSON API as the demo's operator and supervisor."""

    def alert(self) -> int:
        """A protected person's press in the field login's district (as the KADES intake raises it)."""
        with self.rt.sessions.begin() as session:
            path = session.scalar(select(Jurisdiction.path).where(Jurisdiction.code == "TR-99-01"))
            device = uuid.uuid4().hex[:8]
            alert = raising.raise_alert(session, Alarm(
                source=Source.KADES, kind="kades_press", priority=Priority.P1, details=f"KADES — test {device}",
                device=f"kades-{device}", position=Position(39.9100, 32.8120, 20), scope_path=path,
                dedup_key=f"kades:test-{device}", data={"call_back": "+90 555 010 20 30"}))
            return alert.id

    def send(self, call_sign: str) -> tuple[str, int]:
        """An incident of a new alert, with the unit sent to it: its number and the assignment's id."""
        incident = self.call("POST", "/incidents", json={"alerts": [self.alert()], "category": "domestic_violence"})
        a = self.call("POST", f"/incidents/{incident['number']}/assignments", json={"unit": call_sign})
        return incident["number"], int(a["id"])


@pytest.fixture(scope="module")
def api(server: DemoServer, other_process: Runtime) -> Api:
    return Api(server, other_process)


@pytest.fixture(scope="module")
def unit(server: DemoServer, api: Api) -> str:
    """The unit the demo's field login speaks for (registered here when the demo has none), free to be sent."""
    rows = server.query("SELECT u.call_sign FROM units u JOIN users x ON x.id = u.field_user_id "
                        "WHERE x.username = 'field_unit'")
    if rows:
        call_sign = str(rows[0][0])
        for a in api.call("GET", f"/units/{call_sign}/assignments", who="supervisor"):
            if a["ended_at"] is None:
                api.call("POST", f"/incidents/{a['incident']}/assignments/{a['id']}/cancel", json={})
        if api.call("GET", f"/units/{call_sign}")["status"] != "available":
            api.call("POST", f"/units/{call_sign}/status", who="supervisor", json={"status": "available"})
        return call_sign
    created = api.call("POST", "/units", who="supervisor", json={
        "call_sign": "99-01-SAHA", "kind": "patrol_car", "district": "TR-99-01", "field_user": "field_unit"})
    return str(created["call_sign"])


@pytest.fixture
def phone(browser: Browser, server: DemoServer) -> Iterator[BrowserContext]:
    """A phone-sized browser profile that may read its (emulated) position."""
    ctx = browser.new_context(base_url=server.url, locale="tr-TR", viewport=PHONE, is_mobile=True, has_touch=True,
                              geolocation=HERE, permissions=["geolocation"])
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def _state(server: DemoServer, assignment_id: int) -> object:
    return server.scalar("SELECT state FROM assignments WHERE id = ?", assignment_id)


def test_a_field_unit_goes_through_an_assignment_from_its_phone(phone: BrowserContext, server: DemoServer, api: Api,
                                                                unit: str) -> None:
    page = phone.new_page()
    number, first = api.send(unit)
    sign_in(page, server, "field_unit")
    page.goto("/field?poll=1")
    task = page.locator(f"section[data-assignment='{first}']")
    expect(task).to_be_visible()
    expect(task).to_contain_text(number)
    expect(task.locator("a.field-tel")).to_have_attribute("href", "tel:+905550102030")
    expect(task.locator("a.field-map")).to_have_attribute("href", "geo:39.910000,32.812000?q=39.910000,32.812000("
                                                          + number + ")")
    _fits_a_phone(page, PHONE["width"])
    page.evaluate("window.__samePage = true")

    for move, state in (("acknowledge", "acknowledged"), ("en_route", "en_route"), ("on_scene", "on_scene"),
                        ("clear", "cleared")):
        page.locator(f"section[data-assignment='{first}'] button[data-move='{move}']").click()
        if state == "cleared":
            expect(page.locator("#field-idle")).to_be_visible(timeout=SHOWN_WITHIN_MS)
        else:
            expect(page.locator(f"section[data-assignment='{first}']")).to_have_attribute(
                "data-state", state, timeout=SHOWN_WITHIN_MS)
        assert wait_for(f"the assignment {state}", lambda: _state(server, first), 10) == state
    expect(page.locator("#field-status")).to_have_text("Müsait")
    actors = {r[0] for r in server.query("SELECT actor FROM audit_entries WHERE action = 'assignment.update' "
                                         "AND object_id = ?", str(first))}
    assert actors == {"field_unit"}

    _, second = api.send(unit)  # while the page is open
    expect(page.locator(f"section[data-assignment='{second}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#field-banner")).to_be_visible()
    expect(page.locator("#field-banner-text")).to_contain_text("Yeni görev")
    assert page.evaluate("window.__samePage") is True  # no reload
    page.locator(f"section[data-assignment='{second}'] textarea[name=note]").fill("Araç arızalı")
    page.locator(f"section[data-assignment='{second}'] button[data-move='decline']").click()
    expect(page.locator("#field-idle")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    assert _state(server, second) == "declined"


def test_without_script_a_stale_page_is_refused_the_step_in_the_users_language(
        browser: Browser, server: DemoServer, api: Api, unit: str) -> None:
    ctx = browser.new_context(base_url=server.url, locale="tr-TR", viewport=NARROW, java_script_enabled=False)
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        _, assignment = api.send(unit)
        sign_in(page, server, "field_unit")
        page.goto("/field")
        task = page.locator(f"section[data-assignment='{assignment}']")
        expect(task).to_be_visible()
        _fits_a_phone(page, NARROW["width"])
        number = _number(server, assignment)
        api.call("POST", f"/incidents/{number}/assignments/{assignment}/acknowledge", json={})  # by radio, say
        task.locator("textarea[name=note]").fill("geç kaldık")
        submit(page, f"section[data-assignment='{assignment}'] button[data-move='decline']")
        expect(page.locator("#field-move-error")).to_contain_text(
            "Yalnızca henüz teyit edilmemiş bir görev reddedilebilir")
        assert _state(server, assignment) == "acknowledged"
        expect(page.locator(f"section[data-assignment='{assignment}'] button[data-move='en_route']")).to_be_visible()
        submit(page, f"section[data-assignment='{assignment}'] button[data-move='en_route']")
        assert _state(server, assignment) == "en_route"
        api.call("POST", f"/incidents/{number}/assignments/{assignment}/cancel", json={})
    finally:
        ctx.close()


def test_sharing_the_position_posts_it_and_a_position_abroad_is_refused(phone: BrowserContext, server: DemoServer,
                                                                        unit: str) -> None:
    page = phone.new_page()
    sign_in(page, server, "field_unit")
    page.goto("/field")
    before = _sent_at(server, unit)
    page.locator("#field-share").check()

    def posted() -> bool:
        row = server.query("SELECT p.latitude, p.longitude, p.received_at FROM unit_positions p "
                           "JOIN units u ON u.id = p.unit_id WHERE u.call_sign = ?", unit)
        return bool(row) and abs(float(row[0][0]) - HERE["latitude"]) < 1e-6 and row[0][2] != before  # type: ignore[arg-type]

    wait_for("the phone's position to reach the server", posted, 20)
    expect(page.locator("#field-position-state")).to_contain_text("Son gönderim")
    expect(page.locator("#field-position-error")).to_be_empty()

    phone.set_geolocation({"latitude": 48.8566, "longitude": 2.3522})  # Paris: far more than 50 m away
    expect(page.locator("#field-position-error")).to_have_text("Konumunuz Türkiye dışında: gönderilmedi.",
                                                                timeout=SHOWN_WITHIN_MS)
    page.locator("#field-share").uncheck()
    expect(page.locator("#field-position-state")).to_have_text("Konum paylaşılmıyor")


def _number(server: DemoServer, assignment_id: int) -> str:
    return str(server.scalar("SELECT i.number FROM incidents i JOIN assignments a ON a.incident_id = i.id "
                             "WHERE a.id = ?", assignment_id))


def _sent_at(server: DemoServer, call_sign: str) -> object:
    return server.scalar("SELECT p.received_at FROM unit_positions p JOIN units u ON u.id = p.unit_id "
                         "WHERE u.call_sign = ?", call_sign)


def _fits_a_phone(page: Page, width: int) -> None:
    """One column at the phone's width: nothing wider than the screen, every button at least 44 px high."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    heights = page.locator(".field-page button:visible, .field-page a.field-btn:visible").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 44, heights


def test_a_phone_refusing_its_position_is_told_how_to_allow_it(browser: Browser, server: DemoServer,
                                                               unit: str) -> None:
    ctx = browser.new_context(base_url=server.url, locale="tr-TR", viewport=PHONE)  # no geolocation permission
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        sign_in(page, server, "field_unit")
        page.goto("/field")
        page.locator("#field-share").click()  # unticked again at once: the phone said no
        expect(page.locator("#field-position-error")).to_contain_text("Konum izni verilmedi", timeout=SHOWN_WITHIN_MS)
        expect(page.locator("#field-share")).not_to_be_checked()
    finally:
        ctx.close()
