"""Reviewing recordings of several cameras together, as it builds on cameras and recording: the timelines of the
chosen cameras (coverage, gaps with causes, legal holds, bookmarks), opening them all with one reason, bookmarks
on a camera in scope, and still pictures taken from recorded segments by ffmpeg (a snapshot, audited; a
thumbnail, cached).

Every function finds the cameras within the caller's scope (a camera outside it is answered as if it did not
exist) with the playback permission, or for an investigator within an approved footage request's scope
(:func:`kgys.live.flows.viewing.playback_camera`): whoever may play a recording back may also bookmark it and take
a still of it. Flows flush, never commit.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.models import Camera
from kgys.db import utcnow
from kgys.errors import ConfigurationError, KgysError, NotFound, PermissionDenied
from kgys.live import bookmarks, review, service
from kgys.live.flows import viewing
from kgys.live.models import Bookmark
from kgys.recording import footage, holds
from kgys.recording.footage import SegmentRef, Storage
from kgys.recording.retention import HoldInfo
from kgys.recording.storage import local_file

log = logging.getLogger(__name__)

FFMPEG_TIMEOUT = 30


@dataclass
class CameraReview:
    """One camera of a review: its timeline, the holds and bookmarks over the range, and its playlist once
    opened."""

    camera: Camera
    timeline: viewing.Timeline
    codec: str
    holds: list[HoldInfo] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    playlist: str | None = None


@dataclass
class Review:
    """The cameras of a playback page that the caller may play back, and those asked for that they may not (with
    why, for the audit log)."""

    start: datetime
    end: datetime
    cameras: list[CameraReview]
    refused: list[tuple[int, KgysError]] = field(default_factory=list)

    @property
    def unavailable(self) -> int:
        """How many cameras asked for the caller may not play back."""
        return len(self.refused)


def _camera(session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime,
            now: datetime | None = None) -> Camera:
    """A camera the actor may play back from ``start`` to ``end``."""
    return viewing.playback_camera(session=session, actor=actor, camera_id=camera_id, start=start, end=end,
                                   now=now or utcnow())[0]


def gather(*, session: Session, actor: Actor, camera_ids: list[int], start: datetime, end: datetime,
           now: datetime) -> Review:
    """The timelines of the chosen cameras in scope (for an investigator: within an approved request's scope), and
    the cameras refused (none of them played back: :func:`require_cameras`)."""
    if not actor.can(Perm.PLAYBACK):
        actor.require(Perm.EVIDENCE_REQUEST)
    items: list[CameraReview] = []
    refused: list[tuple[int, KgysError]] = []
    for cam_id in camera_ids:
        try:
            tl = viewing.timeline(session=session, actor=actor, camera_id=cam_id, start=start, end=end, now=now)
        except (NotFound, PermissionDenied) as exc:
            refused.append((cam_id, exc))
            continue
        items.append(CameraReview(tl.camera, tl, ""))
    if not items:
        return Review(start, end, [], refused)
    codecs = viewing.stream_codecs(session, [c.camera for c in items])
    ids = [c.camera.id for c in items]
    held = holds.active_for_cameras(session=session, camera_ids=ids, now=now) if actor.can(Perm.HOLDS_READ) else []
    marks = bookmarks.listing(session=session, camera_ids=ids, start=start, end=end)
    for item in items:
        item.codec = codecs[item.camera.id]
        item.holds = [h for h in held if h.camera_id == item.camera.id and h.start < end and h.end > start]
        item.bookmarks = [b for b in marks if b.camera_id == item.camera.id]
    return Review(start, end, items, refused)


def require_cameras(found: Review) -> None:
    """NotFound when none of the cameras asked for may be played back."""
    if not found.cameras:
        raise NotFound("none of these cameras is yours to play back")


def open_all(*, session: Session, actor: Actor, key: str, review_: Review, reason: str | None,
             credential: service.Credential, now: datetime) -> dict[int, str]:
    """Open every camera of the review for playback with one reason (one audit entry per camera): each
    camera's viewing ticket."""
    text = service.require_reason(reason)
    return {item.camera.id: viewing.open_playback(
        session=session, actor=actor, key=key, camera_id=item.camera.id, start=review_.start, end=review_.end,
        reason=text, credential=credential, now=now).ticket for item in review_.cameras}


# ---- bookmarks ------------------------------------------------------------------------------------------------
def add_bookmark(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime | None,
                 note: str, now: datetime) -> Bookmark:
    """Place a bookmark on a camera in scope (audited)."""
    cam = _camera(session, actor, camera_id, start, end or start, now)
    return bookmarks.create(session=session, actor=actor, camera_id=cam.id, site_id=cam.site_id, start=start,
                            end=end, note=note, now=now)


def list_bookmarks(*, session: Session, actor: Actor, camera_ids: list[int], start: datetime,
                   end: datetime) -> list[Bookmark]:
    """The bookmarks over [start, end) of the cameras asked for; NotFound naming a camera not in scope."""
    for cam_id in camera_ids:
        _camera(session, actor, cam_id, start, end)
    return bookmarks.listing(session=session, camera_ids=camera_ids, start=start, end=end)


def remove_bookmark(*, session: Session, actor: Actor, bookmark_id: int) -> None:
    """Delete a bookmark of a camera in scope: one's own, or any when supervising (audited)."""
    row = bookmarks.get(session=session, bookmark_id=bookmark_id)
    try:
        _camera(session, actor, row.camera_id, row.start, row.end or row.start)
    except NotFound:
        raise NotFound(f"no bookmark {bookmark_id}") from None
    bookmarks.delete(session=session, actor=actor, row=row)


# ---- stills -----------------------------------------------------------------------------------------------------
def _segment_at(session: Session, camera_id: int, at: datetime) -> SegmentRef:
    found = footage.segments(session=session, camera_id=camera_id, start=at, end=at + timedelta(milliseconds=1))
    if not found:
        raise NotFound("no recording at this moment")
    return found[-1]


def _run(args: list[str], out: Path, what: str) -> bytes:
    try:
        proc = subprocess.run(args, capture_output=True, timeout=FFMPEG_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"cannot run ffmpeg to make the {what}: {exc}") from exc
    if proc.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise NotFound(f"no picture in the recording at this moment ({what}): "
                       f"{proc.stderr.decode(errors='replace')[-200:]}")
    return out.read_bytes()


@dataclass(frozen=True)
class Snapshot:
    """A PNG of one recorded frame and the file name it is downloaded as."""

    png: bytes
    filename: str


def snapshot(*, session: Session, actor: Actor, storage: Storage, ffmpeg: str, camera_id: int, at: datetime,
             reason: str | None) -> Snapshot:
    """The recorded frame of a camera in scope at ``at`` as a PNG, written to the audit log with the reason and
    the time. ffmpeg runs after the reads (no snapshot of the database held meanwhile)."""
    cam = _camera(session, actor, camera_id, at, at)
    text = service.require_reason(reason)
    seg = _segment_at(session, cam.id, at)
    site_id = cam.site_id
    session.rollback()  # read-only so far
    work = Path(tempfile.mkdtemp(prefix="kgys-still-"))
    try:
        src = local_file(storage, seg.key, work / "segment.ts")
        offset = review.offset_in(at, seg.start, seg.end)
        out = work / "frame.png"
        png = _run(review.snapshot_args(ffmpeg=ffmpeg, src=src, offset=offset, out=out), out, "snapshot")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_SNAPSHOT, object_type="camera",
                                object_id=camera_id, site_id=site_id, reason=text,
                                details={"at": review.iso_z(at), "segment": seg.id, "offset": round(offset, 3)})
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3]
    return Snapshot(png, f"kgys-cam{camera_id}-{stamp}Z.png")


