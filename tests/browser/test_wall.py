"""Chromium on the video wall of a real ``kgys serve`` over demo data: nine demo cameras recorded by a real
``kgys worker recorder`` off simulated RTSP cameras play on a 3×3 wall; a tile plays over the low-latency path,
and over HLS where the browser has no Media Source for it or the WebSocket fails; a layout saved comes back after
a reload; a camera that is offline shows its state and reason and retries without a new audit entry; ``?site=``
opens that site's cameras."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests import factories
from tests.browser.conftest import KGYS, _env, _free_port, running
from tests.recording.conftest import clip_h264, media_dir, sim_h264  # noqa: F401  (fixtures)
from tests.waiting import wait_for

from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import acting_as
from kgys.cameras.models import Camera
from kgys.config import Settings
from kgys.demo import sim as demo_sim
from kgys.runtime import make_runtime
from kgys.sim.cameras import SimCameras
from kgys.sites.models import Site

SEGMENT_SECONDS = 2


@dataclass
class WallServer:
    """The running server, its data and the cameras the tests use."""

    url: str
    data_dir: Path
    playing: list[int]
    dead: int
    site_code: str

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of a read-only SQLite query."""
        db = sqlite3.connect(f"file:{self.data_dir / 'kgys.db'}?mode=ro", uri=True)
        try:
            return list(db.execute(sql, params).fetchall())
        finally:
            db.close()

    def views(self, camera_id: int | None = None) -> int:
        """How many live viewings were audited (of one camera)."""
        sql = "SELECT count(*) FROM audit_entries WHERE action = 'camera.live.view'"
        rows = self.query(sql + " AND object_id = ?", str(camera_id)) if camera_id else self.query(sql)
        return int(str(rows[0][0]))


@pytest.fixture(scope="module")
def wall(tmp_path_factory: pytest.TempPathFactory, sim_h264: SimCameras,  # noqa: F811
         browser: Browser) -> Iterator[tuple[WallServer, Page]]:
    """Demo data with nine cameras of three sites on the simulated streams and one camera of the first site on an
    address nothing answers; an operator without a second factor; the server, the recorder and a signed-in tab."""
    data = tmp_path_factory.mktemp("wall") / "demo"
    seeded = subprocess.run([*KGYS, "demo", "--no-serve", "--data-dir", str(data), "--sites", "12"],
                            capture_output=True, text=True, env=_env(), timeout=300, check=False)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    rt = make_runtime(Settings(mode="demo", data_dir=data))
    with rt.sessions.begin() as session:
        urls = [sim_h264.url(n) for n in (1, 2, 3, 4, 5, 6, 1, 2, 3)]
        sims = demo_sim.attach_sim_cameras(session, urls, per_site=3)
        assert len(sims) == 9, sims
        first = sims[0].site_code
        site_id = session.scalar(select(Site.id).where(Site.code == first))
        dead = session.scalars(select(Camera).where(Camera.site_id == site_id, Camera.stream_url == "",
                                                    Camera.enabled.is_(True)).order_by(Camera.id)).first()
        assert dead is not None
        with acting_as(session, system_actor("test"), reason="test: a camera that does not answer"):
            dead.stream_url = f"rtsp://127.0.0.1:{_free_port()}/cam1"
            session.flush()
        dead_id = dead.id
        user = factories.user(session, "operator", scope=["TR-99", "TR-98"])
        username = user.username
    with Session(rt.engine) as s:
        playing = list(s.scalars(select(Camera.id).where(Camera.stream_url.like("rtsp://127.0.0.1:%/cam%"),
                                                         Camera.id != dead_id)
                                 .order_by(Camera.site_id != site_id, Camera.site_id, Camera.name)))
    rt.close()
    env = _env(KGYS_SECURITY__COOKIE_SECURE="false", KGYS_RECORDING__SEGMENT_SECONDS=str(SEGMENT_SECONDS),
               KGYS_RECORDING__FSYNC="false")
    with running(data, env, browser, username, workers=("recorder",),
                 viewport={"width": 1600, "height": 1000}) as (url, page):
        server = WallServer(url, data, playing, dead_id, first)
        for cam in playing:
            wait_for(f"a first recorded segment of camera {cam}", lambda c=cam: server.query(
                "SELECT 1 FROM recording_segments WHERE camera_id = ?", c), timeout=120, every=0.5,
                detail=lambda: (data / "recorder.log").read_text(errors="replace")[-2000:])
        yield server, page


