"""The recorder starts the ffmpegs that are due at a bounded rate, longest waiting first, and keeps camera
passwords out of what it stores about failures."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kgys.accounts.actor import system_actor
from kgys.alerts.models import Alert
from kgys.audit.mechanism import set_actor
from kgys.cameras.models import Camera, CameraHealth
from kgys.config import RecordingSettings
from kgys.recording.maintainer import Limits, Maintainer
from kgys.recording.models import Gap
from kgys.recording.recorder import Recorder, disk_wait
from kgys.recording.storage import LocalStorage
from kgys.runtime import Runtime
from kgys.secretbox import Credentials
from tests.recording.conftest import LiveDb, seed_cameras
from tests.waiting import wait_for


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_recorder(rt: Runtime, tmp_path: Path, cfg: RecordingSettings,
                  clock: Callable[[], float] = time.monotonic) -> Recorder:
    """A recorder with its maintainer on a spool and a store under ``tmp_path``."""
    spool = tmp_path / "spool"
    maintainer = Maintainer(sessions=rt.sessions, storage=LocalStorage(tmp_path / "rec"), spool_dir=spool,
                            quarantine_dir=tmp_path / "q", limits=Limits())
    return Recorder(cfg=cfg, sessions=rt.sessions, box=rt.box, maintainer=maintainer, spool_dir=spool, mono=clock)


def quiet_ffmpeg(tmp_path: Path) -> str:
    """A stand-in for ffmpeg that connects to nothing and writes nothing: it just keeps running."""
    path = tmp_path / "ffmpeg"
    path.write_text("#!/bin/sh\nexec sleep 600\n")
    path.chmod(0o755)
    return str(path)


def running(recorder: Recorder) -> list[int]:
    return sorted(cam_id for cam_id, run in recorder.runs.items() if run.proc is not None)


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)
def test_starts_are_spread_at_the_configured_rate(live_db: LiveDb, tmp_path: Path) -> None:
    rt = live_db.rt
    cams = seed_cameras(rt, [f"rtsp://127.0.0.1:9/cam{n}" for n in range(1, 41)])
    clock = Clock()
    cfg = RecordingSettings(poll_seconds=0.25, starts_per_second=8, refresh_seconds=3600, stall_seconds=3600,
                            ffmpeg_path=quiet_ffmpeg(tmp_path))
    recorder = make_recorder(rt, tmp_path, cfg, clock)
    try:
        recorder.start()
        assert len(running(recorder)) == 2  # 8/s × 0.25 s poll
        for _ in range(4):  # one second more
            clock.t += 0.25
            recorder.poll()
        assert len(running(recorder)) == 2 + 8
        clock.t += 60  # a long pause: the burst stays bounded by one second's worth
        recorder.poll()
        assert len(running(recorder)) == 2 + 8 + 8
        while len(running(recorder)) < len(cams):
            clock.t += 0.25
            recorder.poll()
        assert running(recorder) == cams  # every camera once

        # Cameras that became due earlier go first.
        stopped = {cams[5]: 3.0, cams[1]: 1.0, cams[9]: 2.0}
        for cam_id, delay in stopped.items():
            run = recorder.runs[cam_id]
            assert run.proc is not None
            run.proc.kill()
            run.proc.wait()
            run.proc, run.next_start = None, clock.t + delay
        clock.t += 10
        recorder.poll()
        times = {cam_id: recorder.runs[cam_id].started_at for cam_id in stopped}
        assert all(isinstance(t, datetime) for t in times.values()), times
        assert sorted(stopped, key=lambda cam_id: str(times[cam_id])) == [cams[1], cams[9], cams[5]]
    finally:
        recorder.shutdown(timeout=10)


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)
def test_a_failing_cameras_password_never_reaches_the_gap_or_the_alert(live_db: LiveDb, tmp_path: Path) -> None:
    rt = live_db.rt
    (cam_id,) = seed_cameras(rt, ["rtsp://127.0.0.1:9/cam1"])  # nothing listens on port 9
    with rt.sessions.begin() as session:
        set_actor(session, system_actor("test"))
        camera = session.get(Camera, cam_id)
        assert camera is not None
        camera.credentials = rt.box.seal(Credentials(username="admin", password="s3cret-Pa55"))
    recorder = make_recorder(rt, tmp_path, RecordingSettings(poll_seconds=0.1, backoff_initial_seconds=5))
    recorder.start()

    def gap_opened() -> list[Gap]:
        recorder.poll()
        with rt.sessions() as session:
            return list(session.scalars(select(Gap)))

    gaps = wait_for("the failing camera's gap", gap_opened, 30, every=0.1)
    recorder.shutdown()
    assert gaps and gaps[0].cause == "camera_offline", gaps
    assert "rtsp://admin:***@127.0.0.1:9/cam1" in gaps[0].detail
    with rt.sessions() as session:
        texts = [gaps[0].detail, *session.scalars(select(Alert.details)),
                 *session.scalars(select(CameraHealth.reason))]
    assert texts and not any("s3cret" in text for text in texts), texts


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rpartition(b")")[2].split()[0].decode()


def test_disk_wait_of_a_process_that_is_not_blocked() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        wait_for("sleep to be asleep", lambda: process_state(proc.pid) == "S", 10, every=0.02)
        assert disk_wait(proc.pid) is None  # sleeping in S state, not on the disk
    finally:
        proc.kill()
        proc.wait()
    assert disk_wait(proc.pid) is None  # gone
    assert disk_wait(os.getpid()) is None  # running