def thumbnail(*, session: Session, camera_id: int, at: datetime, storage: Storage, ffmpeg: str, cache: Path,
              now: datetime) -> bytes:
    """A small JPEG of the keyframe at or before ``at`` (the caller has checked the playback ticket), from the
    cache when made before. The segment is looked up first, so a segment retention has deleted has no thumbnail
    any more; its cached files are swept with the others older than :data:`~kgys.live.review.THUMB_KEEP`."""
    seg = _segment_at(session, camera_id, at)
    offset = review.thumb_offset(review.offset_in(at, seg.start, seg.end))
    path = cache / review.thumb_name(camera_id, seg.id, offset)
    if path.is_file():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    _sweep(path.parent, now)
    work = Path(tempfile.mkdtemp(prefix="kgys-thumb-"))
    try:
        src = local_file(storage, seg.key, work / "segment.ts")
        out = work / "thumb.jpg"
        try:
            body = _run(review.thumb_args(ffmpeg=ffmpeg, src=src, offset=offset, out=out), out, "thumbnail")
        except NotFound:
            if offset == 0:
                raise
            # a seek in MPEG-TS (no index) may land past the last keyframe before the time; the segment opens
            # with a keyframe, which is then the nearest one at or before it that can be found
            body = _run(review.thumb_args(ffmpeg=ffmpeg, src=src, offset=0.0, out=out), out, "thumbnail")
        shutil.move(out, path)
        return body
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sweep(folder: Path, now: datetime) -> None:
    """Remove a camera's cached thumbnails made more than THUMB_KEEP ago, at most once an hour per camera."""
    marker = folder / ".swept"
    stamp = now.timestamp()
    if marker.exists() and stamp - marker.stat().st_mtime < review.SWEEP_EVERY:
        return
    marker.touch()
    for item in folder.glob("*.jpg"):
        try:
            if stamp - item.stat().st_mtime > review.THUMB_KEEP:
                item.unlink()
        except OSError:
            log.debug("thumbnail %s already gone", item)

