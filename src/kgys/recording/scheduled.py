"""Periodic work of the recording domain: the recorder watch.

The recorder rewrites a heartbeat file (:mod:`kgys.recording.heartbeat`) every few seconds. When it has
not reported for ``timeout`` seconds, every recording camera without an open gap gets one with cause
``recorder_down`` from where its footage ends, a per-camera ``recording_stopped`` alert, and one critical
``recorder_down`` alert for the installation; the recorder's first new segment of each camera closes its
gap, and a fresh heartbeat resolves the alert. Run by the one scheduler of ``kgys worker jobs``
(:mod:`kgys.scheduler`); retention runs in a thread of its own (:mod:`kgys.recording.retention_job`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.cameras.models import Camera
from kgys.recording import gaps, heartbeat, index
from kgys.recording.alerts import (
    INSTALLATION,
    NEVER_REPORTED,
    NOT_RECORDED,
    SILENT_SINCE,
    STOPPED_AT,
    AlertKind,
    Severity,
    raise_alert,
    resolve_alerts,
)
from kgys.recording.gaps import GapCause
from kgys.recording.models import Gap
from kgys.scheduler import Task

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 5.0


@dataclass(frozen=True)
class RecorderCheck:
    """What one look at the recorder's heartbeat found: whether it is down, and the cameras a gap was opened for."""

    down: bool
    gaps_opened: list[int]


def _recording_cameras(session: Session) -> list[tuple[int, int]]:
    """(camera id, site id) of every camera the recorder should be recording."""
    rows = session.execute(select(Camera.id, Camera.site_id).where(Camera.enabled.is_(True), Camera.stream_url != "")
                           .order_by(Camera.id)).all()
    return [(int(cam_id), int(site_id)) for cam_id, site_id in rows]


def _silence(beat: heartbeat.Beat | None) -> str:
    if beat is None:
        return NEVER_REPORTED.english()
    if beat.stopped:
        return STOPPED_AT.english(at=beat.at.isoformat())
    return SILENT_SINCE.english(pid=beat.pid, at=beat.at.isoformat())


def check_recorder(session: Session, *, beat: heartbeat.Beat | None, now: datetime,
                   timeout_s: float) -> RecorderCheck:
    """Whether the recorder is down, and the cameras a ``recorder_down`` gap was opened for now."""
    cameras = _recording_cameras(session)
    if not heartbeat.stale(beat, now, timeout_s) or not cameras:
        if resolve_alerts(session, kinds=[AlertKind.RECORDER_DOWN], subject=INSTALLATION, at=now):
            log.info("the recorder reports again; recorder_down resolved")
        return RecorderCheck(False, [])
    detail = _silence(beat)
    opened: list[int] = []
    gapped = set(session.scalars(select(Gap.camera_id).where(Gap.end.is_(None))))  # one query, not one a camera
    for cam_id, site_id in cameras:
        if cam_id in gapped:
            continue
        last = index.last_segment(session, cam_id)
        start = last.end if last is not None else (beat.at if beat is not None else now)
        index.open_gap(session, camera_id=cam_id, site_id=site_id, start=min(start, now),
                       cause=GapCause.RECORDER_DOWN, detail=detail)
        index.set_state(session, camera_id=cam_id, state="offline", reason=gaps.RECORDER_DOWN.english())
        opened.append(cam_id)
    raise_alert(session, kind=AlertKind.RECORDER_DOWN, severity=Severity.CRITICAL, subject=INSTALLATION,
                said=NOT_RECORDED, params={"detail": detail, "n": len(cameras)}, dedup=True, now=now)
    if opened:
        log.error("RECORDER DOWN: %s; %s camera(s) are not being recorded", detail, len(cameras))
    return RecorderCheck(True, opened)


class RecorderWatch:
    """The recorder-watch task; a recorder started with the jobs worker gets ``timeout`` seconds to report."""

    def __init__(self, *, heartbeat_path: Path, timeout: float, started: datetime) -> None:
        self.heartbeat_path = heartbeat_path
        self.timeout = timeout
        self.started = started

    def __call__(self, session: Session, now: datetime) -> RecorderCheck | None:
        """One look at the heartbeat (None while the recorder may still be starting)."""
        if (now - self.started).total_seconds() < self.timeout:
            return None
        return check_recorder(session, beat=heartbeat.read(self.heartbeat_path), now=now, timeout_s=self.timeout)


def tasks(*, data_dir: Path, recorder_timeout: float, started: datetime,
          check_every: float = CHECK_EVERY_SECONDS) -> list[Task]:
    """The recording tasks of the jobs worker (retention has its own thread)."""
    watch = RecorderWatch(heartbeat_path=heartbeat.path_for(data_dir), timeout=recorder_timeout, started=started)
    return [Task("recording.recorder_watch", check_every, work=watch)]
