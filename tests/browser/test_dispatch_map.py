"""The dispatch map in Chromium against a real ``kgys serve``: a signed-in operator sees the units of the province
(coloured by status, a stale one greyed with its age, one without a position in the side panel) and the open
incidents; a unit's position and status changed through the API after the page loaded, and an incident opened
afterwards with a unit sent to it, appear without reloading."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoApi, DemoServer, sign_in

from kgys.accounts.models import Jurisdiction
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.runtime import Runtime
from kgys.sites.models import Site

SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared
PLACE = (39.90, 32.80)  # the demo province


class Api(DemoApi):
    """The HTTP API of the server, as the demo supervisor and operator (bearer tokens)."""

    def __init__(self, server: DemoServer, rt: Runtime) -> None:
        super().__init__(server, rt)
        with rt.sessions.begin() as s:
            self.district = str(s.scalars(select(Jurisdiction.code).where(
                Jurisdiction.kind == "district", Jurisdiction.path.startswith("/TR/TR-99/"))
                .order_by(Jurisdiction.id)).first())
            self.site_id = s.scalars(select(Site.id).order_by(Site.id)).first()

    def call(self, method: str, path: str, who: str = "supervisor", **kw: Any) -> Any:
        return super().call(method, path, who, **kw)

    def unit(self, call_sign: str) -> None:
        self.call("POST", "/units", json={"call_sign": call_sign, "kind": "patrol_car", "district": self.district})

    def position(self, call_sign: str, lat: float, lon: float, age_s: float = 2) -> None:
        at = (datetime.now(UTC) - timedelta(seconds=age_s)).isoformat()
        self.call("POST", f"/units/{call_sign}/position",
                  json={"latitude": lat, "longitude": lon, "accuracy_m": 10, "reported_at": at})

    def incident(self, rt: Runtime, lat: float, lon: float) -> str:
        """An alert raised (as the device gateway would) and made an incident by the operator; its number."""
        device = uuid.uuid4().hex[:8]
        with rt.sessions.begin() as s:
            alert = raising.raise_alert(s, Alarm(
                source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=self.site_id, device=device,
                position=Position(lat, lon, 20.0), dedup_key=f"panic:{device}"))
            alert_id = alert.id
        out = self.call("POST", "/incidents", who="operator", json={"alerts": [alert_id], "category": "panic"})
        return str(out["number"])


def test_the_map_shows_units_and_incidents_and_follows_their_changes(page: Page, server: DemoServer,
                                                                      other_process: Runtime) -> None:
    api = Api(server, other_process)
    tag = uuid.uuid4().hex[:4].upper()
    moving, parked, old, late = (f"M{tag}", f"P{tag}", f"O{tag}", f"L{tag}")
    for call_sign in (moving, parked, old, late):
        api.unit(call_sign)
    api.position(moving, PLACE[0] + 0.01, PLACE[1] + 0.01)
    api.position(old, PLACE[0] - 0.01, PLACE[1] - 0.01, age_s=900)  # older than the 300 s of the settings
    first = api.incident(other_process, PLACE[0], PLACE[1] + 0.02)

    sign_in(page, server, "operator")
    page.goto("/dispatch")
    expect(page.locator("#dispatch-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    marker = page.locator(f".unit-marker[data-unit='{moving}']")
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("data-status", "available")
    stale = page.locator(f".unit-marker[data-unit='{old}']")
    expect(stale).to_have_attribute("data-stale", "true")
    expect(stale).to_contain_text("eski konum")  # "stale" in Turkish, with its age
    expect(page.locator(f"#unplaced .unit-item[data-unit='{parked}']")).to_be_visible()
    expect(page.locator(f".incident-marker[data-incident='{first}']")).to_be_visible()
    expect(page.locator(f"#incident-list li[data-incident='{first}']")).to_contain_text("Panik")
    counts = page.locator(".unit-count[data-status='available']")
    available = int(counts.get_attribute("data-count") or "0")
    assert available >= 4

    before = marker.bounding_box()
    api.position(moving, PLACE[0] + 0.03, PLACE[1] + 0.04)
    page.wait_for_function(
        "([sel, x, y]) => { const b = document.querySelector(sel).getBoundingClientRect();"
        " return Math.abs(b.x - x) + Math.abs(b.y - y) > 5; }",
        arg=[f".unit-marker[data-unit='{moving}']", before["x"] if before else 0, before["y"] if before else 0],
        timeout=SHOWN_WITHIN_MS)
    api.call("POST", f"/units/{late}/status", json={"status": "off_duty"})
    expect(page.locator(f".unit-item[data-unit='{late}']").first).to_have_attribute("data-status", "off_duty",
                                                                                    timeout=SHOWN_WITHIN_MS)
    api.position(parked, PLACE[0] + 0.02, PLACE[1])
    expect(page.locator(f".unit-marker[data-unit='{parked}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator(f"#unplaced .unit-item[data-unit='{parked}']")).to_have_count(0)

    second = api.incident(other_process, PLACE[0] - 0.02, PLACE[1])
    expect(page.locator(f".incident-marker[data-incident='{second}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    item = page.locator(f"#incident-list li[data-incident='{second}']")
    expect(item).to_be_visible()
    api.call("POST", f"/incidents/{second}/assignments", who="operator", json={"unit": moving})
    expect(item).to_contain_text(moving, timeout=SHOWN_WITHIN_MS)
    expect(marker).to_have_attribute("data-status", "busy", timeout=SHOWN_WITHIN_MS)
    expect(page.locator(".unit-count[data-status='available']")).to_have_attribute(
        "data-count", str(available - 2), timeout=SHOWN_WITHIN_MS)  # one off duty, one busy
    assert page.evaluate("window.kgysDispatch.seq()") > 0


def test_after_a_drop_the_map_catches_up(page: Page, server: DemoServer, other_process: Runtime) -> None:
    api = Api(server, other_process)
    sign_in(page, server, "operator")
    page.goto("/dispatch")
    expect(page.locator("#dispatch-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
    page.evaluate("window.kgysDispatch.drop()")
    call_sign = f"R{uuid.uuid4().hex[:4].upper()}"
    api.unit(call_sign)
    api.position(call_sign, PLACE[0], PLACE[1] - 0.02)
    expect(page.locator(f".unit-marker[data-unit='{call_sign}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
    expect(page.locator("#dispatch-link")).to_have_attribute("data-state", "live")
