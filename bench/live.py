"""Live view: glass-to-glass delay of the low-latency path and of HLS, and the CPU of serving 16 live tiles.

**Delay.** A live simulated camera whose frames carry the wall-clock time: ffmpeg draws a 640×360 test picture
in real time, stamps each frame with the time it was made (``setpts=RTCTIME``) and draws the milliseconds as a
row of 24 black/white boxes (binary, ``drawbox`` with ``enable`` expressions), encodes it (x264, zero latency,
a keyframe a second, no B-frames) and pipes it to a GStreamer RTSP server that sends each frame on unchanged
as it comes (the camera). ``kgys serve`` and ``kgys worker recorder`` record it (10 s segments, the default);
Chromium opens it on the video wall and, every 10 ms, draws the box row of the frame on screen onto a canvas and
reads the time back: a new time, taken from the moment it is first seen, is one frame's delay (same host, same
clock). Once over the low-latency path, once over HLS (the page without ``MediaSource``, as a browser
without it). The delay includes the source's own encoding, as a camera's would.

**CPU.** ``--cameras`` (16) simulated 1080p cameras (``kgys sim cameras``, about 4 Mbit/s each), each watched by
one viewer of the low-latency WebSocket (16 tiles: one per camera; the viewers are plain WebSocket clients in a
child process, not counted, because 16 Chromium decoders would swamp a small machine). Measured: the
recorder's ffmpegs and the web process (``kgys serve``: its follower, remux and WebSockets) against 16 bare
``ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`` pulls of the same streams, in the same run (bare, kgys,
bare). The goal is on serving: the web process ÷ bare (the recorder's ffmpegs record every camera whether it is
watched or not); the web process's kernel share and its CPU at rest, before the viewers connect, are shown
apart, and so are the recorder's own Python (indexing, health) and the whole path (recorder ffmpegs + web).
The viewers count the fragments (frames) and the WebSocket messages (several frames each) they receive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from bench import common
from bench.live_cpu import VIEWER, Served, counter, cpu_table
from bench.recording import KGYS, sample_many, sample_tree, seed, stop_group, wait_port
from kgys.accounts import service as account_service
from kgys.accounts.actor import system_actor
from kgys.cameras.models import Camera
from kgys.sim.cameras import SYSTEM_PYTHON, ensure_clip

BITS = 24
BOX = 24
PASSWORD = "bench-granite-83-harbour"
RELAY = r"""
import sys, threading, gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer
Gst.init(None)
CAPS = "video/x-h264,stream-format=byte-stream,alignment=au"
server = GstRtspServer.RTSPServer(); server.set_address("127.0.0.1"); server.set_service(sys.argv[1])
server.get_thread_pool().set_max_threads(-1)
f = GstRtspServer.RTSPMediaFactory(); f.set_shared(True)
f.set_launch("( appsrc name=src is-live=true do-timestamp=true format=time ! h264parse config-interval=-1 ! "
             "rtph264pay name=pay0 pt=96 config-interval=-1 )")
srcs = []
def configure(_f, media):
    src = media.get_element().get_by_name_recurse_up("src")
    src.set_property("caps", Gst.Caps.from_string(CAPS))
    entry = [src, False]
    srcs.append(entry)
    media.connect("unprepared", lambda *_: srcs.remove(entry) if entry in srcs else None)
f.connect("media-configure", configure)
server.get_mount_points().add_factory("/live", f)
server.attach(None)
reader = Gst.parse_launch(f"fdsrc fd=0 ! h264parse ! {CAPS} ! appsink name=sink sync=false")
sink = reader.get_by_name("sink")
reader.set_state(Gst.State.PLAYING)
def pump():  # each access unit from ffmpeg goes out at once, stamped with the time it is pushed
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            return
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        data, key = bytes(info.data), not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        buf.unmap(info)
        for entry in list(srcs):
            entry[1] = entry[1] or key
            if entry[1]:
                entry[0].emit("push-buffer", Gst.Buffer.new_wrapped(data))
