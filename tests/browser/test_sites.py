"""The site registry in a real browser: filtering, editing (and its audit trail), compliance, the dashboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import DemoServer, sign_in, submit

from kgys.accounts.actor import system_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.config import Settings
from kgys.runtime import make_runtime

pytestmark = pytest.mark.browser

IN_PROVINCE = "jurisdiction_path LIKE '/TR/TR-99/%'"


def _total(page: Page) -> int:
    return int(page.inner_text("#site-total").strip())


def _column(page: Page, n: int) -> list[str]:
    return [t.strip() for t in page.locator(f"#site-table tbody tr[data-code] td:nth-child({n})").all_inner_texts()]


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


@pytest.fixture
def new_page(browser: Browser, server: DemoServer) -> Iterator[Callable[[], Page]]:
    """Open tabs in further fresh browser profiles (a second person at another desk)."""
    contexts = []

    def make() -> Page:
        ctx = browser.new_context(base_url=server.url, locale="tr-TR")
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def test_filters_narrow_the_site_list(page: Page, server: DemoServer) -> None:
    sign_in(page, server, "operator")
    page.goto("/sites")
    assert _total(page) == server.scalar(f"SELECT count(*) FROM sites WHERE {IN_PROVINCE}")

    page.select_option("#site-filters select[name=type]", "primary_school")
    submit(page, "#site-filters button[type=submit]")
    by_type = server.scalar(f"SELECT count(*) FROM sites WHERE {IN_PROVINCE} AND type = 'primary_school'")
    assert _total(page) == by_type
    assert len(set(_column(page, 4))) == 1

    page.select_option("#site-filters select[name=jurisdiction]", "TR-99-01")
    submit(page, "#site-filters button[type=submit]")
    rows = server.query("SELECT code, name, address FROM sites WHERE jurisdiction_path LIKE '/TR/TR-99/TR-99-01/%' "
                        "AND type = 'primary_school'")
    assert 0 < _total(page) == len(rows) < int(str(by_type))
    assert set(_column(page, 6)) == {"Merkez"}

    words = [w for _c, name, _a in rows for w in str(name).split() if w.isascii() and w.isalpha() and len(w) >= 4]
    word = words[0] if words else str(rows[0][0])
    page.fill("#site-filters input[name=q]", word.lower())
    submit(page, "#site-filters button[type=submit]")
    expected = [c for c, n, a in rows if _ascii_lower(word) in _ascii_lower(f"{c} {n} {a}")]
    assert _total(page) == len(expected) >= 1
    assert sorted(page.locator("#site-table tbody tr[data-code]").evaluate_all(
        "rows => rows.map(r => r.dataset.code)")) == sorted(str(c) for c in expected)
    assert page.input_value("#site-filters select[name=type]") == "primary_school"


def test_search_finds_a_site_by_its_name_as_written(page: Page, server: DemoServer) -> None:
    """Turkish names start with capitals such as İ and Ş; typing the name as shown must find the site."""
    code, name = server.query(f"SELECT code, name FROM sites WHERE {IN_PROVINCE} AND name LIKE '%İlkokulu' "
                              "ORDER BY code LIMIT 1")[0]
    sign_in(page, server, "operator")
    page.goto("/sites")
    page.fill("#site-filters input[name=q]", str(name))
    submit(page, "#site-filters button[type=submit]")
    codes = page.locator("#site-table tbody tr[data-code]").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert code in codes


def test_editing_a_site_saves_it_and_the_auditor_sees_the_change(
        page: Page, server: DemoServer, new_page: Callable[[], Page]) -> None:
    code, old_name = server.query(f"SELECT code, name FROM sites WHERE {IN_PROVINCE} AND type = 'high_school' "
                                  "ORDER BY code LIMIT 1")[0]
    new_name = f"{old_name} (Yeni Bina)"
    sign_in(page, server, "commission_member")
    page.goto(f"/sites/{code}")
    submit(page, "#edit-site")
    page.fill("#f-name", new_name)
    page.fill("#f-student_count", "1234")
    submit(page, "#site-form button[type=submit]")
    assert page.url == f"{server.url}/sites/{code}?saved=site"
    assert page.inner_text("main h1").strip() == new_name
    assert page.locator("#saved").is_visible()
    assert server.query("SELECT name, student_count FROM sites WHERE code = ?", code) == [(new_name, 1234)]

    actor, details = server.query("SELECT actor, details FROM audit_entries WHERE action = 'site.update' "
                                  "AND object_id = ? ORDER BY seq DESC LIMIT 1", code)[0]
    changes = json.loads(str(details))["changes"]
    assert actor == "commission_member"
    assert changes["name"] == {"from": old_name, "to": new_name}
    assert changes["student_count"]["to"] == 1234

    auditor = new_page()
    sign_in(auditor, server, "auditor")
    auditor.goto(f"/audit?site={code}&action=site.update")
    row = auditor.locator("#audit-table tbody tr[data-action='site.update']").first
    assert "commission_member" in row.inner_text()
    assert "name" in row.inner_text()


def test_a_bad_value_is_named_and_nothing_is_saved(page: Page, server: DemoServer) -> None:
    code, name, version = server.query(f"SELECT code, name, version FROM sites WHERE {IN_PROVINCE} "
                                       "AND type = 'kindergarten' ORDER BY code LIMIT 1")[0]
    sign_in(page, server, "admin")
    page.goto(f"/sites/{code}/edit")
    page.fill("#f-name", "Bu ad kaydedilmemeli")
    page.fill("#f-latitude", "95")
    submit(page, "#site-form button[type=submit]")
    errors = page.locator("#form-errors")
    assert errors.is_visible()
    assert "f-latitude" in (errors.locator("a").first.get_attribute("href") or "")
    assert page.locator("#err-latitude").is_visible()
    assert page.input_value("#f-name") == "Bu ad kaydedilmemeli"
    assert server.query("SELECT name, version FROM sites WHERE code = ?", code) == [(name, version)]


def test_compliance_page_lists_failing_items_with_reasons(page: Page, server: DemoServer) -> None:
    code = server.scalar(f"SELECT code FROM sites WHERE {IN_PROVINCE} AND compliance_status = 'non_compliant' "
                         "ORDER BY code LIMIT 1")
    rt = make_runtime(Settings(mode="demo", data_dir=server.data_dir), create_keys=False)
    try:
        with rt.sessions() as session:
            _, result = camera_flows.compliance(session=session, actor=system_actor(), code=str(code))
            failing = {c.code for c in result.failed}
            passing = {c.code for c in result.checks if c.passed}
    finally:
        rt.close()
    assert failing

    sign_in(page, server, "operator")
    page.goto(f"/sites/{code}/compliance")
    assert page.get_attribute("#compliance-status", "data-status") == "non_compliant"
    fail_items = page.locator("li.check-fail")
    assert set(fail_items.evaluate_all("items => items.map(i => i.dataset.code)")) == failing
    assert set(page.locator("li.check-pass").evaluate_all("items => items.map(i => i.dataset.code)")) == passing
    for reason in fail_items.locator(".reason").all_inner_texts():
        assert len(reason.strip()) > 10


def test_compliant_site_passes_every_item(page: Page, server: DemoServer) -> None:
    code = server.scalar(f"SELECT code FROM sites WHERE {IN_PROVINCE} AND compliance_status = 'compliant' "
                         "ORDER BY code LIMIT 1")
    sign_in(page, server, "operator")
    page.goto(f"/sites/{code}/compliance")
    assert page.get_attribute("#compliance-status", "data-status") == "compliant"
    assert page.locator("li.check-fail").count() == 0
    assert page.locator("li.check-pass").count() >= 10


def test_dashboard_shows_counts_and_the_map_with_markers(page: Page, server: DemoServer) -> None:
    sign_in(page, server, "commission_member")
    assert page.url.endswith("/dashboard")

    def stat(name: str) -> int:
        return int(re.sub(r"\D", "", page.inner_text(f"[data-stat='{name}'] .stat")))

    assert stat("total") == server.scalar(f"SELECT count(*) FROM sites WHERE {IN_PROVINCE}")
    for status in ("compliant", "non_compliant", "no_system"):
        assert stat(status) == server.scalar(
            f"SELECT count(*) FROM sites WHERE {IN_PROVINCE} AND compliance_status = ?", status)
    assert page.locator("#map").is_visible()
    with_coordinates = int(str(server.scalar(f"SELECT count(*) FROM sites WHERE {IN_PROVINCE} "
                                             "AND latitude IS NOT NULL")))
    markers = page.locator("#map path.leaflet-interactive")
    markers.nth(with_coordinates - 1).wait_for(state="attached")
    assert markers.count() == with_coordinates


def test_a_map_point_opens_its_cameras_on_the_video_wall(page: Page, server: DemoServer) -> None:
    sign_in(page, server, "operator")
    page.goto("/dashboard")
    marker = page.locator("#map path.leaflet-interactive").first
    marker.wait_for(state="attached")
    marker.dispatch_event("click")
    link = page.locator(".leaflet-popup a.map-wall")
    link.wait_for(state="visible")
    code = (link.get_attribute("href") or "").split("site=", 1)[-1]
    assert code and server.scalar("SELECT count(*) FROM sites WHERE code = ?", code) == 1
    with page.expect_navigation():
        link.click()
    assert "/wall?site=" in page.url
