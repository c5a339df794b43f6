"""The recorder worker as a real process, recording real RTSP streams with real ffmpeg.

One run per database engine walks through every failure the issue names, on four cameras at once:
camera 1's ffmpeg is killed, camera 2's source goes offline (until the recorder has tried it again
OFFLINE_RETRIES times), camera 4 hangs (connected, sending nothing) until the recorder gives up on it,
camera 3 is left alone; then the recorder itself is killed mid-segment and started again once its ffmpegs
have died with it. Each failure must leave exactly one gap with the right cause, start and end, no finished
segment may be lost, and the hash chain must verify. How soon segments are indexed is measured by
``bench/recording.py`` (index delay), not here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from typer.testing import CliRunner

from kgys.accounts.actor import system_actor
from kgys.alerts.models import Alert
from kgys.cameras.models import CameraHealth
from kgys.cli.main import app
from kgys.recording import gaps as rules
from kgys.recording.flows import reads
from kgys.recording.models import Gap, QuarantinedSegment, Segment
from kgys.recording.recorder import child_exited
from kgys.recording.storage import LocalStorage
from kgys.sim.cameras import SimCameras
from tests.recording.conftest import LiveDb, seed_cameras
from tests.waiting import wait_for

SEG = 2.0  # segment seconds in these tests
OFFLINE_RETRIES = 4  # camera 2 stays offline until its ffmpeg has ended this many times
STARTUP = 6.0  # worst case from "start ffmpeg" to its first frame on a busy 2-core machine
T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def segments(db: LiveDb, cam: int) -> list[Segment]:
    with db.session() as s:
        return list(s.scalars(select(Segment).where(Segment.camera_id == cam).order_by(Segment.id)))


def gaps_of(db: LiveDb, cam: int) -> list[Gap]:
    with db.session() as s:
        return list(s.scalars(select(Gap).where(Gap.camera_id == cam).order_by(Gap.id)))


def recording_since(db: LiveDb, cam: int, since: datetime, count: int = 1) -> bool:
    """The camera has ``count`` segments that started after ``since``."""
    return sum(1 for seg in segments(db, cam) if seg.start >= since) >= count


def restarts(db: LiveDb, cam: int) -> int:
    """How many times the camera's ffmpeg has ended."""
    with db.session() as s:
        health = s.get(CameraHealth, cam)
        return health.restarts if health is not None else 0


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append((int(entry), cmd))
    return out


class Worker:
    """``kgys worker recorder`` as a child process."""

    def __init__(self, db: LiveDb, log: Path) -> None:
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kgys", "worker", "recorder"], stdout=self.log, stderr=subprocess.STDOUT,
            env=db.env(segment_seconds=SEG, backoff_initial_seconds=0.5, backoff_max_seconds=1,
                       rtsp_timeout_seconds=3, stall_seconds=2, poll_seconds=0.2))

    def ffmpeg_pid(self, mount: str) -> int:
        found = [pid for pid, cmd in children(self.proc.pid) if cmd.startswith(("ffmpeg", "/usr/bin/ffmpeg"))
                 and f"/{mount} " in cmd]
        assert len(found) == 1, found
        return found[0]

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(30) == 0
        self.log.close()


def near(value: datetime, expected: datetime, before: float, after: float) -> bool:
    """``value`` lies within [expected - before, expected + after] seconds."""
    return expected - timedelta(seconds=before) <= value <= expected + timedelta(seconds=after)


