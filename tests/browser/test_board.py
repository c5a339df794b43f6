"""The supervisor's board in Chromium against a real ``kgys serve``: it refreshes itself — an operator who opens the
console shows up as connected, a new alert appears, and the operator is no longer connected once the console is
closed — without the supervisor reloading the page."""

from __future__ import annotations

import uuid

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from tests.browser.conftest import DemoServer, sign_in

from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.runtime import Runtime
from kgys.sites.models import Site

SHOWN_WITHIN_MS = 30_000  # generous: the machine is shared, and the board refreshes every few seconds


def test_the_board_follows_consoles_and_alerts_without_a_reload(page: Page, browser: Browser, server: DemoServer,
                                                                other_process: Runtime) -> None:
    sign_in(page, server, "supervisor")
    page.goto("/console/board")
    page.evaluate("window.boardNotReloaded = true")  # gone if the page itself were loaded again
    connected = page.locator("tr[data-operator='operator'] [data-connected]")
    expect(connected).to_have_count(0)

    operator_ctx = browser.new_context(base_url=server.url, locale="tr-TR")
    try:
        console = operator_ctx.new_page()
        sign_in(console, server, "operator")
        console.goto("/console")
        expect(console.locator("#console-link")).to_have_attribute("data-state", "live", timeout=SHOWN_WITHIN_MS)
        expect(connected).to_have_count(1, timeout=SHOWN_WITHIN_MS)

        device = uuid.uuid4().hex[:8]
        with other_process.sessions.begin() as session:
            site_id = session.scalars(select(Site.id).order_by(Site.id)).first()
            alert_id = raising.raise_alert(session, Alarm(
                source=Source.PANIC, kind="panic_press", priority=Priority.P1, site_id=site_id, device=device,
                dedup_key=f"panic:{device}")).id
        expect(page.locator(f"#board-waiting tr[data-alert='{alert_id}']")).to_be_visible(timeout=SHOWN_WITHIN_MS)
        console.close()
    finally:
        operator_ctx.close()
    expect(connected).to_have_count(0, timeout=SHOWN_WITHIN_MS)
    assert page.evaluate("window.boardNotReloaded") is True
    expect(page.locator("#board-live")).not_to_have_class("badge non_compliant")
