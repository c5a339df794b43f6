"""The console's site card in Chromium against a real ``kgys serve``: the chosen alert's site shows its lockdown state
and its floor plans (the image served and drawn); the operator orders a lockdown with a reason, the card shows it in
force and the order is in the outbox, noted in the alert's history."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select
from tests import factories
from tests.browser.conftest import DemoServer, sign_in
from tests.sites.test_floorplans_images import png

from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.audit.mechanism import acting_as
from kgys.runtime import Runtime
from kgys.sites import floorplans
from kgys.sites.models import Site

SHOWN_WITHIN_MS = 20_000  # generous: the machine is shared


def test_the_site_card_orders_a_lockdown_and_shows_the_floor_plans(page: Page, server: DemoServer,
                                                                   other_process: Runtime) -> None:
    device = uuid.uuid4().hex[:8]
    actor = factories.admin()
    with other_process.sessions.begin() as session, acting_as(session, actor):
        site = session.scalars(select(Site).order_by(Site.id)).first()
        assert site is not None
        code = site.code
        upload = floorplans.Upload.receive(iter([png(64, 48)]), data_dir=server.data_dir, limit=1024 * 1024)
        plan = floorplans.add(session=session, actor=actor, site_code=code, title="Zemin kat", upload=upload,
                              data_dir=server.data_dir)
        plan_id = plan.id
        alert = raising.raise_alert(session, Alarm(
            source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=site.id, device=device,
            details=f"Oda {device[:3]}", dedup_key=f"panic:{device}"))
        alert_id = alert.id
    sign_in(page, server, "operator")
    page.goto("/console")
    item = page.locator(f"li.queue-item[data-alert='{alert_id}']")
    expect(item).to_be_visible(timeout=SHOWN_WITHIN_MS)
    item.click()
    state = page.locator("#card-lockdown-state")
    expect(state).to_have_attribute("data-locked", "false", timeout=SHOWN_WITHIN_MS)
    thumb = page.locator(f"#card-plans img[src='/sites/{code}/floor-plans/{plan_id}']")
    expect(thumb).to_be_visible(timeout=SHOWN_WITHIN_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=thumb.element_handle())
    page.fill("#card-lockdown-reason", "Bahçede silahlı kişi")
    page.click("#card-lockdown button[data-lockdown='lockdown']")
    expect(state).to_have_attribute("data-locked", "true", timeout=SHOWN_WITHIN_MS)
    expect(state).to_contain_text("Bahçede silahlı kişi")
    rows = server.query("SELECT action, reason, alert_id FROM device_downlinks WHERE site_id = "
                        "(SELECT id FROM sites WHERE code = ?)", code)
    assert rows == [("lockdown", "Bahçede silahlı kişi", alert_id)]
    assert server.scalar("SELECT count(*) FROM alert_changes WHERE alert_id = ? AND move = 'note'", alert_id) == 1