threading.Thread(target=pump, daemon=True).start()
print("ready", flush=True)
GLib.MainLoop().run()
"""
# in the page: for each frame shown, the time drawn in it read back and taken from the moment it is shown
SAMPLER = """([bits, box]) => {
  const video = document.querySelector('.wall-tile[data-camera] video');
  const canvas = document.createElement('canvas'); canvas.width = bits * box; canvas.height = box;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const mod = 2 ** bits;
  let last = -1;
  window.delays = [];
  window.sampler = setInterval(() => {  // every 10 ms: a new frame on screen is seen within 10 ms of showing
    if (video.readyState < 2) { return; }
    ctx.drawImage(video, 0, 0, bits * box, box, 0, 0, bits * box, box);
    const px = ctx.getImageData(0, 0, bits * box, box).data;
    let code = 0;
    for (let i = 0; i < bits; i++) {
      const at = ((box >> 1) * bits * box + i * box + (box >> 1)) * 4;
      if (px[at] + px[at + 1] + px[at + 2] > 384) { code += 2 ** i; }
    }
    if (code === last) { return; }
    last = code;
    window.delays.push((((Date.now() - code) % mod) + mod) % mod);
  }, 10);
}"""


def source_args() -> list[str]:
    """ffmpeg making the time-coded live camera picture, written as raw H.264 to its standard output."""
    boxes = ",".join(f"drawbox=x={i * BOX}:y=0:w={BOX}:h={BOX}:color=white:t=fill:"
                     f"enable='eq(mod(floor(t*1000/{2 ** i}),2),1)'" for i in range(BITS))
    vf = (f"realtime,settb=1/1000,setpts=RTCTIME/1000,drawbox=x=0:y=0:w={BITS * BOX}:h={BOX}:color=black:t=fill,"
          f"{boxes},setpts=N*40")
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
            "-i", "testsrc2=size=640x360:rate=25", "-vf", vf, "-c:v", "libx264", "-preset", "ultrafast",
            "-tune", "zerolatency", "-g", "25", "-bf", "0", "-b:v", "1M", "-pix_fmt", "yuv420p",
            "-f", "h264", "-"]


def _user(db: common.BenchDb, name: str) -> str:
    """An operator of the whole tree; its bearer token."""
    with db.rt.sessions.begin() as session:
        u = account_service.create_user(session=session, actor=system_actor("bench"), username=name,
                                        password=PASSWORD, role="operator", jurisdiction_codes=["TR-99"])
        return account_service.issue_token(session=session, settings=db.rt.settings.security, user=u)


def _recorder(db: common.BenchDb) -> subprocess.Popen[bytes]:
    env = dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(db.data_dir), KGYS_DATABASE__URL=db.url)
    return subprocess.Popen([*KGYS, "worker", "recorder"], env=env, cwd=common.ROOT, stdin=subprocess.DEVNULL,
                            stdout=(db.data_dir / "recorder.log").open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait(what: str, ok: object, timeout: float) -> None:
    assert callable(ok)
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def _camera_ids(db: common.BenchDb) -> list[int]:
    with db.rt.sessions() as session:
        return list(session.scalars(select(Camera.id).order_by(Camera.id)))


def _spooling(db: common.BenchDb, cameras: int) -> bool:
    spool = db.data_dir / "spool"
    return sum(1 for d in spool.glob("*") if any(d.glob("*.ts"))) >= cameras if spool.exists() else False


# ---- delay ----------------------------------------------------------------------------------------
def delays(seconds: float) -> dict[str, list[float]]:
    """Glass-to-glass delays (ms) of each path, from frames shown in Chromium."""
    out: dict[str, list[float]] = {}
    with common.throwaway_db("sqlite") as db:
        rtsp = common.free_port()
        source = subprocess.Popen(source_args(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  start_new_session=True)
        relay = subprocess.Popen([SYSTEM_PYTHON, "-c", RELAY, str(rtsp)], stdin=source.stdout,
                                 stdout=subprocess.DEVNULL, start_new_session=True)
        server = recorder = None
        try:
            wait_port(rtsp, relay, timeout=30)
            seed(db.rt, [f"rtsp://127.0.0.1:{rtsp}/live"])
            _user(db, "bench_viewer")
            server = common.kgys_server(db)
            recorder = _recorder(db)
            _wait("the recorder to write the camera's spool", lambda: _spooling(db, 1), 90)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=os.environ.get("KGYS_CHROMIUM", "/usr/bin/chromium"),
                                             args=["--no-sandbox", "--disable-gpu", "--autoplay-policy="
                                                   "no-user-gesture-required"])
                for path, script in (("low latency", ""),
                                     ("HLS", "window.WebKitMediaSource = window.MediaSource; "
                                             "delete window.MediaSource;")):
                    page = _open_tile(browser, server, script, _camera_ids(db)[0], path)
                    kind = page.get_attribute(".wall-tile[data-camera]", "data-path")
                    page.wait_for_timeout(5_000)  # settled at the live edge, or HLS at its distance
                    page.evaluate(SAMPLER, [BITS, BOX])
                    page.wait_for_timeout(seconds * 1000)
                    got = [float(x) for x in page.evaluate("() => window.delays") if 0 <= x < 60_000]
                    out[f"{path} (tile path: {kind})"] = got
                    page.close()
                browser.close()
        finally:
            for proc in (recorder, source, relay):
                if proc is not None:
                    stop_group(proc, grace=5.0)
            if server is not None:
                server.stop()
    return out


def _open_tile(browser: Browser, server: common.ServerProcess, script: str, camera: int, path: str) -> Page:
    """A signed-in tab with the camera playing on the wall (three tries: a loaded machine drops some)."""
    why = ""
    for _ in range(3):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        if script:
            page.add_init_script(script)
        try:
            page.goto(f"{server.base}/login")
            page.fill("input[name=username]", "bench_viewer")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("form[action='/login'] button[type=submit]")
            page.goto(f"{server.base}/wall?cameras={camera}")
            page.wait_for_function("() => document.getElementById('wall').dataset.ready === '1'")
            page.click("#wall-start")
            page.wait_for_function("() => document.querySelector('.wall-tile[data-camera]')"
                                   ".dataset.state === 'playing'", timeout=60_000)
            return page
        except PlaywrightError:
            tile = page.locator(".wall-tile[data-camera]")
            why = f"{tile.get_attribute('data-path')} {tile.locator('.state').inner_text()}"
            print(f"{path}: the tile did not play ({why}); again", file=sys.stderr)
            page.close()
    raise SystemExit(f"{path}: the tile did not play: {why}\n" + server.log.read_text(errors="replace")[-1500:])


# ---- CPU ------------------------------------------------------------------------------------------
def cpu(cameras: int, warmup: float, seconds: float) -> tuple[list[list[str]], list[str]]:
    """The CPU table: kgys serving ``cameras`` live tiles next to bare pulls."""
    with common.throwaway_db("sqlite") as db:
        clip = ensure_clip(data_dir=db.data_dir, codec="h264", seconds=10)
        port = common.free_port()
        sim = subprocess.Popen([*KGYS, "sim", "cameras", str(cameras), "--port", str(port)],
                               env=dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(clip.parent.parent)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        try:
            wait_port(port, sim, timeout=120)
            urls = [f"rtsp://127.0.0.1:{port}/cam{n}" for n in range(1, cameras + 1)]
            seed(db.rt, urls)
            token = _user(db, "bench_viewer")
            bare1 = _bare(urls, warmup, seconds / 2)
            got = _kgys(db, token, cameras, warmup, seconds)
            bare2 = _bare(urls, warmup, seconds / 2)
        finally:
            stop_group(sim)
    return cpu_table(cameras, (bare1[0] + bare2[0]) / (bare1[1] + bare2[1]), got)


def _bare(urls: list[str], warmup: float, seconds: float) -> tuple[float, float]:
    procs = [subprocess.Popen(["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
                               "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
             for url in urls]
    try:
        time.sleep(warmup)  # every stream connected before the window opens
        a, t0 = sample_many([p.pid for p in procs]), time.monotonic()
        time.sleep(seconds)
        b, t1 = sample_many([p.pid for p in procs]), time.monotonic()
    finally:
        for p in procs:
            stop_group(p, grace=5.0)
    return (b.own + b.children) - (a.own + a.children), t1 - t0


def _kgys(db: common.BenchDb, token: str, cameras: int, warmup: float, seconds: float) -> Served:
    server = common.kgys_server(db)
    recorder = _recorder(db)
    viewers = None
    try:
        _wait("the recorder to write every camera's spool", lambda: _spooling(db, cameras), 120)
        idle = min(10.0, seconds / 4)
        i0, ti0 = sample_tree(server.proc.pid), time.monotonic()
        time.sleep(idle)
        i1, ti1 = sample_tree(server.proc.pid), time.monotonic()
        ids = _camera_ids(db)
        viewers = subprocess.Popen([sys.executable, "-c", VIEWER, server.base, token, json.dumps(ids)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        count = counter(viewers)
        time.sleep(warmup)
        w0, r0, f0, t0 = sample_tree(server.proc.pid), sample_tree(recorder.pid), count(), time.monotonic()
        time.sleep(seconds)
        w1, r1, f1, t1 = sample_tree(server.proc.pid), sample_tree(recorder.pid), count(), time.monotonic()
    finally:
        if viewers is not None:
            stop_group(viewers, grace=5.0)  # type: ignore[arg-type]  # text mode
        stop_group(recorder)
        server.stop()
    return Served(web=(w1.own + w1.children) - (w0.own + w0.children), web_sys=w1.own_sys - w0.own_sys,
                  idle=(i1.own + i1.children) - (i0.own + i0.children), idle_window=ti1 - ti0,
                  ffmpegs=r1.children - r0.children, recorder=r1.own - r0.own, window=t1 - t0,
                  frames=f1[0] - f0[0], messages=f1[1] - f0[1])


def main() -> None:
    """Parse options, measure, report."""
    p = common.base_parser(__doc__.split("\n", 1)[0])
    p.set_defaults(engine="sqlite")
    p.add_argument("--seconds", type=float, default=60.0, help="frames sampled per path (default 60 s)")
    p.add_argument("--cameras", type=int, default=16, help="live tiles for the CPU part (default 16)")
    p.add_argument("--cpu-seconds", type=float, default=120.0, help="measured window of the CPU part (kgys; bare "
                                                                     "gets as long, half before and half after)")
    p.add_argument("--warmup", type=float, default=15.0, help="seconds before a CPU window opens")
    p.add_argument("--skip-cpu", action="store_true", help="only the delay")
    args = p.parse_args()
    common.install_signal_cleanup()
    found = delays(args.seconds)
    rows = [[path, f"{len(d):,}", f"{common.percentile(d, 50):.0f}", f"{common.percentile(d, 95):.0f}",
             f"{max(d, default=0):.0f}", "met" if d and path.startswith("low") and
             common.percentile(d, 95) <= 1000 else ("" if not path.startswith("low") else "missed")]
            for path, d in found.items()]
    body = common.table(["path", "frames", "p50 ms", "p95 ms", "max ms", "p95 ≤ 1 s"], rows)
    notes = ["Glass to glass: from the moment the source made a frame to the moment Chromium showed it, read "
             "back from the time drawn in the frame; one camera, one tile, 640×360 at 25 fps, 1 Mbit/s; "
             "the source's x264 encoding and the RTSP relay are inside the figure, as a camera's encoder would be."]
    if not args.skip_cpu:
        cpu_rows, cpu_notes = cpu(args.cameras, args.warmup, args.cpu_seconds)
        body += "\n\n" + common.table(["CPU (share of one core)", "total", "per tile", "÷ bare"], cpu_rows)
        notes += cpu_notes
    common.report("live view — glass-to-glass delay and the CPU of live tiles", body, kinds=["sqlite"],
                  append=args.append_results, notes=[*notes, "The machine is shared with other work; "
                                                              "the figures move with its load."])


if __name__ == "__main__":
    main()
