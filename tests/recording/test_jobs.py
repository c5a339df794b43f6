"""``kgys worker jobs``: the one scheduler runs every domain's tasks; and the real worker processes: a recorder
killed with SIGKILL leaves exactly one gap, from its last segment."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys import jobs
from kgys.alerts.models import Alert
from kgys.cameras.models import Camera
from kgys.recording.models import Gap, Segment
from kgys.runtime import Runtime
from kgys.sim.cameras import SimCameras
from kgys.sites.models import Site
from tests.recording.conftest import LiveDb, seed_cameras
from tests.recording.test_recorder import alive, children
from tests.recording.test_scheduled import recording_cameras
from tests.waiting import wait_for

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.fixture
def cams(rt: Runtime, session: Session) -> tuple[Site, list[Camera]]:
    """A compliant site whose two cameras have stream URLs."""
    return recording_cameras(rt, session, recorded_until=NOW - 60 * S)


def test_the_jobs_worker_runs_every_domains_tasks(rt: Runtime) -> None:
    names = [t.name for t in jobs.build(rt, started=NOW).tasks]
    assert names == ["recording.recorder_watch", "accounts.purge", "audit.checkpoint",
                     "cameras.measured_compliance", "events.purge", "alerts.console_purge",
                     "devices.offline_watch", "dispatch.ack_escalation",
                     "exports.housekeeping", "evidence.expiry",
                     "evidence.releases"]  # audit.witness only with witnesses configured


def test_jobs_wait_out_the_recorder_start_then_watch(rt: Runtime, session: Session,
                                                     cams: tuple[Site, list[Camera]]) -> None:
    scheduler = jobs.build(rt, started=NOW, recorder_timeout=30)
    first = scheduler.tick(NOW)
    assert first.failed == []
    assert first.ran["recording.recorder_watch"] is None  # the recorder may still be starting
    assert first.ran["accounts.purge"] == 0
    assert first.ran["events.purge"] == 0  # the events of a week ago and more
    assert first.ran["audit.checkpoint"] is not None  # the fixture's audited changes get signed
    second = scheduler.tick(NOW + 31 * S)
    watch = second.ran["recording.recorder_watch"]
    assert watch is not None and watch.down and len(watch.gaps_opened) == 2  # type: ignore[attr-defined]
    assert "accounts.purge" not in second and "audit.checkpoint" not in second  # not due yet
    assert "recording.recorder_watch" not in scheduler.tick(NOW + 32 * S)  # checked every 5 s
    assert (rt.settings.data_dir / "run" / jobs.HEARTBEAT_FILE).exists()


# --- the real processes ---------------------------------------------------------------------------------

def _spawn(db: LiveDb, log: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "kgys", "worker", *args], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT,
                            env=db.env(segment_seconds=2, poll_seconds=0.2, retention_interval_seconds=2))


def test_killed_recorder_gets_a_recorder_down_gap_from_the_jobs_worker(live_db: LiveDb, sim_h264: SimCameras,
                                                                       tmp_path: Path) -> None:
    db = live_db
    (cam,) = seed_cameras(db.rt, [sim_h264.url(6)])
    log = tmp_path / "workers.log"
    recorder = _spawn(db, log, "recorder")
    worker = _spawn(db, log, "jobs", "--recorder-timeout", "5")
    try:
        def last_end() -> datetime | None:
            with db.session() as s:
                return s.scalar(select(Segment.end).where(Segment.camera_id == cam).order_by(Segment.id.desc()))

        wait_for("segments", last_end, 40)
        ffmpegs = [pid for pid, cmd in children(recorder.pid) if "ffmpeg" in cmd]
        assert ffmpegs, children(recorder.pid)
        recorder.send_signal(signal.SIGKILL)
        recorder.wait(10)
        # The killed recorder's ffmpeg follows it (parent-death signal).
        wait_for("the killed recorder's ffmpeg to end with it", lambda: not any(alive(pid) for pid in ffmpegs), 30)
        end = last_end()

        def down_gap() -> Gap | None:
            with db.session() as s:
                return s.scalar(select(Gap).where(Gap.camera_id == cam, Gap.cause == "recorder_down"))

        gap = wait_for("a recorder_down gap", down_gap, 30)
        assert isinstance(gap, Gap) and gap.end is None and gap.start == end
        with db.session() as s:
            kinds = set(s.scalars(select(Alert.kind).where(Alert.closed_at.is_(None))))
        assert {"recorder_down", "recording_stopped"} <= kinds
        recorder = _spawn(db, log, "recorder")

        def closed() -> bool:
            with db.session() as s:
                gaps = s.scalars(select(Gap).where(Gap.camera_id == cam)).all()
                alert = s.scalar(select(Alert).where(Alert.kind == "recorder_down"))
                return len(gaps) == 1 and gaps[0].end is not None and alert is not None \
                    and alert.closed_at is not None
        wait_for("the gap to close and the alert to resolve", closed, 40)
    finally:
        for proc in (recorder, worker):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        assert worker.wait(40) == 0, log.read_text()[-3000:]
        recorder.wait(40)
    assert "retention running every 2.0 s" in log.read_text()
