"""Recorded footage for the other domains (live view, playback, clip export): the one door into recording.

What a reader gets is plain data: :class:`SegmentRef` and :class:`GapRef` are frozen copies, never rows,
and the bytes come from the :class:`~kgys.recording.storage.Storage` that :func:`open_storage` gives. Live
view follows the files the recorder is still writing in :func:`spool_dir`; a file the maintainer has
already moved is found again by its name with :func:`stored_key`.

The reads here are not scoped: the caller has already decided that the actor may see the camera.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.cameras.models import CameraHealth
from kgys.recording.models import Gap, Segment
from kgys.recording.storage import Storage, open_storage, spool_dir

__all__ = ["GapRef", "SegmentRef", "Storage", "gaps", "measured_codecs", "open_storage", "recorded_intervals",
           "segment", "segments", "spool_dir", "stored_key"]


@dataclass(frozen=True)
class SegmentRef:
    """One recorded segment of a camera: its time, size, hashes and the storage key of its bytes."""

    id: int
    camera_id: int
    start: datetime
    end: datetime
    duration: float
    bytes: int
    sha256: str
    prev_sha256: str
    key: str
    codec: str


@dataclass(frozen=True)
class GapRef:
    """A stretch a camera did not record (``end`` None: still open) and why."""

    start: datetime
    end: datetime | None
    cause: str
    detail: str


def _ref(row: Segment) -> SegmentRef:
    return SegmentRef(id=row.id, camera_id=row.camera_id, start=row.start, end=row.end, duration=row.duration,
                      bytes=row.bytes, sha256=row.sha256, prev_sha256=row.prev_sha256, key=row.path,
                      codec=row.codec)


def segments(*, session: Session, camera_id: int, start: datetime, end: datetime) -> list[SegmentRef]:
    """The camera's segments that overlap [start, end), oldest first."""
    rows = session.scalars(select(Segment).where(Segment.camera_id == camera_id, Segment.start < end,
                                                 Segment.end > start).order_by(Segment.start))
    return [_ref(r) for r in rows]


def segment(*, session: Session, camera_id: int, segment_id: int) -> SegmentRef | None:
    """One segment of the camera, or None when the camera has no segment of that number (any more)."""
    row = session.get(Segment, segment_id)
    return _ref(row) if row is not None and row.camera_id == camera_id else None


def recorded_intervals(*, session: Session, camera_id: int, start: datetime,
                       end: datetime) -> list[tuple[datetime, datetime]]:
    """Start and end of each of the camera's segments that overlap [start, end), oldest first (one cheap read)."""
    rows = session.execute(select(Segment.start, Segment.end).where(
        Segment.camera_id == camera_id, Segment.start < end, Segment.end > start).order_by(Segment.start))
    return [(a, b) for a, b in rows]


def gaps(*, session: Session, camera_id: int, start: datetime, end: datetime) -> list[GapRef]:
    """The camera's gaps that overlap [start, end) (open gaps reach to now), oldest first."""
    rows = session.scalars(select(Gap).where(
        Gap.camera_id == camera_id, Gap.start < end, (Gap.end.is_(None)) | (Gap.end > start)).order_by(Gap.start))
    return [GapRef(g.start, g.end, g.cause, g.detail) for g in rows]


def measured_codecs(*, session: Session, camera_ids: Iterable[int]) -> dict[int, str]:
    """The codec last measured on each camera's recordings (``h264`` | ``h265``), for the cameras measured."""
    ids = sorted(set(camera_ids))
    if not ids:
        return {}
    rows = session.execute(select(CameraHealth.camera_id, CameraHealth.codec).where(
        CameraHealth.camera_id.in_(ids), CameraHealth.codec.is_not(None)))
    return {cam_id: codec for cam_id, codec in rows if codec}


def stored_key(*, session: Session, camera_id: int, name: str) -> str | None:
    """The storage key of the camera's segment recorded as file ``name`` (a live piece already moved from the
    spool into storage), or None when it is not indexed (yet)."""
    return session.scalars(select(Segment.path).where(Segment.camera_id == camera_id,
                                                      Segment.path.like(f"%/{name}")).limit(1)).first()
