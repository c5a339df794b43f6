"""Chromium end to end through a footage request: the investigator asks for recorded footage, the judicial liaison
records the decision with its scanned PDF, a supervisor approves it, the investigator orders a release with the
faces blurred, the supervisor reviews the redaction (a region added) and confirms, and the investigator downloads
the package through its one-time link, checks it with ``kgys_verify`` against the published key and records the
hand-over. Served by a real ``kgys serve``, recorded by a real ``kgys worker recorder`` off simulated RTSP cameras
and built by a real ``kgys worker jobs``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from kgys_verify.package import verify_package
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests import factories
from tests.browser.conftest import _env, running, school_with_cameras, submit
from tests.browser.test_exports import ExportServer
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)

from kgys.accounts.models import User
from kgys.config import Settings
from kgys.runtime import make_runtime
from kgys.sim.cameras import SimCameras

PDF = b"%PDF-1.4\n% karar\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
ZONE = ZoneInfo("Europe/Istanbul")  # the server's zone
SLOW = 180_000  # ms: the worker cuts, finds faces, renders and signs on a busy machine


@dataclass
class Evidence:
    """The running server, its data, the camera and the people of the request."""

    url: str
    data_dir: Path
    camera_id: int
    users: dict[str, User]


def _people(data: Path) -> dict[str, User]:
    """A judicial liaison and a supervisor of the school's district, with their second factor."""
    rt = make_runtime(Settings(mode="demo", data_dir=data))
    try:
        with rt.sessions.begin() as session:
            return {role: factories.user(session, role, scope=["TR-99-A"], box=rt.box)
                    for role in ("judicial_liaison", "supervisor")}
    finally:
        rt.close()


def _signed_in(browser: Browser, url: str, user: User) -> BrowserContext:
    """A fresh Chromium profile signed in as ``user`` (password and second factor)."""
    ctx = browser.new_context(locale="tr-TR", accept_downloads=True)
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", factories.PASSWORD)
    submit(page, "form[action='/login'] button[type=submit]")
    if "/login/totp" in page.url:
        page.fill("input[name=code]", factories.totp_code(user))
        submit(page, "form[action='/login/totp'] button[type=submit]")
    assert "/login" not in page.url, page.inner_text("main")[:800]
    return ctx


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory, sim_h264: SimCameras,  # noqa: F811
             browser: Browser) -> Iterator[tuple[Evidence, Page]]:
    """One camera at a school, an investigator signed in, the web server, the recorder and the jobs worker."""
    data = tmp_path_factory.mktemp("evidence")
    _, cams, user = school_with_cameras(data, [("Giriş Kamerası", "h264", sim_h264.url(1))], "investigator",
                                        second_factor=True)
    people = _people(data)
    env = _env(KGYS_SECURITY__COOKIE_SECURE="false", KGYS_RECORDING__SEGMENT_SECONDS="2",
               KGYS_RECORDING__FSYNC="false", KGYS_EVIDENCE__RELEASE_POLL_SECONDS="0.5")
    with running(data, env, browser, user.username, workers=("recorder", "jobs"), accept_downloads=True,
                 totp=lambda: factories.totp_code(user)) as (url, page):
        yield Evidence(url, data, cams[0], people | {"investigator": user}), page


def test_request_decision_approval_release_review_download_verify(evidence: tuple[Evidence, Page], browser: Browser,
                                                                  tmp_path: Path) -> None:
    ev, inv = evidence
    start = ExportServer(ev.url, ev.data_dir, [ev.camera_id]).first_segments()[0] + timedelta(seconds=1)
    end = start + timedelta(seconds=3)
    local = [f"{t.astimezone(ZONE):%Y-%m-%dT%H:%M:%S}" for t in (start, end)]

    inv.goto(f"{ev.url}/evidence/requests/new?cameras={ev.camera_id}")
    inv.fill("#f-investigation_no", "2026/321")
    inv.fill("#f-requesting_unit", "Merkez Asayiş")
    inv.fill("#f-purpose", "okul girişinde yaralama")
    inv.fill("#f-from_0", local[0])
    inv.fill("#f-to_0", local[1])
    submit(inv, "#request-submit")
    request_url = inv.url
    assert "/evidence/requests/" in request_url and not request_url.endswith("/new"), inv.content()[:800]

    liaison = _signed_in(browser, ev.url, ev.users["judicial_liaison"])
    page = liaison.new_page()
    page.goto(request_url)
    page.fill("#f-authority_name", "Merkez 2. Sulh Ceza Hâkimliği")
    page.fill("#f-decision_no", "2026/901 D.İş")
    page.fill("#f-decision_date", "2026-03-02")
    page.fill("#f-valid_until", "2099-01-01T00:00:00")
    page.set_input_files("#f-document", files=[{"name": "karar.pdf", "mimeType": "application/pdf",
                                                "buffer": PDF}])
    submit(page, "#decision-submit")
    expect(page.locator("#decision")).to_have_attribute("data-outcome", "granted")
    liaison.close()

    sup = _signed_in(browser, ev.url, ev.users["supervisor"])
    spage = sup.new_page()
    spage.goto(request_url)
    submit(spage, "#approve-submit")
    expect(spage.locator("#approval")).to_have_attribute("data-outcome", "approved")

    inv.goto(request_url)
    inv.check("#f-redact")
    inv.fill("#f-recipient", "Av. Zeynep Kaya")
    inv.fill("#f-organisation", "Merkez Cumhuriyet Başsavcılığı")
    submit(inv, "#release-submit")
    expect(inv.locator("#release-list tr[data-state=awaiting_review]")).to_be_visible(timeout=SLOW)
    review = inv.locator("#release-list a[id^=review-]").get_attribute("href")
    assert review is not None

    spage.goto(ev.url + review)
    spage.fill("#f-first_frame", "0")
    spage.fill("#f-last_frame", "2")
    for name, value in (("x1", "10"), ("y1", "10"), ("x2", "200"), ("y2", "150")):
        spage.fill(f"#f-{name}", value)
    submit(spage, "#edits-submit-1")
    expect(spage.locator("#clip-1")).to_contain_text("[10, 10, 200, 150]")
    submit(spage, "#confirm-review")
    sup.close()

    inv.goto(request_url)
    expect(inv.locator("#release-list tr[data-state=ready]")).to_be_visible(timeout=SLOW)
    submit(inv, "#release-list button[id^=link-]")
    with inv.expect_download() as got:
        inv.click("#download-package")
    path = tmp_path / "package.zip"
    got.value.save_as(path)
    key = httpx.get(f"{ev.url}/api/v1/audit/public-key", timeout=30).content
    report = verify_package(path, published_key=key)
    assert report.exit_code == 0, report.text()

    inv.goto(request_url)
    form = inv.locator("form[id^=receipt-form-]")
    form.locator("#f-name").fill("Av. Zeynep Kaya")
    form.locator("#f-id_no").fill("Baro sicil 12345")
    submit(inv, "button[id^=receipt-submit-]")
    expect(inv.locator("[id^=receipt-]").first).to_contain_text("Av. Zeynep Kaya")
