"""Chromium asks for a footage export of two cameras, watches its progress bar reach done without reloading the
page, and downloads the zip; served by a real ``kgys serve``, recorded by a real ``kgys worker recorder`` off
simulated RTSP cameras and built by a real ``kgys worker jobs``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from tests import factories
from tests.browser.conftest import _env, running, school_with_cameras, submit
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)
from tests.waiting import wait_for

from kgys.sim.cameras import SimCameras


@dataclass
class ExportServer:
    """The running server, its data and the two cameras."""

    url: str
    data_dir: Path
    camera_ids: list[int]

    def first_segments(self) -> list[datetime]:
        """The start of each camera's first recorded segment, once each has three."""
        def starts() -> list[datetime] | None:
            db = sqlite3.connect(f"file:{self.data_dir / 'kgys.db'}?mode=ro", uri=True)
            try:
                rows = [db.execute("SELECT count(*), min(start) FROM recording_segments WHERE camera_id = ?",
                                   (c,)).fetchone() for c in self.camera_ids]
            finally:
                db.close()
            if any(int(n) < 3 for n, _ in rows):
                return None
            return [datetime.fromisoformat(str(s)).replace(tzinfo=UTC) for _, s in rows]

        found = wait_for("three segments of each camera", starts, 120, every=0.5,
                         detail=lambda: (self.data_dir / "recorder.log").read_text(errors="replace")[-2000:])
        return found


@pytest.fixture(scope="module")
def exporting(tmp_path_factory: pytest.TempPathFactory, sim_h264: SimCameras,  # noqa: F811
              browser: Browser) -> Iterator[tuple[ExportServer, Page]]:
    """Two cameras at one school, a supervisor signed in (password and second factor), the web server, the
    recorder and the jobs worker."""
    data = tmp_path_factory.mktemp("exports")
    _, cams, user = school_with_cameras(
        data, [(f"Bahçe Kamerası {n}", "h264", sim_h264.url(n)) for n in (1, 2)], "supervisor", second_factor=True)
    env = _env(KGYS_SECURITY__COOKIE_SECURE="false", KGYS_RECORDING__SEGMENT_SECONDS="2",
               KGYS_RECORDING__FSYNC="false")
    with running(data, env, browser, user.username, workers=("recorder", "jobs"), accept_downloads=True,
                 totp=lambda: factories.totp_code(user)) as (url, page):
        yield ExportServer(url, data, cams), page


def test_an_export_is_asked_for_followed_and_downloaded(exporting: tuple[ExportServer, Page],
                                                        tmp_path: Path) -> None:
    server, page = exporting
    start = max(server.first_segments()) + timedelta(seconds=1)
    end = start + timedelta(seconds=3)
    ids = ",".join(map(str, server.camera_ids))
    page.goto(f"{server.url}/exports/new?cameras={ids}&from={start:%Y-%m-%dT%H:%M:%S}Z&to={end:%Y-%m-%dT%H:%M:%S}Z")
    expect(page.locator("#export-cameras")).to_contain_text("Bahçe Kamerası 1")
    expect(page.locator("#export-cameras")).to_contain_text("Bahçe Kamerası 2")
    local = start.astimezone(ZoneInfo("Europe/Istanbul"))  # the server's zone
    assert page.input_value("#f-from") == f"{local:%Y-%m-%dT%H:%M:%S}"
    page.fill("#f-reason", "soruşturma 2026/99")
    submit(page, "#export-submit")
    assert "/exports/" in page.url and not page.url.endswith("/new"), page.content()[:800]
    page.evaluate("window.kgysSamePage = true")  # gone if the page were reloaded
    expect(page.locator("#export-ready")).to_be_visible(timeout=120_000)
    assert page.evaluate("window.kgysSamePage") is True
    assert page.locator("#export-progress").evaluate("el => el.value") == 1
    expect(page.locator("#export-percent")).to_have_text("100%")
    expect(page.locator("#export-state")).to_have_text("Hazır")
    with page.expect_download() as got:
        page.click("#export-download")
    path = tmp_path / "export.zip"
    got.value.save_as(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == page.inner_text("#export-sha").strip()
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert sorted(n for n in zf.namelist() if n.endswith(".mp4")) == [f"camera-{c}.mp4" for c in
                                                                          server.camera_ids]
        for cam in manifest["cameras"]:
            assert hashlib.sha256(zf.read(cam["file"])).hexdigest() == cam["sha256"]
    assert manifest["reason"] == "soruşturma 2026/99"
    page.goto(f"{server.url}/exports")
    expect(page.locator("#export-table")).to_contain_text("soruşturma 2026/99")
