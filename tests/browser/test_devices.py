"""Devices in a real browser against ``kgys serve``: a school administrator goes from the site's page to its
devices, adds a panic button through the form, sees its broker password once, and finds it in the list."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import DemoServer, sign_in, submit

from kgys.devices import secrets

pytestmark = pytest.mark.browser


def test_a_device_is_added_through_the_form_and_its_password_shown_once(page: Page, server: DemoServer) -> None:
    sign_in(page, server, "school_admin")
    page.goto("/sites")
    code = page.locator("#site-table tbody tr[data-code]").first.get_attribute("data-code")
    assert code
    page.goto(f"/sites/{code}")
    submit(page, "#site-devices")
    submit(page, "#new-device")
    expect(page.locator("#f-site")).to_have_value(code)
    serial = f"PB-UI-{uuid.uuid4().hex[:6]}"
    page.fill("#f-serial", serial)
    page.select_option("#f-kind", "panic")
    page.fill("#f-room", "Müdür yardımcısı odası")
    page.fill("#f-cancel_pin", "2468")
    page.fill("#f-duress_pin", "2468")
    submit(page, "#device-form button[type=submit]")
    expect(page.locator("#err-duress_pin")).to_be_visible()  # the same PIN twice: named, nothing written
    assert server.scalar("SELECT count(*) FROM devices WHERE serial = ?", serial) == 0
    page.fill("#f-cancel_pin", "2468")
    page.fill("#f-duress_pin", "1357")
    submit(page, "#device-form button[type=submit]")
    password = page.inner_text("#device-password").strip()
    assert len(password) >= 24
    expect(page.locator("#device-username")).to_have_text(serial)
    stored = server.scalar("SELECT mqtt_password_hash FROM devices WHERE serial = ?", serial)
    assert isinstance(stored, str) and secrets.check_secret(password, stored)

    submit(page, "#to-devices")
    row = page.locator(f"#device-{serial}")
    expect(row).to_contain_text("Müdür yardımcısı odası")
    expect(row).to_have_attribute("data-online", "never")
    assert password not in page.content()  # shown once, never again
