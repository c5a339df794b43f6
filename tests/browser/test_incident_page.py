"""The incident page in Chromium against a real ``kgys serve``: an operator opens a protected person's alert,
makes an incident of it, sees the units able to go in travel-time order with the reasons, assigns the nearest and
sees the assignment; the unit is busy in the server's database."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoServer, sign_in, submit

from kgys.accounts.models import Jurisdiction, User
from kgys.accounts.service import actor_for
from kgys.alerts import raising
from kgys.alerts.raising import Alarm, Position
from kgys.alerts.states import Priority, Source
from kgys.db import utcnow
from kgys.demo.names import FIELD_UNIT_DISTRICT
from kgys.dispatch import service as unit_service
from kgys.dispatch.schemas import PositionIn, UnitIn
from kgys.runtime import Runtime

PLACE = (39.9050, 32.8050)
SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared


def _world(rt: Runtime, tag: str, capability: str) -> int:
    """Three units with ``capability`` near, farther and farthest from the place, and a KADES press there."""
    with rt.sessions.begin() as session:
        supervisor = session.scalars(select(User).where(User.username == "supervisor")).one()
        actor = actor_for(supervisor)
        for call, lat in ((f"N{tag}", PLACE[0] + 0.004), (f"M{tag}", PLACE[0] + 0.02), (f"F{tag}", PLACE[0] + 0.05)):
            unit_service.create_unit(session=session, actor=actor, data=UnitIn(
                call_sign=call, kind="patrol_car", district=FIELD_UNIT_DISTRICT, capabilities=[capability]))
            unit_service.report_position(session=session, actor=actor, call_sign=call, settings=rt.settings.dispatch,
                                         data=PositionIn(latitude=lat, longitude=PLACE[1], accuracy_m=10,
                                                         reported_at=utcnow() - timedelta(seconds=3)))
        path = session.scalars(select(Jurisdiction.path).where(Jurisdiction.code == FIELD_UNIT_DISTRICT)).one()
        alert = raising.raise_alert(session, Alarm(
            source=Source.KADES, kind="kades_press", priority=Priority.P1, details=f"KADES {tag}",
            device=f"kades-{tag}", position=Position(*PLACE, 20), scope_path=path))
        return alert.id


def test_an_operator_makes_an_incident_and_assigns_the_nearest_unit(page: Page, server: DemoServer,
                                                                    other_process: Runtime) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    capability = f"test_{tag.lower()}"
    alert_id = _world(other_process, tag, capability)
    sign_in(page, server, "operator")
    page.goto(f"/alerts/{alert_id}")
    form = page.locator("#make-incident")
    expect(form).to_be_visible()
    expect(page.locator("#f-category")).to_have_value("domestic_violence")
    page.fill("#f-capabilities", capability)
    submit(page, "#make-incident-submit")
    assert re.search(r"/incidents/\d{4}-\d{6}$", page.url), page.url
    number = page.url.rsplit("/", 1)[-1]
    expect(page.locator(f"#incident-alerts a[data-alert='{alert_id}']")).to_be_visible()
    expect(page.locator("#incident-map.leaflet-container")).to_be_visible()

    ranked = page.locator("#recommendation-table tr[data-rank]:not([data-rank=''])")
    expect(ranked).to_have_count(3)
    assert ranked.evaluate_all("rows => rows.map(r => r.dataset.unit)") == [f"N{tag}", f"M{tag}", f"F{tag}"]
    etas = [float(x) for x in ranked.evaluate_all("rows => rows.map(r => r.dataset.eta)")]
    assert etas == sorted(etas)
    expect(ranked.first).to_contain_text("km")  # the reasons: distance, speed, ETA, how it was estimated

    submit(page, f"#recommendation-table tr[data-unit='N{tag}'] button.assign")
    row = page.locator(f"#assignment-table tr[data-unit='N{tag}']")
    expect(row).to_have_attribute("data-state", "assigned")
    expect(page.locator("#incident")).to_have_attribute("data-state", "dispatched")
    assert server.scalar("SELECT status FROM units WHERE call_sign = ?", f"N{tag}") == "busy"
    assert server.scalar("SELECT state FROM incidents WHERE number = ?", number) == "dispatched"
    expect(page.locator(f"#recommendation-table tr[data-unit='N{tag}']")).to_have_count(0)  # busy now


def test_the_console_card_leads_to_the_incident_form(page: Page, server: DemoServer,
                                                     other_process: Runtime) -> None:
    tag = uuid.uuid4().hex[:6].upper()
    alert_id = _world(other_process, tag, f"test_{tag.lower()}")
    sign_in(page, server, "operator")
    page.goto("/console")
    item = page.locator(f"li.queue-item[data-alert='{alert_id}']")
    expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
    item.click()
    make = page.locator("#card-incident")
    expect(make).to_be_visible()
    expect(make).to_have_attribute("href", f"/incidents/new?alert={alert_id}")
    submit(page, "#card-incident")
    expect(page.locator("#make-incident input[name=alert]")).to_have_value(str(alert_id))
    expect(page.locator("#f-priority")).to_have_value("1")
