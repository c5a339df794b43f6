"""Local time in a real browser: an investigator whose browser runs in another zone (New York) types a range into
the hold form's date-time pickers in Europe/Istanbul, the page's zone, and the hold placed holds exactly the
intended UTC range; the page names its zone, and the scripts' shared helper formats in it too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import DemoServer, sign_in, submit

pytestmark = pytest.mark.browser


@pytest.fixture
def new_york_page(browser: Browser, server: DemoServer) -> Iterator[Page]:
    """A tab whose browser believes it is in New York: nothing may depend on that."""
    ctx = browser.new_context(base_url=server.url, locale="tr-TR", timezone_id="America/New_York")
    ctx.set_default_timeout(15_000)
    yield ctx.new_page()
    ctx.close()


def _utc(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def test_a_local_range_typed_in_the_pickers_holds_exactly_the_utc_range(new_york_page: Page,
                                                                         server: DemoServer) -> None:
    page = new_york_page
    site, camera = server.query("SELECT s.code, c.name FROM cameras c JOIN sites s ON s.id = c.site_id "
                                "ORDER BY c.id LIMIT 1")[0]
    sign_in(page, server, "investigator")
    page.goto("/holds/new")
    expect(page.locator("#tz-label")).to_contain_text("Europe/Istanbul (UTC+03:00)")
    assert page.evaluate("document.documentElement.dataset.tz") == "Europe/Istanbul"
    assert page.get_attribute("#f-from", "type") == "datetime-local"
    page.fill("#f-site", str(site))
    page.fill("#f-camera", str(camera))
    page.fill("#f-from", "2026-11-21T11:00:00")  # 08:00 UTC
    page.fill("#f-to", "2026-11-21T12:30:15")  # 09:30:15 UTC
    page.fill("#f-reason", "Soruşturma 2026/4411: yerel saat denemesi")
    page.fill("#f-legal_basis", "Ankara C. Başsavcılığı 2026/4411")
    submit(page, "#hold-form button[type=submit]")
    assert "/holds?saved=placed" in page.url, page.inner_text("main")[:500]
    start, end = server.query("SELECT start, \"end\" FROM legal_holds WHERE reason LIKE '%2026/4411%'")[0]
    assert (_utc(start), _utc(end)) == (datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
                                        datetime(2026, 11, 21, 9, 30, 15, tzinfo=UTC))
    expect(page.locator("#hold-table tr", has_text="2026/4411")).to_contain_text("2026-11-21 11:00:00")
    # the scripts' helper formats in the page's zone, not the browser's
    assert page.evaluate("window.kgysTime.dateTime('2026-11-21T08:00:00Z')") == "2026-11-21 11:00:00"
    assert page.evaluate("window.kgysTime.time('2026-11-21T08:00:00Z', true)") == "11:00:00"
