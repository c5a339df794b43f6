"""Writes of the recorder worker: segment rows, quarantine, gaps, camera health and recording alerts.

Every function takes an explicit session and flushes; the worker commits once per finished segment or
per state change. No actor: these rows are written by the system itself and are not audited changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from kgys.cameras.models import Camera, CameraHealth
from kgys.db import utcnow
from kgys.media.probe import StreamInfo
from kgys.recording import gaps as rules
from kgys.recording.alerts import QUARANTINED, STOPPED, AlertKind, Severity, Subject, raise_alert, resolve_alerts
from kgys.recording.ffmpeg import with_credentials
from kgys.recording.models import Gap, QuarantinedSegment, Segment
from kgys.secretbox import CredentialBox

log = logging.getLogger(__name__)

ALERT_STOPPED = AlertKind.RECORDING_STOPPED
ALERT_QUARANTINED = AlertKind.SEGMENT_QUARANTINED
ALERT_STORAGE = AlertKind.STORAGE_ERROR


@dataclass(frozen=True)
class CameraConf:
    """What the recorder needs of a camera (credentials already in the URL)."""

    id: int
    site_id: int
    url: str
    codec: str


def recording_cameras(session: Session, box: CredentialBox) -> list[CameraConf]:
    """Every enabled camera with a stream URL."""
    rows = session.scalars(select(Camera).where(Camera.enabled.is_(True), Camera.stream_url != "")
                           .order_by(Camera.id)).all()
    out = []
    for cam in rows:
        url = cam.stream_url
        if cam.credentials:
            creds = box.open(cam.credentials)
            url = with_credentials(url, creds.username, creds.password)
        out.append(CameraConf(id=cam.id, site_id=cam.site_id, url=url, codec=cam.codec))
    return out


def last_segment(session: Session, camera_id: int) -> Segment | None:
    """The camera's most recently indexed segment."""
    return session.scalars(select(Segment).where(Segment.camera_id == camera_id)
                           .order_by(Segment.id.desc()).limit(1)).first()


def segment_by_path(session: Session, key: str) -> Segment | None:
    """The indexed segment stored under ``key`` (the path is unique)."""
    return session.scalars(select(Segment).where(Segment.path == key)).first()


@dataclass(frozen=True)
class OpenGap:
    """The fields of a camera's open gap that decide whether a new segment closes it."""

    id: int
    start: datetime
    created_at: datetime


_SEGMENTS = cast(Table, Segment.__table__)
_HEALTH = cast(Table, CameraHealth.__table__)
_GAPS = cast(Table, Gap.__table__)
_INSERT_SEGMENT = _SEGMENTS.insert().returning(_SEGMENTS.c.id)
_TOUCH_ONLINE = (_HEALTH.update()
                 .where(_HEALTH.c.camera_id == bindparam("b_camera"), _HEALTH.c.state == "online")
                 .values(last_segment_at=bindparam("b_end")))
_OPEN_GAP = (select(_GAPS.c.id, _GAPS.c.start, _GAPS.c.created_at)
             .where(_GAPS.c.camera_id == bindparam("b_camera"), _GAPS.c.end.is_(None))
             .order_by(_GAPS.c.id.desc()).limit(1))


def record_segment(session: Session, values: dict[str, Any]) -> int:
    """Index a stored segment (``values``: the columns of :class:`Segment`) and mark the camera as recording:
    two prepared statements on the usual path (the camera already online), since the recorder does this for
    every segment of every camera. Returns the new row's id."""
    conn = session.connection()  # plain statements on tables: no ORM bookkeeping
    seg_id = int(conn.execute(_INSERT_SEGMENT, values).scalar_one())
    done = conn.execute(_TOUCH_ONLINE, {"b_camera": values["camera_id"], "b_end": values["end"]})
    if done.rowcount == 0:  # first segment, or the camera comes back: the ORM way, with ``since``
        h = set_state(session, camera_id=values["camera_id"], state="online", reason=rules.RECORDING.english())
        h.last_segment_at = values["end"]
        session.flush()
    return seg_id


def open_gap_start(session: Session, camera_id: int) -> OpenGap | None:
    """Id, start and creation time of the camera's open gap, without loading it."""
    row = session.connection().execute(_OPEN_GAP, {"b_camera": camera_id}).first()
    return OpenGap(row.id, row.start, row.created_at) if row is not None else None


def add_quarantine(session: Session, item: QuarantinedSegment) -> QuarantinedSegment:
    """Record a segment put aside, and raise an alert about it."""
    session.add(item)
    session.flush()
    raise_alert(session, kind=ALERT_QUARANTINED, severity=Severity.WARNING,
                subject=Subject(camera_id=item.camera_id, site_id=item.site_id),
                said=QUARANTINED, params={"reason": item.reason, "detail": item.detail})
    return item


def open_gap_of(session: Session, camera_id: int) -> Gap | None:
    """The camera's gap that has not ended yet."""
    return session.scalars(select(Gap).where(Gap.camera_id == camera_id, Gap.end.is_(None))
                           .order_by(Gap.id.desc()).limit(1)).first()


def open_gap(session: Session, *, camera_id: int, site_id: int, start: datetime, cause: str, detail: str,
             alert: bool = True) -> Gap:
    """Open a gap (and alert), or fold a new failure into the gap already open."""
    gap = open_gap_of(session, camera_id)
    if gap is None:
        gap = Gap(camera_id=camera_id, site_id=site_id, start=start, cause=cause, detail=detail)
        session.add(gap)
        if alert:
            raise_alert(session, kind=ALERT_STOPPED, severity=Severity.CRITICAL,
                        subject=Subject(camera_id=camera_id, site_id=site_id),
                        said=STOPPED, params={"cause": cause, "detail": detail})
    else:
        gap.cause = rules.merge_cause(gap.cause, cause)
        first = gap.detail.split("\nlatest: ", 1)[0]
        gap.detail = first if detail == first else rules.LATEST.english(first=first, latest=detail)
    session.flush()
    return gap


def close_gap(session: Session, *, camera_id: int, end: datetime) -> Gap | None:
    """End the camera's open gap where recording resumed, and resolve its alert."""
    gap = open_gap_of(session, camera_id)
    if gap is None:
        return None
    gap.end = max(end, gap.start)
    resolve_alerts(session, kinds=[ALERT_STOPPED], subject=Subject(camera_id=camera_id))
    session.flush()
    return gap


def health(session: Session, camera_id: int) -> CameraHealth:
    """The camera's health row, created on first use."""
    row = session.get(CameraHealth, camera_id)
    if row is None:
        row = CameraHealth(camera_id=camera_id, state="unknown", reason="", since=utcnow(), restarts=0)
        session.add(row)
        session.flush()
    return row


def set_state(session: Session, *, camera_id: int, state: str, reason: str, restarted: bool = False) -> CameraHealth:
    """Record the camera as online or offline, with the reason; ``since`` moves only when the state does."""
    row = health(session, camera_id)
    if row.state != state:
        row.state, row.since = state, utcnow()
    row.reason = reason
    if restarted:
        row.restarts = (row.restarts or 0) + 1
    session.flush()
    return row


def set_measured(session: Session, *, camera_id: int, info: StreamInfo) -> CameraHealth:
    """Store the stream properties measured on a recorded segment."""
    row = health(session, camera_id)
    row.codec, row.width, row.height = info.codec, info.width, info.height
    row.fps, row.bitrate_kbps, row.keyframe_interval = info.fps, info.bitrate_kbps, info.keyframe_interval
    row.measured_at = utcnow()
    session.flush()
    return row
