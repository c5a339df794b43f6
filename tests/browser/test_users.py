"""User administration in a real browser against ``kgys serve``: the administrator creates an operator scoped to
one district through the form (a wrong site code is named and nothing is written), the new operator signs in
with the password shown once and sees only that district's sites; the administrator disables the operator and
the operator's next request is signed out."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import DemoServer, sign_in, submit

from kgys.demo.names import FIELD_UNIT_DISTRICT

pytestmark = pytest.mark.browser


def test_a_user_created_in_the_browser_signs_in_within_the_district_and_is_signed_out_when_disabled(
        page: Page, browser: Browser, server: DemoServer) -> None:
    username = f"op.{uuid.uuid4().hex[:6]}"
    sign_in(page, server, "admin")
    page.goto("/users?lang=en")
    expect(page.locator("header .mainnav a[href='/users']")).to_be_visible()
    expect(page.locator("#user-table tr[data-user='operator']")).to_be_visible()
    submit(page, "#user-new")
    page.fill("#f-username", username)
    page.fill("#f-full_name", "Yeni Operatör")
    page.select_option("#f-role", "operator")
    page.select_option("#f-jurisdictions", [FIELD_UNIT_DISTRICT])
    page.fill("#f-sites", "NO-SUCH-SCHOOL")
    submit(page, "#user-create")
    expect(page.locator("#err-sites")).to_contain_text("NO-SUCH-SCHOOL")  # named, and no user written
    assert server.scalar("SELECT count(*) FROM users WHERE username = ?", username) == 0
    page.fill("#f-sites", "")
    submit(page, "#user-create")
    password = page.inner_text("#new-password").strip()
    assert len(password) >= 19
    expect(page.locator("#new-username")).to_have_text(username)

    own = browser.new_context(base_url=server.url, locale="tr-TR")
    try:
        theirs = own.new_page()
        sign_in(theirs, server, username, password)
        theirs.goto("/sites")
        expected = server.scalar("SELECT count(*) FROM sites WHERE jurisdiction_path LIKE ?",
                                 f"/TR/TR-99/{FIELD_UNIT_DISTRICT}/%")
        assert int(theirs.inner_text("#site-total").strip()) == expected
        districts = set(theirs.locator("#site-table tbody tr[data-code] td:nth-child(6)").all_inner_texts())
        assert districts == {"Merkez"}

        page.goto(f"/users/{username}?lang=en")
        expect(page.locator("#user-scope")).to_contain_text("Merkez")
        submit(page, "#user-disable")
        expect(page.locator("#user-done")).to_contain_text("disabled")
        expect(page.locator("#user")).to_have_attribute("data-state", "disabled")
        assert server.scalar("SELECT count(*) FROM audit_entries WHERE action = 'user.disable' AND object_id = ?",
                             username) == 1

        theirs.goto("/sites")
        assert "/login" in theirs.url  # signed out by the disable
        expect(theirs.locator("input[name=username]")).to_be_visible()
    finally:
        own.close()

    page.goto("/users/admin?lang=en")
    submit(page, "#user-disable")
    expect(page.locator("#user-refusal")).to_contain_text("your own account")  # refused, and shown
    expect(page.locator("#user")).to_have_attribute("data-state", "active")


def test_a_supervisor_created_with_a_typed_password_enrols_a_second_factor_at_first_sign_in(
        page: Page, browser: Browser, server: DemoServer) -> None:
    username = f"amir.{uuid.uuid4().hex[:6]}"
    sign_in(page, server, "admin")
    page.goto("/users/new?lang=en")
    page.fill("#f-username", username)
    page.select_option("#f-role", "supervisor")
    page.select_option("#f-jurisdictions", [FIELD_UNIT_DISTRICT])
    page.check("input[name=password_mode][value=type]")
    page.fill("#f-password", "1234567890")
    submit(page, "#user-create")
    expect(page.locator("#err-password")).to_contain_text("too easy to guess")  # the policy, named
    assert server.scalar("SELECT count(*) FROM users WHERE username = ?", username) == 0
    password = "kestane-fener-orman-47"
    page.check("input[name=password_mode][value=type]")
    page.fill("#f-password", password)
    submit(page, "#user-create")
    expect(page.locator("#user-done")).to_be_visible()
    expect(page.locator("#user-mfa")).to_contain_text("enrolled at the next sign-in")

    own = browser.new_context(base_url=server.url, locale="tr-TR")
    try:
        theirs = own.new_page()
        theirs.goto("/login")
        theirs.fill("input[name=username]", username)
        theirs.fill("input[name=password]", password)
        submit(theirs, "form[action='/login'] button[type=submit]")
        assert "/login/totp" in theirs.url
        server.totp_secrets[username] = theirs.inner_text("#totp-secret").strip()
        theirs.fill("input[name=code]", server.next_code(username))
        submit(theirs, "form[action='/login/totp'] button[type=submit]")
        assert "/login" not in theirs.url, theirs.inner_text("main")[:300]
    finally:
        own.close()
    page.goto(f"/users/{username}?lang=en")
    expect(page.locator("#user-mfa")).to_have_text("enrolled")
