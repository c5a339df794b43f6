"""Chromium plays two recorded cameras together on the playback page, served by a real ``kgys serve`` from what a real
``kgys worker recorder`` records off simulated RTSP cameras: one reason opens both, they follow one clock after a
seek, a bookmark and a snapshot are audited, and a range typed in Europe/Istanbul opens exactly that UTC range."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from tests.browser.conftest import _env, running, school_with_cameras, submit
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)
from tests.waiting import wait_for

from kgys.sim.cameras import SimCameras

SEGMENT_SECONDS = 2
ISTANBUL = timedelta(hours=3)


@dataclass
class PlaybackServer:
    """The running server, its data and the cameras the tests play back."""

    url: str
    data_dir: Path
    camera_ids: list[int]

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """Rows of a read-only SQLite query."""
        db = sqlite3.connect(f"file:{self.data_dir / 'kgys.db'}?mode=ro", uri=True)
        try:
            return list(db.execute(sql).fetchall())
        finally:
            db.close()

    def count(self, action: str) -> int:
        """How many audit entries of ``action`` there are."""
        return int(str(self.query(f"SELECT count(*) FROM audit_entries WHERE action = '{action}'")[0][0]))

    def shared_range(self, segments: int) -> tuple[datetime, datetime]:
        """A whole-second range both cameras recorded, once each has ``segments`` segments."""
        for cam in self.camera_ids:
            sql = f"SELECT count(*) FROM recording_segments WHERE camera_id = {cam}"
            wait_for(f"{segments} segments of camera {cam}", lambda s=sql: int(str(self.query(s)[0][0])) >= segments,
                     90, every=0.5, detail=lambda: (self.data_dir / "recorder.log").read_text(errors="replace")[-2000:])
        firsts, lasts = [], []
        for cam in self.camera_ids:
            rows = self.query(f'SELECT min(start), max("end") FROM recording_segments WHERE camera_id = {cam}')
            firsts.append(datetime.fromisoformat(str(rows[0][0])).replace(tzinfo=UTC))
            lasts.append(datetime.fromisoformat(str(rows[0][1])).replace(tzinfo=UTC))
        start = max(firsts).replace(microsecond=0) + timedelta(seconds=1)
        return start, min(lasts).replace(microsecond=0)


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, sim_h264: SimCameras,  # noqa: F811
           browser: Browser) -> Iterator[tuple[PlaybackServer, Page]]:
    """One site with two cameras on the simulated streams and a school administrator (playback of its own site, no
    second factor); the web server, a signed-in Chromium tab, then the recorder worker."""
    data = tmp_path_factory.mktemp("playback")
    _, cams, user = school_with_cameras(data, [(f"Kamera {n}", "h264", sim_h264.url(n)) for n in (1, 2)],
                                        "school_admin")
    username = user.username
    env = _env(KGYS_SECURITY__COOKIE_SECURE="false", KGYS_RECORDING__SEGMENT_SECONDS=str(SEGMENT_SECONDS),
               KGYS_RECORDING__FSYNC="false", KGYS_WEB__TIME_ZONE="Europe/Istanbul")
    with running(data, env, browser, username, workers=("recorder",), accept_downloads=True) as (url, page):
        yield PlaybackServer(url, data, cams), page


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


STATE = """() => ({master: document.getElementById('player').dataset.master,
  tiles: [...document.querySelectorAll('#player .pb-tile')].map(t => ({wall: t.dataset.wall, gap: t.dataset.gap,
    overlay: t.querySelector('.pb-overlay').textContent, paused: t.querySelector('video').paused,
    time: t.querySelector('video').currentTime, ready: t.querySelector('video').readyState,
    seeking: t.querySelector('video').seeking}))})"""


def _in_step(page: Page, timeout: float) -> None:
    """Wait until both videos play within half a second of the master clock (and of each other)."""
    try:
        page.wait_for_function(IN_STEP, arg=[0.5], timeout=timeout)
    except Exception as exc:
        raise AssertionError(f"not in step: {page.evaluate(STATE)}") from exc


def _open(server: PlaybackServer, page: Page, start: datetime, end: datetime, reason: str) -> None:
    cams = ",".join(str(c) for c in server.camera_ids)
    page.goto(f"{server.url}/playback?cameras={cams}&from={_iso(start)}&to={_iso(end)}")
    assert page.locator("#player").count() == 0  # nothing plays before the reason is given
    page.fill("#reason-form input[name=reason]", reason)
    submit(page, "#reason-form button[type=submit]")
    page.wait_for_selector("#player .pb-tile video")


# Each tile says which recorded moment its video shows (data-wall: its currentTime mapped through the playlist's
# program date-times); the grid says where the master clock is (data-master).
IN_STEP = """([tol]) => {
  const tiles = [...document.querySelectorAll('#player .pb-tile')];
  const master = parseFloat(document.getElementById('player').dataset.master);
  const walls = tiles.map(t => parseFloat(t.dataset.wall));
  if (walls.some(w => isNaN(w)) || tiles.some(t => t.querySelector('video').paused)) return false;
  return walls.every(w => Math.abs(w - master) < tol) && Math.abs(walls[0] - walls[1]) < tol;
}"""


def test_two_cameras_play_in_step_and_stay_together_after_a_seek(played: tuple[PlaybackServer, Page]) -> None:
    server, page = played
    start, end = server.shared_range(6)
    before = server.count("camera.playback.view")
    _open(server, page, start, end, "iki kamera birlikte")
    _in_step(page, 45_000)
    assert server.count("camera.playback.view") == before + 2  # one reason, one entry per camera
    reasons = server.query("SELECT DISTINCT reason FROM audit_entries WHERE action = 'camera.playback.view'")
    assert ("iki kamera birlikte",) in reasons

    # seek: a click at 70 % of the first camera's track sets the master clock there and every video follows
    track = page.locator(".tl-row .tl-track").first
    box = track.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] / 2)
    target = start.timestamp() + (end - start).total_seconds() * 0.7
    page.wait_for_function("([t]) => Math.abs(parseFloat(document.getElementById('player').dataset.master) - t) < 1",
                           arg=[target], timeout=10_000)
    _in_step(page, 30_000)
    # and still together a second of playing later
    page.wait_for_function("([t]) => parseFloat(document.getElementById('player').dataset.master) > t + 1",
                           arg=[target], timeout=20_000)
    _in_step(page, 10_000)
    walls = page.evaluate("() => [...document.querySelectorAll('#player .pb-tile')].map(t => +t.dataset.wall)")
    assert abs(walls[0] - walls[1]) < 0.5, walls


def test_a_bookmark_and_a_snapshot_are_audited(played: tuple[PlaybackServer, Page], tmp_path: Path) -> None:
    server, page = played
    start, end = server.shared_range(4)
    _open(server, page, start, end, "yer imi ve fotoğraf")
    _in_step(page, 45_000)
    page.click("#pb-play")  # pause: the master clock stops where the bookmark and the snapshot are taken
    page.wait_for_function("() => document.querySelector('#player .pb-tile video').paused")
    # five frames forward while paused: the clock moves 5 × 40 ms and both videos show that moment
    paused_at = float(page.get_attribute("#player", "data-master") or "nan")
    for _ in range(5):
        page.click("#pb-fwd")
    page.wait_for_function("""([t]) => {
      const master = parseFloat(document.getElementById('player').dataset.master);
      const walls = [...document.querySelectorAll('#player .pb-tile')].map(el => parseFloat(el.dataset.wall));
      return Math.abs(master - t) < 0.001 && walls.every(w => Math.abs(w - t) < 0.1);
    }""", arg=[paused_at + 0.2], timeout=15_000)
    marks = server.count("bookmark.create")
    page.fill("#pb-note", "kırmızı araç")
    page.click("#pb-bookmark")
    page.wait_for_selector("#bookmarks li[data-bookmark]")
    assert "kırmızı araç" in page.inner_text("#bookmarks")
    wait_for("the bookmark's audit entry", lambda: server.count("bookmark.create") == marks + 1, 10)
    assert page.locator("#timeline .mark").count() >= 1
    master = float(page.get_attribute("#player", "data-master") or "nan")
    noted = server.query("SELECT start FROM bookmarks ORDER BY id DESC LIMIT 1")
    marked = datetime.fromisoformat(str(noted[0][0])).replace(tzinfo=UTC).timestamp()
    assert abs(marked - master) < 0.01

    shots = server.count("camera.snapshot")
    with page.expect_download() as info:
        page.click("#pb-snapshot")
    saved = tmp_path / "shot.png"
    info.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert info.value.suggested_filename.endswith("Z.png")
    wait_for("the snapshot's audit entry", lambda: server.count("camera.snapshot") == shots + 1, 10)
    rows = server.query("SELECT reason, details FROM audit_entries WHERE action = 'camera.snapshot' "
                        "ORDER BY seq DESC LIMIT 1")
    assert rows[0][0] == "yer imi ve fotoğraf"
    taken = datetime.fromisoformat(json.loads(str(rows[0][1]))["at"].replace("Z", "+00:00")).timestamp()
    assert abs(taken - master) < 0.01


def test_a_range_typed_in_istanbul_opens_that_utc_range(played: tuple[PlaybackServer, Page]) -> None:
    server, page = played
    start, end = server.shared_range(2)
    cams = ",".join(str(c) for c in server.camera_ids)
    page.goto(f"{server.url}/playback?cameras={cams}")
    assert "Europe/Istanbul (UTC+03:00)" in page.inner_text("#range")
    assert page.input_value("#range input[name=cameras]") == cams
    page.fill("#range input[name=from]", (start + ISTANBUL).strftime("%Y-%m-%dT%H:%M:%S"))
    page.fill("#range input[name=to]", (end + ISTANBUL).strftime("%Y-%m-%dT%H:%M:%S"))
    submit(page, "#range button[type=submit]")
    assert page.get_attribute("#reason-form input[name=from]", "value") == _iso(start)
    assert page.get_attribute("#reason-form input[name=to]", "value") == _iso(end)
    data = json.loads(page.evaluate("() => document.getElementById('review-data').textContent"))
    assert (data["from"], data["to"]) == (start.timestamp(), end.timestamp())
    # the timeline's ticks are labelled in Istanbul time
    first_tick = page.locator("#tl-scale .tick").first
    tick_at = datetime.fromtimestamp(float(first_tick.get_attribute("data-t") or "nan"), UTC) + ISTANBUL
    assert first_tick.inner_text().strip() == tick_at.strftime("%H:%M:%S")