def _start(page: Page) -> None:
    page.wait_for_function("() => document.getElementById('wall').dataset.ready === '1'")
    page.click("#wall-start")


def _tile_cameras(page: Page) -> list[int]:
    found = page.eval_on_selector_all(".wall-tile[data-camera]", "els => els.map(e => e.dataset.camera)")
    return [int(x) for x in found]


def test_a_3x3_wall_of_demo_cameras_plays(wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    before = server.views()
    page.goto(f"{server.url}/wall?cameras={','.join(map(str, server.playing))}")
    _start(page)
    assert page.get_attribute("#wall", "data-rows") == "3" and page.get_attribute("#wall", "data-cols") == "3"
    assert _tile_cameras(page) == server.playing
    page.wait_for_function(
        "() => [...document.querySelectorAll('.wall-tile[data-camera] video')].every(v => v.currentTime > 1)",
        timeout=90_000)
    first = page.eval_on_selector_all(".wall-tile video", "vs => vs.map(v => v.currentTime)")
    page.wait_for_function(
        "t => [...document.querySelectorAll('.wall-tile video')].every((v, i) => v.currentTime > t[i] + 1)",
        arg=first, timeout=30_000)
    # one audit entry per camera, with the reason in its neutral form whatever the viewer's language
    assert server.views() - before == 9
    reasons = server.query("SELECT DISTINCT reason FROM audit_entries WHERE action = 'camera.live.view'")
    assert reasons == [("live monitoring",)]
    # the camera tree shows the sites of the scope, the recorded cameras as recording
    page.fill("#tree-search", server.site_code)
    item = page.locator(f"#tree .cam[data-camera='{server.playing[0]}']")
    assert item.get_attribute("data-state") == "recording"


def _plays(page: Page, cam: int) -> None:
    """The camera's tile plays: its video's time advances by a second."""
    tile = page.locator(f".wall-tile[data-camera='{cam}']").element_handle()
    page.wait_for_function("el => el.querySelector('video').currentTime > 0.5 && el.dataset.state === 'playing'",
                           arg=tile, timeout=60_000)
    first = page.evaluate("el => el.querySelector('video').currentTime", tile)
    page.wait_for_function("([el, t]) => el.querySelector('video').currentTime > t + 1", arg=[tile, first],
                           timeout=30_000)


def test_a_tile_plays_over_the_low_latency_path(wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    cam = server.playing[0]
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(f"{server.url}/wall?cameras={cam}")
    _start(page)
    _plays(page, cam)
    tile = page.locator(f".wall-tile[data-camera='{cam}']")
    assert tile.get_attribute("data-path") == "ll"
    badge = tile.locator(".path")
    assert badge.inner_text() == "LL" and "WebSocket" in (badge.get_attribute("title") or "")
    assert [u for u in sockets if f"/live/{cam}/ws?t=" in u]
    page.wait_for_function("v => parseFloat(v.dataset.behind) < 0.6", arg=tile.locator("video").element_handle())
    # an operator watches live but may not play recordings back: no instant replay on the tile
    assert tile.locator("a.replay").count() == 0


# Chromium has MediaSource; hls.js also finds it as WebKitMediaSource, lowlat.js only as MediaSource. The second
# case lets the tile try the socket, which fails at once.
NO_MSE = "window.WebKitMediaSource = window.MediaSource; delete window.MediaSource;"
NO_SOCKET = """window.WebSocket = function () {
  var ws = this;
  setTimeout(function () { if (ws.onclose) { ws.onclose({code: 1006, reason: ""}); } }, 10);
};
window.WebSocket.prototype.close = function () {};"""


@pytest.mark.parametrize("script", [NO_MSE, NO_SOCKET], ids=["no-media-source", "socket-fails"])
def test_a_tile_falls_back_to_hls(wall: tuple[WallServer, Page], script: str) -> None:
    server, page = wall
    cam = server.playing[1]
    tab = page.context.new_page()
    try:
        tab.add_init_script(script)
        tab.goto(f"{server.url}/wall?cameras={cam}")
        _start(tab)
        _plays(tab, cam)
        tile = tab.locator(f".wall-tile[data-camera='{cam}']")
        assert tile.get_attribute("data-path") == "hls"
        assert tile.locator(".path").inner_text() == "HLS"
        if script == NO_SOCKET:
            assert "düşük gecikmeli yol" in (tile.locator(".path").get_attribute("title") or "").lower()
    finally:
        tab.close()


def test_a_layout_saved_comes_back_after_a_reload(wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    page.goto(f"{server.url}/wall")
    _start(page)
    page.click("button[data-grid='3x3']")
    # drag a camera from the tree onto a tile, and place another by selecting a tile and clicking the camera
    page.fill("#tree-search", server.site_code)
    page.drag_and_drop(f"#tree .cam[data-camera='{server.playing[1]}']", ".wall-tile[data-index='8']")
    page.click(".wall-tile[data-index='0']")
    page.click(f"#tree .cam[data-camera='{server.playing[2]}']")
    page.click(".wall-tile[data-index='0']")
    page.click("#tile-grow")  # the first tile takes two rows and two columns
    assert page.locator(".wall-tile").count() == 6
    # double-click enlarges a tile over the whole wall, and again brings the grid back
    page.dblclick(".wall-tile[data-index='5']")
    assert page.locator(".wall-grid.zoomed .wall-tile.zoom[data-index='5']").is_visible()
    assert not page.locator(".wall-tile[data-index='0']").is_visible()
    page.dblclick(".wall-tile[data-index='5']")
    assert page.locator(".wall-tile[data-index='0']").is_visible()
    page.fill("#layout-name", "Nöbet duvarı")
    page.select_option("#layout-share", "operator")
    page.click("#layout-save")
    page.wait_for_function("() => document.getElementById('wall').dataset.saved")
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#layout-list option').length > 1")
    page.select_option("#layout-list", label="Nöbet duvarı")
    assert page.locator(".wall-tile").count() == 6
    assert page.get_attribute(".wall-tile[data-index='5']", "data-camera") == str(server.playing[1])
    big = page.locator(".wall-tile[data-index='0']")
    assert big.get_attribute("data-camera") == str(server.playing[2])
    assert "span 2 / span 2" in (big.get_attribute("style") or "")
    rows = server.query("SELECT name, shared_role, rows, cols FROM wall_layouts")
    assert rows == [("Nöbet duvarı", "operator", 3, 3)]
    assert server.query("SELECT count(*) FROM audit_entries WHERE action = 'wall_layout.create'") == [(1,)]


def test_an_offline_camera_shows_its_state_and_retries_without_new_audit_entries(
        wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    wait_for("the recorder to mark the dead camera offline", lambda: server.query(
        "SELECT reason FROM camera_health WHERE camera_id = ? AND state = 'offline'", server.dead), timeout=60)
    page.goto(f"{server.url}/wall?cameras={server.dead}")
    _start(page)
    tile = page.locator(f".wall-tile[data-camera='{server.dead}']")
    page.wait_for_function("el => el.dataset.state === 'offline' && parseInt(el.dataset.attempts || '0') >= 2",
                           arg=tile.element_handle(), timeout=45_000)
    text = tile.locator(".state").inner_text()
    assert text.startswith("Çevrim dışı: ") and "sn sonra yeniden denenecek" in text, text
    assert server.views(server.dead) == 1


def test_site_opens_that_sites_cameras(wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    page.goto(f"{server.url}/sites/{server.site_code}")
    with page.expect_navigation():
        page.click("#open-wall")
    assert f"/wall?site={server.site_code}" in page.url
    page.wait_for_function("() => document.getElementById('wall').dataset.ready === '1'")
    ids = sorted(int(str(r[0])) for r in server.query(
        "SELECT c.id FROM cameras c JOIN sites s ON s.id = c.site_id WHERE s.code = ?", server.site_code))
    assert sorted(_tile_cameras(page)) == ids
    assert page.get_attribute("#wall", "data-rows") == "3"


def test_an_alert_opens_its_sites_cameras_on_the_wall(wall: tuple[WallServer, Page]) -> None:
    server, page = wall
    alert_id, code = server.query("SELECT a.id, s.code FROM alerts a JOIN sites s ON s.id = a.site_id "
                                  "ORDER BY a.id LIMIT 1")[0]
    page.goto(f"{server.url}/alerts/{alert_id}")
    with page.expect_navigation():
        page.click("#alert-wall")
    page.wait_for_function("() => document.getElementById('wall').dataset.ready === '1'")
    ids = sorted(int(str(r[0])) for r in server.query(
        "SELECT c.id FROM cameras c JOIN sites s ON s.id = c.site_id WHERE s.code = ?", code))
    assert sorted(_tile_cameras(page)) == ids
    assert page.input_value("#wall-reason select[name=reason]") == "alert follow-up"
