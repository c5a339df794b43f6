"""Signing in as every demo role in a real browser: where each lands, what each may see, languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import DemoServer, sign_in, submit

from kgys.web import i18n

pytestmark = pytest.mark.browser

PROVINCE_ROLES = ("operator", "dispatcher", "supervisor", "investigator", "judicial_liaison", "auditor",
                  "commission_member")
DASHBOARD_ROLES = {"admin", "operator", "supervisor", "commission_member", "auditor"}


def _total(page: Page) -> int:
    return int(page.inner_text("#site-total").strip())


def _expected_total(server: DemoServer, role: str) -> int:
    if role == "admin":
        return int(str(server.scalar("SELECT count(*) FROM sites")))
    if role == "field_unit":
        return int(str(server.scalar("SELECT count(*) FROM sites WHERE jurisdiction_path LIKE '/TR/TR-99/TR-99-01/%'")))
    if role == "school_admin":
        return 1
    return int(str(server.scalar("SELECT count(*) FROM sites WHERE jurisdiction_path LIKE '/TR/TR-99/%'")))


@pytest.mark.parametrize("role", ["admin", *PROVINCE_ROLES, "field_unit", "school_admin"])
def test_each_role_signs_in_and_sees_only_its_scope(page: Page, server: DemoServer, role: str) -> None:
    sign_in(page, server, role)
    if role in DASHBOARD_ROLES:
        landing = "/dashboard"
    elif role == "field_unit":
        landing = "/field"  # the team's own page
    elif role == "school_admin":  # its one school's page
        landing = "/sites/" + str(server.scalar(
            "SELECT s.code FROM sites s JOIN user_scopes us ON us.site_id = s.id JOIN users u ON u.id = us.user_id "
            "WHERE u.username = 'school_admin'"))
    else:
        landing = "/sites"
    assert page.url == f"{server.url}{landing}"
    assert page.locator("main h1").first.is_visible()
    assert role in (page.get_attribute("header .who", "title") or "")

    page.goto("/sites")
    expected = _expected_total(server, role)
    assert _total(page) == expected
    codes = page.locator("#site-table tbody tr[data-code]").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert len(codes) == min(expected, 50)
    if role == "field_unit":
        districts = set(page.locator("#site-table tbody tr[data-code] td:nth-child(6)").all_inner_texts())
        assert districts == {"Merkez"}
    if role == "school_admin":
        own = server.scalar("SELECT s.code FROM sites s JOIN user_scopes us ON us.site_id = s.id "
                            "JOIN users u ON u.id = us.user_id WHERE u.username = 'school_admin'")
        assert codes == [own]
    if role != "admin":
        outside = server.scalar("SELECT code FROM sites WHERE jurisdiction_path LIKE '/TR/TR-98/%' LIMIT 1")
        response = page.goto(f"/sites/{outside}")
        assert response is not None and response.status == 404


def test_wrong_password_shows_the_error_and_stays_on_login(page: Page, server: DemoServer) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", "not-the-password-1")
    submit(page, "form[action='/login'] button[type=submit]")
    assert page.url.split("?")[0] == f"{server.url}/login"
    alert = page.locator("main [role=alert]")
    assert alert.is_visible()
    tr = i18n.load_catalogues()["tr"]
    assert alert.inner_text().strip() == tr.gettext("Wrong username or password, or the account is temporarily locked.")
    page.goto("/sites")
    assert page.url.split("?")[0] == f"{server.url}/login"


def test_second_factor_with_a_wrong_code_is_refused(page: Page, server: DemoServer) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "investigator")
    page.fill("input[name=password]", server.password("investigator"))
    submit(page, "form[action='/login'] button[type=submit]")
    assert "/login/totp" in page.url
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in server.valid_codes("investigator"))
    page.fill("input[name=code]", wrong)
    submit(page, "form[action='/login/totp'] button[type=submit]")
    assert "/login/totp" in page.url
    assert page.locator("main [role=alert]").is_visible()
    page.goto("/sites")
    assert "/login" in page.url


def test_language_switch_changes_headings_and_persists(page: Page, server: DemoServer) -> None:
    cats = i18n.load_catalogues()

    def t(lang: str, msg: str) -> str:
        return str(cats[lang].gettext(msg))

    for msg in ("Sites", "Dashboard"):
        assert t("tr", msg) != msg and t("ru", msg) != msg, f"'{msg}' is not translated"

    def heading() -> str:
        return page.locator("main h1").first.inner_text().strip()

    sign_in(page, server, "operator")
    assert heading() == t("tr", "Dashboard")
    assert page.get_attribute("html", "lang") == "tr"

    submit(page, "a[data-lang='en']")
    assert heading() == "Dashboard"
    submit(page, "nav.mainnav a[href='/sites']")
    assert heading() == "Sites"
    assert page.get_attribute("html", "lang") == "en"

    submit(page, "a[data-lang='ru']")
    assert heading() == t("ru", "Sites")
    page.goto("/dashboard")
    assert heading() == t("ru", "Dashboard")
    assert page.get_attribute("html", "lang") == "ru"
