"""The recorder watch of the jobs worker: a silent recorder's cameras get a ``recorder_down`` gap each and
the installation one alert; a fresh heartbeat resolves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.alerts.models import Alert
from kgys.audit import mechanism
from kgys.cameras.models import Camera, CameraHealth
from kgys.recording import heartbeat, index
from kgys.recording import scheduled as recording_scheduled
from kgys.recording.models import Gap
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def recording_cameras(rt: Runtime, session: Session, *, recorded_until: datetime) -> tuple[Site, list[Camera]]:
    """A compliant site whose two cameras have stream URLs; the first has recorded up to ``recorded_until``."""
    factories.tree(session)
    site = factories.site(session)
    factories.compliant_system(session, rt.box, site.code)
    cameras = list(session.scalars(select(Camera).where(Camera.site_id == site.id).order_by(Camera.id)))
    with mechanism.acting_as(session, factories.admin()):
        for n, cam in enumerate(cameras, 1):
            cam.stream_url = f"rtsp://127.0.0.1:9/cam{n}"
        session.flush()
    index.record_segment(session, dict(camera_id=cameras[0].id, site_id=site.id, start=recorded_until - 10 * S,
                                       end=recorded_until, duration=10.0, bytes=1000, sha256="a" * 64,
                                       prev_sha256="0" * 64, path=f"x/{cameras[0].id}/1.ts", codec="h264",
                                       width=1920, height=1080))
    return site, cameras


@pytest.fixture
def cams(rt: Runtime, session: Session) -> tuple[Site, list[Camera]]:
    """A compliant site whose two cameras have stream URLs; one has recorded up to NOW - 60 s."""
    return recording_cameras(rt, session, recorded_until=NOW - 60 * S)


def _beat(at: datetime, stopped: bool = False) -> heartbeat.Beat:
    return heartbeat.Beat(pid=4242, at=at, cameras=2, stopped=stopped)


def _check(session: Session, beat: heartbeat.Beat | None, now: datetime) -> tuple[bool, list[int]]:
    found = recording_scheduled.check_recorder(session, beat=beat, now=now, timeout_s=30)
    return found.down, found.gaps_opened


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
    down, opened = _check(session, _beat(NOW - 40 * S), NOW)
    assert down and sorted(opened) == sorted([c1.id, c2.id])
    g1, g2 = (index.open_gap_of(session, c.id) for c in (c1, c2))
    assert g1 is not None and g2 is not None
    assert (g1.cause, g1.start) == ("recorder_down", NOW - 60 * S)  # where its footage ends
    assert g2.start == NOW - 40 * S  # never recorded: from the recorder's last report
    assert "pid 4242" in g1.detail
    assert session.get(CameraHealth, c1.id).state == "offline"  # type: ignore[union-attr]
    alerts = session.scalars(select(Alert).where(Alert.closed_at.is_(None))).all()
    assert sorted(a.kind for a in alerts) == ["recorder_down", "recording_stopped", "recording_stopped"]
    assert next(a for a in alerts if a.kind == "recorder_down").priority == 3

    # still silent: nothing new
    assert _check(session, _beat(NOW - 40 * S), NOW + 5 * S) == (True, [])
    assert len(session.scalars(select(Gap)).all()) == 2
    assert len(session.scalars(select(Alert).where(Alert.kind == "recorder_down")).all()) == 1
    # reports again: the recorder_down alert is resolved; the gaps stay open until footage resumes
    assert _check(session, _beat(NOW + 9 * S), NOW + 10 * S) == (False, [])
    assert session.scalar(select(Alert).where(Alert.kind == "recorder_down")
                          ).closed_at == NOW + 10 * S  # type: ignore[union-attr]
    assert index.open_gap_of(session, c1.id) is not None


def test_a_recorder_that_never_ran_or_stopped_is_named_as_such(session: Session,
                                                              cams: tuple[Site, list[Camera]]) -> None:
    _site, (c1, _c2) = cams
    _check(session, None, NOW)
    assert "never reported" in index.open_gap_of(session, c1.id).detail  # type: ignore[union-attr]


def test_a_fresh_heartbeat_or_no_recording_camera_changes_nothing(session: Session,
                                                                  cams: tuple[Site, list[Camera]]) -> None:
    assert _check(session, _beat(NOW - 10 * S), NOW) == (False, [])
    _site, cameras = cams
    with mechanism.acting_as(session, factories.admin()):
        for cam in cameras:
            cam.stream_url = ""
        session.flush()
    assert _check(session, None, NOW) == (False, [])
    assert session.scalars(select(Gap)).all() == []


def test_the_watch_gives_a_recorder_started_with_it_time_to_report(session: Session, tmp_path: Path,
                                                                   cams: tuple[Site, list[Camera]]) -> None:
    watch = recording_scheduled.RecorderWatch(heartbeat_path=tmp_path / "hb", timeout=30, started=NOW)
    assert watch(session, NOW + 29 * S) is None
    found = watch(session, NOW + 30 * S)
    assert found is not None and found.down and len(found.gaps_opened) == 2
