"""The audit screen in a real browser: an auditor filters by action and a local time range, reads the entries, and
downloads the CSV export, which holds exactly the rows on the screen; the export is then an entry of the log."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import DemoServer, sign_in, submit

pytestmark = pytest.mark.browser


def _screen_rows(page: Page) -> list[tuple[int, str, str]]:
    """(entry number, local time, action label) of each row shown."""
    rows = page.locator("#audit-table tbody tr[data-seq]")
    return [(int(rows.nth(i).get_attribute("data-seq") or 0),
             rows.nth(i).locator("td").nth(1).inner_text().splitlines()[0].strip(),
             rows.nth(i).locator(".action-label").inner_text().strip()) for i in range(rows.count())]


def test_an_auditor_filters_and_exports_what_the_screen_shows(page: Page, server: DemoServer) -> None:
    sign_in(page, server, "auditor")
    page.goto("/audit")
    expect(page.locator("#audit-filters .zone").first).to_contain_text("Europe/Istanbul")

    page.fill("#f-action", "camera")
    page.fill("#f-from", "2000-01-01T00:00")
    submit(page, "#audit-filters button[type=submit]")
    assert "action=camera" in page.url and "from=2000-01-01T00%3A00" in page.url
    shown = _screen_rows(page)
    total = int(page.inner_text("#audit-total").strip())
    assert shown and len(shown) == min(total, 50)
    assert {a for a in page.locator("#audit-table tbody tr[data-seq]").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")} <= {"camera.create", "camera.update", "camera.delete",
                                                         "camera.live.view", "camera.playback.view",
                                                         "camera.clip.export"}

    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    body = path.read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]
    assert len(lines) == total
    assert [(int(x[0]), x[1], x[4]) for x in lines[:len(shown)]] == shown

    actor, details = server.query("SELECT actor, details FROM audit_entries WHERE action = 'audit.export' "
                                  "ORDER BY seq DESC LIMIT 1")[0]
    assert actor == "auditor" and '"action":"camera"' in str(details) and '"format":"csv"' in str(details)

    page.fill("#f-action", "")
    page.fill("#f-to", "2000-01-01T00:00")
    submit(page, "#audit-filters button[type=submit]")
    expect(page.locator("#audit-total")).to_have_text("0")

    page.fill("#f-to", "")
    page.fill("#f-from", "2026-12-02T00:00")
    page.fill("#f-to", "2026-12-01T00:00")
    submit(page, "#audit-filters button[type=submit]")
    expect(page.locator("#err-to")).to_be_visible()
    assert page.locator("#export-csv").count() == 0
