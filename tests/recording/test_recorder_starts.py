"""The recorder starts the ffmpegs that are due at a bounded rate, longest waiting first, and keeps camera
passwords out of what it stores about failures."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from kgys.accounts.actor import system_actor
from kgys.audit.mechanism import set_actor
from kgys.cameras.models import Camera, CameraHealth
from kgys.cameras.secrets import Credentials
from kgys.config import RecordingSettings
from kgys.recording import recorder as recorder_module
from kgys.recording.maintainer import Limits, Maintainer
from kgys.recording.models import Gap, RecordingAlert
from kgys.recording.recorder import CameraRun, Recorder, disk_wait
from kgys.recording.storage import LocalStorage
from kgys.runtime import Runtime
from tests.recording.conftest import LiveDb, seed_cameras


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


class Running:
    """Stands in for a started ffmpeg: it keeps running."""

    pid = 0

    def poll(self) -> None:
        return None


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)
def test_starts_are_spread_at_the_configured_rate(live_db: LiveDb, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rt = live_db.rt
    cams = seed_cameras(rt, [f"rtsp://127.0.0.1:9/cam{n}" for n in range(1, 41)])
    clock = Clock()
    recorder = make_recorder(rt, tmp_path, RecordingSettings(poll_seconds=0.25, starts_per_second=8,
                                                             refresh_seconds=3600), clock)
    started: list[int] = []

    def spawn(run: CameraRun) -> None:
        started.append(run.conf.id)
        run.proc = Running()  # type: ignore[assignment]

    monkeypatch.setattr(recorder, "_spawn", spawn)
    monkeypatch.setattr(recorder, "_stalled", lambda run, now: False)
    recorder.start()
    assert len(started) == 2  # 8/s × 0.25 s poll
    for _ in range(4):  # one second more
        clock.t += 0.25
        recorder.poll()
    assert len(started) == 2 + 8
    clock.t += 60  # a long pause: the burst stays bounded by one second's worth
    recorder.poll()
    assert len(started) == 2 + 8 + 8
    while len(started) < len(cams):
        clock.t += 0.25
        recorder.poll()
    assert sorted(started) == cams  # every camera once

    # Cameras that became due earlier go first.
    for cam_id, delay in ((cams[5], 3.0), (cams[1], 1.0), (cams[9], 2.0)):
        run = recorder.runs[cam_id]
        run.proc, run.next_start = None, clock.t + delay
    started.clear()
    clock.t += 10
    recorder.poll()
    assert started == [cams[1], cams[9], cams[5]]


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
    deadline = time.monotonic() + 30
    gaps: list[Gap] = []
    while not gaps and time.monotonic() < deadline:
        recorder.poll()
        with rt.sessions() as session:
            gaps = list(session.scalars(select(Gap)))
        time.sleep(0.1)
    recorder.shutdown()
    assert gaps and gaps[0].cause == "camera_offline", gaps
    assert "rtsp://admin:***@127.0.0.1:9/cam1" in gaps[0].detail
    with rt.sessions() as session:
        texts = [gaps[0].detail, *session.scalars(select(RecordingAlert.message)),
                 *session.scalars(select(CameraHealth.reason))]
    assert texts and not any("s3cret" in text for text in texts), texts


@pytest.mark.parametrize("live_db", ["sqlite"], indirect=True)
def test_an_ffmpeg_blocked_on_the_disk_gets_longer_and_its_gap_blames_the_disk(
        live_db: LiveDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = live_db.rt
    [cam] = seed_cameras(rt, ["rtsp://127.0.0.1:9/cam1"])
    clock = Clock()
    spool = tmp_path / "spool"
    recorder = make_recorder(rt, tmp_path, RecordingSettings(poll_seconds=0.25, stall_seconds=5,
                                                             refresh_seconds=3600), clock)
    recorder.refresh(force=True)
    run = recorder.runs[cam]
    run.proc, run.run, run.last_progress = Running(), "r000000000000001", clock.t  # type: ignore[assignment]
    (spool / str(cam)).mkdir(parents=True)
    (spool / str(cam) / "r000000000000001_20261204T120000Z.ts").write_bytes(b"x" * 188)
    waits: list[str | None] = []
    monkeypatch.setattr(recorder_module, "disk_wait", lambda pid: waits[-1] if waits else None)

    assert not recorder._stalled(run, clock.t + 1)  # the file is seen for the first time: progress
    start = clock.t + 1
    waits.append("balance_dirty_pages")
    assert not recorder._stalled(run, start + 6)  # past the stall time, but blocked on the disk
    waits.append(None)  # between two writes: the stall is still the disk's
    assert not recorder._stalled(run, start + 10)
    assert recorder._stalled(run, start + 15.5)  # three times the stall time: restarted after all
    cause, reason = recorder._finish(run, -15, stalled=True)
    assert cause == "storage_error"
    assert "balance_dirty_pages" in reason

    # Progress clears it; a camera that simply stops sending is a stream error after the stall time.
    (spool / str(cam) / "r000000000000001_20261204T120000Z.ts").write_bytes(b"x" * 376)
    assert not recorder._stalled(run, start + 20)
    assert run.disk_wait is None
    waits.clear()
    assert recorder._stalled(run, start + 25.5)
    assert recorder._finish(run, -15, stalled=True)[0] == "stream_error"


def test_disk_wait_of_a_process_that_is_not_blocked() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        assert disk_wait(proc.pid) is None  # sleeping in S state, not on the disk
    finally:
        proc.kill()
        proc.wait()
    assert disk_wait(proc.pid) is None  # gone
    assert disk_wait(os.getpid()) is None  # running