def test_each_failure_leaves_one_gap_and_nothing_is_lost(live_db: LiveDb, sim_h264: SimCameras,
                                                        tmp_path: Path) -> None:
    db, sim = live_db, sim_h264
    cams = seed_cameras(db.rt, [sim.url(n) for n in (1, 2, 3, 4)])
    log = tmp_path / "worker.log"
    w1 = Worker(db, log)
    started = now()
    try:
        # Recording starts: every camera gets segments, indexed within 2 s of closing.
        for cam in cams:
            wait_for(f"camera {cam} recording", partial(recording_since, db, cam, started, 2), 40)

        # Camera 1: ffmpeg is killed. Camera 2: the camera goes offline.
        os.kill(w1.ffmpeg_pid("cam1"), signal.SIGKILL)
        t_kill = now()
        sim.stop_camera(2)
        t_off = now()
        sim.pause_camera(4)
        t_pause = now()
        wait_for("camera 4's hang noticed", lambda: gaps_of(db, cams[3]), 60)
        sim.resume_camera(4)
        t_resume = now()
        wait_for("camera 2 tried again while offline", lambda: restarts(db, cams[1]) >= OFFLINE_RETRIES, 90)
        sim.start_camera(2)
        t_back = now()
        wait_for("camera 2 back", lambda: recording_since(db, cams[1], t_back, 1), 30)
        wait_for("camera 1 back", lambda: recording_since(db, cams[0], t_kill, 2), 30)
        wait_for("camera 4 back", lambda: recording_since(db, cams[3], t_resume, 1), 30)

        # The recorder dies in the middle of a segment and comes back DOWN seconds later.
        last3 = segments(db, cams[2])[-1]
        wait_for("mid-segment", lambda: now() > last3.end + timedelta(seconds=SEG / 2) or None, 10)
        ffmpegs = [pid for pid, _cmd in children(w1.proc.pid)]
        w1.kill()
        t_down = now()
    finally:
        if w1.proc.poll() is None:
            w1.kill()
    wait_for("the dead recorder's ffmpegs to end with it", lambda: not any(alive(pid) for pid in ffmpegs), 30)
    w2 = Worker(db, log)
    t_up = now()
    try:
        for cam in cams:
            wait_for(f"camera {cam} after restart", partial(recording_since, db, cam, t_up, 2), 40)
    finally:
        w2.stop()
    t_end = now()

    # Exactly one gap per failure, with the right cause.
    by_cam = {cam: gaps_of(db, cam) for cam in cams}
    causes = {cam: [g.cause for g in by_cam[cam]] for cam in cams}
    # A hung camera is a stream error; if reconnecting then times out too, it counts as offline.
    hung = causes[cams[3]][0] if causes[cams[3]][:1] == [rules.GapCause.CAMERA_OFFLINE] else rules.GapCause.STREAM_ERROR
    assert causes == {cams[0]: [rules.GapCause.STREAM_ERROR, rules.GapCause.RECORDER_DOWN],
                      cams[1]: [rules.GapCause.CAMERA_OFFLINE, rules.GapCause.RECORDER_DOWN],
                      cams[2]: [rules.GapCause.RECORDER_DOWN],
                      cams[3]: [hung, rules.GapCause.RECORDER_DOWN]}, (causes, log.read_text()[-3000:])
    kill_gap, off_gap, hang_gap = by_cam[cams[0]][0], by_cam[cams[1]][0], by_cam[cams[3]][0]
    assert all(g.end is not None for gs in by_cam.values() for g in gs)

    # Each gap starts when recording stopped and ends when it resumed (± one segment, plus ffmpeg's start-up).
    assert near(kill_gap.start, t_kill, SEG, 0.5)
    assert kill_gap.end is not None and near(kill_gap.end, t_kill, 0, 1 + STARTUP)
    assert near(off_gap.start, t_off, SEG, 0.5)
    assert off_gap.end is not None and near(off_gap.end, t_back, SEG, SEG + 1 + STARTUP)
    off_len = (off_gap.end - off_gap.start).total_seconds()
    offline = (t_back - t_off).total_seconds()
    assert offline - SEG <= off_len <= offline + SEG + 1 + STARTUP, off_len
    assert near(hang_gap.start, t_pause, SEG, 0.5)
    assert hang_gap.end is not None and near(hang_gap.end, t_resume, SEG, SEG + 1 + STARTUP)
    assert hang_gap.detail.startswith("no new data from the stream"), hang_gap.detail
    for cam in cams:
        down_gap = by_cam[cam][-1]
        assert near(down_gap.start, t_down, SEG, 0.5), (cam, down_gap.start, t_down)
        assert down_gap.end is not None and near(down_gap.end, t_up, 0.5, 2 * STARTUP), (cam, down_gap.end, t_up)

    # Nothing lost: the spool is empty, segments and gaps tile the whole time without a hole, the partial
    # segments written up to each kill were kept, every file verifies and the chain is unbroken.
    storage = LocalStorage(db.data_dir / "recordings")
    spool = db.data_dir / "spool"
    assert sorted(p.name for p in spool.rglob("*.ts")) == []
    with db.session() as session:
        assert session.scalars(select(QuarantinedSegment)).all() == []
        for cam in cams:
            segs = segments(db, cam)
            first, last = segs[0].start, segs[-1].end
            spans = [(s.start, s.end) for s in segs] + [(g.start, g.end or t_end) for g in by_cam[cam]]
            assert rules.holes(spans, first, last, tolerance=0.3) == [], cam
            assert all(s.sha256 and len(s.sha256) == 64 and s.bytes > 0 and s.width == 1920 for s in segs)
            for gap in by_cam[cam]:
                assert any(s.end == gap.start or abs((s.end - gap.start).total_seconds()) < 0.01 for s in segs)
                assert any(s.start == gap.end for s in segs)
            report = reads.verify(session=session, actor=system_actor(), storage=storage, camera_id=cam,
                                  start=started - timedelta(minutes=1), end=t_end + timedelta(minutes=1))
            assert report.ok and report.checked == len(segs), report.problems
            # The files the dead recorder left (the one it was writing, and perhaps one it had not indexed
            # yet) are indexed by the new recorder first. The footage up to
            # the kill is kept either way: in a file indexed after the restart, or — when the kill landed just
            # as ffmpeg moved to a new, still empty file — in the one indexed just before it.
            left = [s for s in segs if s.end <= t_down + timedelta(seconds=0.5) and s.indexed_at > t_down]
            assert len(left) <= 2, [(s.start, s.end) for s in left]
            last_before_kill = max(s.end for s in segs if s.end <= t_down + timedelta(seconds=0.5))
            assert near(last_before_kill, t_down, 1, 0.5), (last_before_kill, t_down)
            alerts = session.scalars(select(Alert).where(Alert.camera_id == cam)).all()
            assert len(alerts) == len(by_cam[cam]) and all(a.closed_at for a in alerts)
            health = session.get(CameraHealth, cam)
            assert health is not None and health.state == "online"
            assert (health.codec, health.width, health.height) == ("h264", 1920, 1080)
            fps, keyframes = health.fps, health.keyframe_interval
            assert fps is not None and abs(fps - 25.0) < 1.5 and keyframes and 0.9 <= keyframes <= 1.1, (
                cam, cams, fps, keyframes, health.measured_at)

    # The command line sees the same.
    cli_env = {"KGYS_MODE": "dev", "KGYS_DATA_DIR": str(db.data_dir), "KGYS_DATABASE__URL": db.url}
    result = CliRunner().invoke(app, ["recordings", "verify", "--camera", str(cams[1])], env=cli_env)
    assert result.exit_code == 0 and "OK" in result.output, result.output
    result = CliRunner().invoke(app, ["recordings", "gaps", "--camera", str(cams[1])], env=cli_env)
    assert result.exit_code == 0 and "camera_offline" in result.output and "recorder_down" in result.output


def test_an_ended_child_is_noticed_with_one_call_and_left_for_poll() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for("the ended child to be reported", child_exited, 10, every=0.02)
    assert child_exited()  # still there: reported, not reaped
    assert proc.poll() == 0
