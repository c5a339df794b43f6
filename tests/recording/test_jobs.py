"""``kgys worker jobs``: the recorder watch (heartbeat → recorder_down gap and alert), housekeeping, and the
real worker processes: a recorder killed with SIGKILL leaves exactly one gap, from its last segment."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.audit import mechanism
from kgys.cameras import service as camera_service
from kgys.cameras.models import Camera
from kgys.recording import heartbeat, index, jobs
from kgys.recording.models import CameraHealth, Gap, RecordingAlert, Segment
from kgys.runtime import Runtime
from kgys.sim.cameras import SimCameras
from kgys.sites.models import Site
from tests import factories
from tests.recording.conftest import LiveDb, seed_cameras
from tests.waiting import wait_for

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


class Mono:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def cams(rt: Runtime, session: Session) -> tuple[Site, list[Camera]]:
    """A compliant site whose two cameras have stream URLs; one has recorded up to NOW - 60 s."""
    factories.tree(session)
    site = factories.site(session)
    factories.compliant_system(session, rt.box, site.code)
    cameras = list(session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.id)))
    mechanism.set_actor(session, factories.admin())
    for n, cam in enumerate(cameras, 1):
        cam.stream_url = f"rtsp://127.0.0.1:9/cam{n}"
    session.flush()
    index.record_segment(session, dict(camera_id=cameras[0].id, site_id=site.id, start=NOW - 70 * S,
                                       end=NOW - 60 * S, duration=10.0, bytes=1000, sha256="a" * 64,
                                       prev_sha256="0" * 64, path=f"x/{cameras[0].id}/1.ts", codec="h264",
                                       width=1920, height=1080))
    return site, cameras


def _beat(at: datetime, stopped: bool = False) -> heartbeat.Beat:
    return heartbeat.Beat(pid=4242, at=at, cameras=2, stopped=stopped)


def test_heartbeat_round_trip_and_staleness(tmp_path: Path) -> None:
    path = heartbeat.path_for(tmp_path)
    assert heartbeat.read(path) is None
    heartbeat.write(path, _beat(NOW))
    assert heartbeat.read(path) == _beat(NOW)
    assert not heartbeat.stale(heartbeat.read(path), NOW + 30 * S, 30)
    assert heartbeat.stale(heartbeat.read(path), NOW + 31 * S, 30)
    assert heartbeat.stale(None, NOW, 30)
    path.write_text("{not json")
    assert heartbeat.read(path) is None


def test_a_silent_recorder_opens_one_gap_per_camera_and_one_alert(session: Session,
                                                                   cams: tuple[Site, list[Camera]]) -> None:
    _site, (c1, c2) = cams
    down, opened = jobs.check_recorder(session, beat=_beat(NOW - 40 * S), now=NOW, timeout_s=30)
    assert down and sorted(opened) == sorted([c1.id, c2.id])
    g1, g2 = (index.open_gap_of(session, c.id) for c in (c1, c2))
    assert g1 is not None and g2 is not None
    assert (g1.cause, g1.start) == ("recorder_down", NOW - 60 * S)  # where its footage ends
    assert g2.start == NOW - 40 * S  # never recorded: from the recorder's last report
    assert "pid 4242" in g1.detail
    assert session.get(CameraHealth, c1.id).state == "offline"  # type: ignore[union-attr]
    alerts = session.scalars(select(RecordingAlert).where(RecordingAlert.resolved_at.is_(None))).all()
    assert sorted(a.kind for a in alerts) == ["recorder_down", "recording_stopped", "recording_stopped"]
    assert next(a for a in alerts if a.kind == "recorder_down").severity == "critical"

    # still silent: nothing new
    assert jobs.check_recorder(session, beat=_beat(NOW - 40 * S), now=NOW + 5 * S, timeout_s=30) == (True, [])
    assert len(session.scalars(select(Gap)).all()) == 2
    # reports again: the recorder_down alert is resolved; the gaps stay open until footage resumes
    assert jobs.check_recorder(session, beat=_beat(NOW + 9 * S), now=NOW + 10 * S, timeout_s=30) == (False, [])
    assert session.scalar(select(RecordingAlert).where(RecordingAlert.kind == "recorder_down")
                          ).resolved_at == NOW + 10 * S  # type: ignore[union-attr]
    assert index.open_gap_of(session, c1.id) is not None


def test_a_recorder_that_never_ran_or_stopped_is_named_as_such(session: Session,
                                                              cams: tuple[Site, list[Camera]]) -> None:
    _site, (c1, _c2) = cams
    jobs.check_recorder(session, beat=None, now=NOW, timeout_s=30)
    assert "never reported" in index.open_gap_of(session, c1.id).detail  # type: ignore[union-attr]


def test_a_fresh_heartbeat_or_no_recording_camera_changes_nothing(session: Session,
                                                                  cams: tuple[Site, list[Camera]]) -> None:
    assert jobs.check_recorder(session, beat=_beat(NOW - 10 * S), now=NOW, timeout_s=30) == (False, [])
    _site, cameras = cams
    for cam in cameras:
        cam.stream_url = ""
    session.flush()
    assert jobs.check_recorder(session, beat=None, now=NOW, timeout_s=30) == (False, [])
    assert session.scalars(select(Gap)).all() == []


def test_jobs_wait_out_the_recorder_start_then_watch(rt: Runtime, session: Session, tmp_path: Path,
                                                     cams: tuple[Site, list[Camera]]) -> None:
    mono = Mono()
    worker = jobs.Jobs(sessions=rt.sessions, signer=rt.signer, heartbeat_path=tmp_path / "hb",
                       config=jobs.JobsConfig(recorder_timeout=30, recorder_check_every=5), clock=lambda: NOW,
                       mono=mono)
    first = worker.tick()
    assert first.recorder_down is None  # the recorder may still be starting
    assert first.purged == 0 and first.checkpoint is not None  # the fixture's audited changes get signed
    mono.t += 31
    second = worker.tick()
    assert second.recorder_down is True and len(second.gaps_opened) == 2
    assert second.purged is None and second.checkpoint is None  # not due yet
    mono.t += 1
    assert worker.tick().recorder_down is None  # checked every 5 s


def test_measured_streams_refresh_the_stored_compliance(session: Session, cams: tuple[Site, list[Camera]]) -> None:
    site, (c1, _c2) = cams
    assert site.compliance_status == "compliant"
    h = index.health(session, c1.id)
    h.codec, h.width, h.height, h.measured_at = "h264", 640, 480, NOW
    session.flush()
    assert jobs.refresh_measured_compliance(session, since=NOW - S, actor=factories.admin()) == 1
    assert site.compliance_status == "non_compliant"
    assert jobs.refresh_measured_compliance(session, since=NOW, actor=factories.admin()) == 0
    _system, result = camera_service.compliance(session=session, actor=factories.admin(), code=site.code)
    assert "stream.measured" in [c.code for c in result.failed]


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
        recorder.send_signal(signal.SIGKILL)
        recorder.wait(10)
        time.sleep(1)  # the killed recorder's ffmpeg follows it (parent-death signal)
        end = last_end()

        def down_gap() -> Gap | None:
            with db.session() as s:
                return s.scalar(select(Gap).where(Gap.camera_id == cam, Gap.cause == "recorder_down"))

        gap = wait_for("a recorder_down gap", down_gap, 30)
        assert isinstance(gap, Gap) and gap.end is None and gap.start == end
        with db.session() as s:
            kinds = set(s.scalars(select(RecordingAlert.kind).where(RecordingAlert.resolved_at.is_(None))))
        assert {"recorder_down", "recording_stopped"} <= kinds
        recorder = _spawn(db, log, "recorder")

        def closed() -> bool:
            with db.session() as s:
                gaps = s.scalars(select(Gap).where(Gap.camera_id == cam)).all()
                alert = s.scalar(select(RecordingAlert).where(RecordingAlert.kind == "recorder_down"))
                return len(gaps) == 1 and gaps[0].end is not None and alert is not None \
                    and alert.resolved_at is not None
        wait_for("the gap to close and the alert to resolve", closed, 40)
    finally:
        for proc in (recorder, worker):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        assert worker.wait(40) == 0, log.read_text()[-3000:]
        recorder.wait(40)
    assert "retention running every 2.0 s" in log.read_text()
