"""Recording cost: ``kgys worker recorder`` on N simulated 1080p cameras next to N bare ``ffmpeg -c copy``.

One run: a throwaway database and data directory with one site and N cameras pointing at ``kgys sim cameras
N`` (a GStreamer RTSP server on a free port; its test clip is made once before anything is measured).
Phase A runs the recorder worker for ``--minutes``; phase B records the same streams for as long with N bare
``ffmpeg -rtsp_transport tcp -i URL -c copy -f segment -segment_time 10 -reset_timestamps 1`` processes,
half of it before phase A and half after (B A B), so that a machine that gets slower or faster over the run
weighs on both sides alike.

CPU is utime + stime from ``/proc/<pid>/stat`` of each process and its live descendants, plus
cutime + cstime (children that exited and were reaped) — for kgys that counts the worker's Python, its
ffmpegs (restarted ones included). It is measured between a sample taken ``--warmup`` seconds after the start (all
streams connected) and one taken just before the stop. Disk bytes/s is the growth of the output
directories in the same window. The sim server's own CPU is reported apart: it is the test source.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bench import common
from bench.dataset import make_tree
from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import set_actor
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.schemas import CameraIn
from kgys.recording.models import Gap, Segment
from kgys.runtime import Runtime
from kgys.sim.cameras import ensure_clip
from kgys.sites import service as site_service
from kgys.sites.schemas import SiteCreate

KGYS = [sys.executable, "-m", "kgys"]  # the command line of this environment's kgys
TICK = os.sysconf("SC_CLK_TCK")


# ---- /proc ----------------------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float, float, int, float] | None:
    """(ppid, own CPU seconds, reaped children's CPU seconds, RSS bytes, own kernel CPU seconds) of a process,
    or None if gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    f = raw[raw.rindex(")") + 2:].split()
    return (int(f[1]), (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK,
            int(f[21]) * os.sysconf("SC_PAGE_SIZE"), int(f[12]) / TICK)


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                kids.setdefault(st[0], []).append(int(entry))
    return kids


def _descendants(root: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], list(kids.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


@dataclass
class Sample:
    """CPU seconds of a process tree at one moment: the root's own, its descendants', and RSS."""

    own: float = 0.0
    own_sys: float = 0.0  # part of ``own`` spent in the kernel (reads, fsync, renames, directory scans)
    children: float = 0.0
    reaped: float = 0.0  # part of ``children``: exited and reaped (failed or restarted ffmpegs)
    rss_own: int = 0
    rss_children: int = 0
    alive_children: int = 0


def sample_tree(root: int) -> Sample:
    """CPU and memory of ``root`` and every descendant (reaped ones through cutime/cstime)."""
    kids = _children_map()
    s = Sample()
    st = _stat(root)
    if st is not None:
        s.own, s.children, s.reaped, s.rss_own, s.own_sys = st[1], st[2], st[2], st[3], st[4]
    for pid in _descendants(root, kids):
        d = _stat(pid)
        if d is not None:
            s.children += d[1] + d[2]
            s.rss_children += d[3]
            s.alive_children += 1
    return s


def kernel_threads_cpu() -> float:
    """CPU seconds of the kernel's own threads (children of kthreadd): disk writeback and the file system
    journal, which do the writing of files nobody flushes, and the loopback network's soft interrupts."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[0] == 2:
                total += st[1]
    return total


def sample_many(pids: list[int]) -> Sample:
    """CPU and memory of a set of independent processes (the bare ffmpegs)."""
    s = Sample()
    for pid in pids:
        d = _stat(pid)
        if d is not None:
            s.children += d[1] + d[2]
            s.rss_children += d[3]
            s.alive_children += 1
    return s


def du(path: Path) -> int:
    """Bytes in the files under ``path``."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(dirpath, name)).st_size
    return total


class Reaper:
    """Empties recorded files ``age`` seconds after they were last written and counts the bytes they held, so
    that a long run does not fill the disk (128 cameras write about 65 MiB/s, 40 GiB in ten minutes). Files
    are truncated, not removed: names and counts stay, and nothing kgys reads is touched (the recorder reads
    a stored segment only within a second or two of indexing it)."""

    def __init__(self, dirs: list[Path], age: float = 30.0) -> None:
        self.dirs, self.age, self.freed = dirs, age, 0

    def sweep(self) -> None:
        """Empty every ``.ts`` file under the directories that is older than ``age``."""
        limit = time.time() - self.age
        for root in self.dirs:
            if root.name == "spool":  # what the recorder has not indexed yet is never touched
                continue
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    if not name.endswith(".ts"):
                        continue
                    path = os.path.join(dirpath, name)
                    with contextlib.suppress(OSError):
                        st = os.stat(path)
                        if st.st_size and st.st_mtime < limit:
                            os.truncate(path, 0)
                            self.freed += st.st_size

    def written(self) -> int:
        """Bytes written so far: what the files hold now plus what was emptied."""
        return sum(map(du, self.dirs)) + self.freed


# ---- processes ------------------------------------------------------------------------------------
def stop_group(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM the process group of ``proc`` (its own session), then SIGKILL after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until something listens on 127.0.0.1:``port``; fail if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the sim server exited with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"the sim server did not listen on {port} within {timeout:.0f} s")


def seed(rt: Runtime, urls: list[str]) -> None:
    """One jurisdiction tree, one site and a camera per URL, committed."""
    with rt.sessions.begin() as session:
        make_tree(session.connection(), districts_per_province=1)
    actor = system_actor("bench")
    with rt.sessions.begin() as session:
        set_actor(session, actor)
        site_service.create_site(session=session, actor=actor, data=SiteCreate(
            code="B0000001", name="Bench Okulu", type="primary_school", district="TR-99-01",
            latitude=39.9, longitude=32.8, priority=2))
        for n, url in enumerate(urls, 1):
            camera_flows.save_camera(session=session, actor=actor, box=rt.box, code="B0000001", data=CameraIn(
                name=f"Kamera {n}", megapixels=2.0, width=1920, height=1080, codec="h264", stream_url=url))


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    window: float = 0.0
    cpu_own: float = 0.0  # kgys's Python (0 for bare)
    cpu_own_sys: float = 0.0  # part of it in the kernel
    cpu_ffmpeg: float = 0.0
    cpu_sim: float = 0.0
    cpu_reaped: float = 0.0
    cpu_kernel: float = 0.0  # the kernel's threads over the window (not part of cpu_total)
    rss_own: int = 0
    rss_ffmpeg: int = 0
    bytes_written: int = 0
    early_exits: int = 0
    files: int = 0  # segment files written (bare)
    extra: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, other: Phase) -> None:
        """Count another measured window of the same kind into this one."""
        self.window += other.window
        for name in ("cpu_own", "cpu_own_sys", "cpu_ffmpeg", "cpu_sim", "cpu_reaped", "cpu_kernel",
                     "bytes_written", "early_exits", "files"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rss_own, self.rss_ffmpeg = max(self.rss_own, other.rss_own), max(self.rss_ffmpeg, other.rss_ffmpeg)

    @property
    def cpu_total(self) -> float:
        """CPU seconds of the recording side (kgys Python + ffmpegs)."""
        return self.cpu_own + self.cpu_ffmpeg


def measure(name: str, *, sim_pid: int, sample: object, out_dirs: list[Path], warmup: float, seconds: float,
            alive: object) -> Phase:
    """Sample the recording side and the sim between ``warmup`` and ``warmup + seconds``."""
    assert callable(sample) and callable(alive)
    reaper = Reaper(out_dirs)
    time.sleep(warmup)
    a0, s0, d0, t0 = sample(), sample_tree(sim_pid), reaper.written(), time.monotonic()
    k0 = kernel_threads_cpu()
    ph = Phase(name)
    last, swept = a0, t0
    while time.monotonic() - t0 < seconds:
        time.sleep(min(2.0, max(0.0, seconds - (time.monotonic() - t0))))
        if not alive():
            raise SystemExit(f"{name}: the recording process ended early")
        last = sample()
        ph.rss_own = max(ph.rss_own, last.rss_own)
        ph.rss_ffmpeg = max(ph.rss_ffmpeg, last.rss_children)
        if time.monotonic() - swept >= 10:
            reaper.sweep()
            swept = time.monotonic()
    s1, d1, k1 = sample_tree(sim_pid), reaper.written(), kernel_threads_cpu()
    ph.cpu_kernel = k1 - k0
    ph.window = time.monotonic() - t0
    ph.cpu_own, ph.cpu_ffmpeg = last.own - a0.own, last.children - a0.children
    ph.cpu_own_sys = last.own_sys - a0.own_sys
    ph.cpu_reaped = last.reaped - a0.reaped
    ph.cpu_sim = (s1.own + s1.children) - (s0.own + s0.children)
    ph.bytes_written = d1 - d0
    return ph


# ---- phases ---------------------------------------------------------------------------------------
def phase_kgys(db: common.BenchDb, *, sim_pid: int, cameras: int, warmup: float, seconds: float,
               profile: Path | None = None) -> Phase:
    """Run ``kgys worker recorder`` (under cProfile into ``profile`` if given) and read what it indexed."""
    env = dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(db.data_dir), KGYS_DATABASE__URL=db.url)
    log = (db.data_dir / "worker.log").open("wb")
    began = datetime.now(UTC)
    cmd = [*KGYS, "worker", "recorder"]
    if profile is not None:
        cmd = [sys.executable, "-m", "bench.profiled", str(profile), "worker", "recorder"]
    proc = subprocess.Popen(cmd, env=env, cwd=common.ROOT, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ph = measure("kgys", sim_pid=sim_pid, sample=lambda: sample_tree(proc.pid),
                     out_dirs=[db.data_dir / "recordings", db.data_dir / "spool"], warmup=warmup, seconds=seconds,
                     alive=lambda: proc.poll() is None)
        stopped = datetime.now(UTC)
    finally:
        stop_group(proc)
        log.close()
    window_start = began.timestamp() + warmup
    with db.rt.sessions() as session:
        segs = session.execute(select(Segment.camera_id, Segment.start, Segment.end, Segment.bytes,
                                      Segment.indexed_at).order_by(Segment.camera_id, Segment.start)).all()
        gaps = session.execute(select(Gap.camera_id, Gap.start, Gap.end, Gap.cause, Gap.detail,
                                      Gap.created_at)).all()
    during = [s for s in segs if s.indexed_at <= stopped]
    delays = [(s.indexed_at - s.end).total_seconds() for s in during]
    steady = [(s.indexed_at - s.end).total_seconds() for s in during if s.end.timestamp() >= began.timestamp() + warmup]
    holes = 0
    hole_notes: list[str] = []
    prev: dict[int, datetime] = {}
    for s in segs:
        p = prev.get(s.camera_id)
        if p is not None and (s.start - p).total_seconds() > 1.0 and s.start <= stopped:
            holes += 1
            if len(hole_notes) < 5:
                hole_notes.append(f"hole of {(s.start - p).total_seconds():.2f} s before camera {s.camera_id}'s "
                                  f"segment at {s.start:%H:%M:%S.%f} (+{(s.start - began).total_seconds():.0f} s), "
                                  f"{(s.end - s.start).total_seconds():.2f} s long, indexed "
                                  f"{(s.indexed_at - s.end).total_seconds():.2f} s after its end")
        prev[s.camera_id] = s.end
    run_gaps = [g for g in gaps if g.created_at.timestamp() >= window_start and g.created_at <= stopped]
    startup_gaps = [g for g in gaps if g.created_at.timestamp() < window_start]
    win_lo = datetime.fromtimestamp(window_start, UTC)
    overlap = [g for g in startup_gaps if g.end is None or g.end > win_lo]
    lost = sum((max(0.0, (min(g.end or stopped, stopped) - max(g.start, win_lo)).total_seconds())
                for g in [*overlap, *run_gaps]), 0.0)
    causes = sorted({g.cause for g in run_gaps})
    recorded = {s.camera_id for s in segs}
    details = Counter(re.sub(r"/cam\d+", "/camN", f"{g.cause}: {' / '.join(g.detail.splitlines())[:120]}")
                      for g in [*startup_gaps, *run_gaps])
    ph.notes = [f"gap reason ×{n}: {text}" for text, n in details.most_common(3)] + hole_notes
    ph.extra = {
        "segments indexed": f"{len(during):,}",
        "cameras with segments": f"{len(recorded)} / {cameras}",
        "gaps opened in the window": f"{len(run_gaps)}" + (f" ({', '.join(causes)})" if causes else ""),
        "gaps opened during start-up (excluded)": f"{len(startup_gaps)}" + (
            f" ({', '.join(sorted({g.cause for g in startup_gaps}))})" if startup_gaps else ""),
        "start-up gaps still open when the window began": str(len(overlap)),
        "camera-seconds in gaps inside the window": f"{lost:.0f} of {cameras * (stopped - win_lo).total_seconds():.0f}",
        "holes > 1 s between consecutive segments": str(holes),
        "index delay p50 / p99 / max (s)": (f"{common.percentile(delays, 50):.2f} / "
                                            f"{common.percentile(delays, 99):.2f} / {max(delays, default=0):.2f}"),
        "… of the segments that ended in the window": (f"{common.percentile(steady, 50):.2f} / "
                                                       f"{common.percentile(steady, 99):.2f} / "
                                                       f"{max(steady, default=0):.2f}"),
    }
    return ph


def phase_bare(out_dir: Path, urls: list[str], *, sim_pid: int, warmup: float, seconds: float) -> Phase:
    """Run one bare ``ffmpeg -c copy`` per stream."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n, url in enumerate(urls, 1):
            d = out_dir / f"cam{n}"
            d.mkdir(parents=True)
            procs.append(subprocess.Popen(
                ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-rtsp_transport", "tcp",
                 "-i", url, "-c", "copy", "-f", "segment", "-segment_time", "10", "-reset_timestamps", "1",
                 str(d / "out%05d.ts")], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=(d / "ffmpeg.log").open("wb"), start_new_session=True))
        pids = [p.pid for p in procs]
        ph = measure("bare", sim_pid=sim_pid, sample=lambda: sample_many(pids), out_dirs=[out_dir], warmup=warmup,
                     seconds=seconds, alive=lambda: any(p.poll() is None for p in procs))
        ph.early_exits = sum(p.poll() is not None for p in procs)
    finally:
        for p in procs:
            stop_group(p, grace=5.0)
    ph.files = sum(1 for _ in out_dir.rglob("*.ts"))
    shutil.rmtree(out_dir, ignore_errors=True)  # the next phase starts with the disk as free as this one did
    return ph


def render(a: Phase, b: Phase, *, cameras: int) -> str:
    """The result tables."""
    def pct(cpu: float, ph: Phase) -> str:
        return f"{cpu / ph.window * 100:.1f} %"

    def mib(v: float) -> str:
        return f"{v / 2**20:.1f}"

    ratio = a.cpu_total / b.cpu_total if b.cpu_total else float("nan")
    with_kernel = (a.cpu_total + a.cpu_kernel) / (b.cpu_total + b.cpu_kernel) if b.cpu_total else float("nan")
    rows = [
        ["measured window (s)", f"{a.window:.0f}", f"{b.window:.0f}", ""],
        ["CPU kgys Python (% of one core)", pct(a.cpu_own, a), "—", ""],
        ["… of which in the kernel (reads, fsync, renames)", pct(a.cpu_own_sys, a), "—", ""],
        ["CPU ffmpeg", pct(a.cpu_ffmpeg, a), pct(b.cpu_ffmpeg, b), ""],
        ["… of which exited children (failed or restarted ffmpegs)", pct(a.cpu_reaped, a), "—", ""],
        ["**CPU total**", pct(a.cpu_total, a), pct(b.cpu_total, b), f"**{ratio:.2f}×**"],
        ["CPU per camera", pct(a.cpu_total / cameras, a), pct(b.cpu_total / cameras, b), ""],
        ["kernel threads: writeback, journal, loopback network", pct(a.cpu_kernel, a), pct(b.cpu_kernel, b), ""],
        ["CPU total with the kernel threads", pct(a.cpu_total + a.cpu_kernel, a),
         pct(b.cpu_total + b.cpu_kernel, b), f"{with_kernel:.2f}×"],
        ["sim server CPU (not counted)", pct(a.cpu_sim, a), pct(b.cpu_sim, b), ""],
        ["peak RSS kgys Python (MiB)", mib(a.rss_own), "—", ""],
        ["peak RSS ffmpegs (MiB)", mib(a.rss_ffmpeg), mib(b.rss_ffmpeg), ""],
        ["disk written (MiB/s)", mib(a.bytes_written / a.window), mib(b.bytes_written / b.window),
         f"{(a.bytes_written / a.window) / (b.bytes_written / b.window):.2f}×" if b.bytes_written else ""],
    ]
    out = common.table(["", "kgys worker recorder", "bare ffmpeg -c copy", "kgys ÷ bare"], rows)
    details = [[k, v] for k, v in a.extra.items()] + [["bare: ffmpegs that exited before the end", str(b.early_exits)],
                                                     ["bare: segment files", f"{b.files:,}"]]
    return out + "\n\n" + common.table(["", "value"], details)


def main() -> None:
    """Parse options, run both phases and report."""
    p = common.base_parser(__doc__.split("\n", 1)[0])
    p.set_defaults(engine="sqlite")
    p.add_argument("--cameras", type=int, default=16, help="simulated cameras (default 16)")
    p.add_argument("--minutes", type=float, default=10.0, help="length of each phase (default 10)")
    p.add_argument("--warmup", type=float, default=20.0, help="seconds before the measured window starts")
    p.add_argument("--profile", type=Path, default=None,
                   help="run the recorder worker under cProfile (every thread, in CPU time: bench/profiled.py) "
                        "and write its statistics to this file")
    p.add_argument("--clip-dir", type=Path, default=None,
                   help="keep the generated test clip here between runs (default: the throwaway directory)")
    args = p.parse_args()
    if args.engine == "both":
        p.error("--engine: choose sqlite or postgresql (one recorder per run)")
    common.install_signal_cleanup()
    seconds = args.minutes * 60
    with common.throwaway_db(args.engine) as db, tempfile.TemporaryDirectory(prefix="kgys-bench-bare-") as bare:
        clip = ensure_clip(data_dir=args.clip_dir or db.data_dir, codec="h264", seconds=10)
        port = common.free_port()
        sim = subprocess.Popen([*KGYS, "sim", "cameras", str(args.cameras), "--port", str(port)],
                               env=dict(os.environ, KGYS_MODE="dev", KGYS_DATA_DIR=str(clip.parent.parent)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        try:
            wait_port(port, sim, timeout=120)
            urls = [f"rtsp://127.0.0.1:{port}/cam{n}" for n in range(1, args.cameras + 1)]
            seed(db.rt, urls)
            print(f"phase B, first half: bare ffmpeg, {args.cameras} streams, {seconds / 2:.0f} s", file=sys.stderr)
            b = phase_bare(Path(bare) / "1", urls, sim_pid=sim.pid, warmup=args.warmup, seconds=seconds / 2)
            print(f"phase A: kgys worker recorder, {args.cameras} cameras, {seconds:.0f} s", file=sys.stderr)
            a = phase_kgys(db, sim_pid=sim.pid, cameras=args.cameras, warmup=args.warmup, seconds=seconds,
                           profile=args.profile)
            print(f"phase B, second half: bare ffmpeg, {args.cameras} streams, {seconds / 2:.0f} s", file=sys.stderr)
            b.add(phase_bare(Path(bare) / "2", urls, sim_pid=sim.pid, warmup=args.warmup, seconds=seconds / 2))
        finally:
            stop_group(sim)
    common.report(f"recording — {args.cameras} cameras × {args.minutes:g} min, {args.engine}",
                  render(a, b, cameras=args.cameras), kinds=[args.engine], append=args.append_results,
                  notes=[*(f"- {n}" for n in a.notes),
                         f"CPU is % of one core (the machine has {os.cpu_count()}); the window starts "
                         f"{args.warmup:g} s after each phase starts; phase B ran half before phase A and "
                         "half after it."])


if __name__ == "__main__":
    main()
