"""Importing a site list through the upload page in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from tests.browser.conftest import DemoServer, sign_in, submit

pytestmark = pytest.mark.browser

HEADER = "code,name,type,district,priority,address\n"


def _upload(page: Page, name: str, content: str, *, dry_run: bool, encoding: str = "utf-8") -> None:
    page.set_input_files("#import-file", files=[{"name": name, "mimeType": "text/csv",
                                                 "buffer": content.encode(encoding)}])
    page.set_checked("#import-dry-run", dry_run)
    submit(page, "#import-submit")


def test_a_bad_row_is_named_and_nothing_is_written(page: Page, server: DemoServer) -> None:
    before = server.scalar("SELECT count(*) FROM sites")
    content = (HEADER
               + "IMP-GOOD-1,Deneme Yeni İlkokulu,primary_school,TR-99-02,2,Yeni Mah. Okul Sok. No:1\n"
               + "IMP-BAD-2,Hatalı Satır Ortaokulu,middle_school,TR-99-02,9,Yeni Mah. Okul Sok. No:2\n")
    sign_in(page, server, "commission_member")
    page.goto("/import")
    _upload(page, "okullar.csv", content, dry_run=False)

    errors = page.locator("#import-errors tbody tr")
    assert errors.count() == 1
    row, column, message = (c.strip() for c in errors.first.locator("td").all_inner_texts())
    assert (row, column) == ("3", "priority")
    assert message
    assert page.locator("#import-summary").count() == 0
    assert server.scalar("SELECT count(*) FROM sites") == before
    assert server.scalar("SELECT count(*) FROM sites WHERE code LIKE 'IMP-%'") == 0


def test_dry_run_shows_the_summary_then_the_import_writes(page: Page, server: DemoServer) -> None:
    content = HEADER + "IMP-NEW-1,Deneme Yeni Ortaokulu,middle_school,TR-99-03,1,Gazi Mah. Lale Sok. No:7\n"
    sign_in(page, server, "commission_member")
    page.goto("/import")
    _upload(page, "yeni.csv", content, dry_run=True)
    summary = page.locator("#import-summary")
    assert summary.locator("[data-count=created]").inner_text().strip() == "1"
    assert server.scalar("SELECT count(*) FROM sites WHERE code = 'IMP-NEW-1'") == 0

    _upload(page, "yeni.csv", content, dry_run=False)
    assert page.locator("#import-summary [data-count=created]").inner_text().strip() == "1"
    assert server.query("SELECT name, type, priority FROM sites WHERE code = 'IMP-NEW-1'") == [
        ("Deneme Yeni Ortaokulu", "middle_school", 1)]
    assert server.scalar("SELECT actor FROM audit_entries WHERE action = 'site.create' AND object_id = 'IMP-NEW-1'"
                         ) == "commission_member"


def test_a_windows_1254_list_shows_its_encoding_and_the_ignored_column(page: Page, server: DemoServer) -> None:
    content = ("Kurum Kodu;Kurum Adı;Kurum Türü;İlçe;Kayıt Tarihi;Enlem;Boylam\n"
               "IMP-TR-1;Işıklı “Çağ” İlkokulu;İlkokul;TR-99-02;01.09.1998;39,9061;32,8112\n")
    sign_in(page, server, "commission_member")
    page.goto("/import?lang=tr")
    _upload(page, "okullar.csv", content, dry_run=True, encoding="cp1254")
    assert "Windows-1254" in page.locator("#import-file-format").inner_text()
    assert "'Kayıt Tarihi'" in page.locator("#import-warnings").inner_text()
    assert "Işıklı “Çağ” İlkokulu" in page.locator("#import-changes").inner_text()
    assert server.scalar("SELECT count(*) FROM sites WHERE code = 'IMP-TR-1'") == 0
