"""Reviewing recordings, the pure part: which cameras a playback page asks for, the range typed in the reader's zone
(or an instant replay of the last seconds), and the ffmpeg commands that take a still picture from a recorded
segment (a snapshot: the exact frame at a time, PNG; a thumbnail: the keyframe at or before a time, a small JPEG).

The I/O around these (finding the segment, running ffmpeg, caching, auditing) is :mod:`kgys.live.flows.review`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kgys import localtime
from kgys.errors import FieldError, ValidationFailed
from kgys.live import refusals
from kgys.live.service import DEFAULT_SPAN, MAX_PLAYBACK

MAX_CAMERAS = 9
MAX_REPLAY = 3600
THUMB_WIDTH = 160
THUMB_STEP = 2.0  # seconds: thumbnails of one segment are cached per step (the keyframe at or before it)
THUMB_KEEP = 86_400.0  # seconds a cached thumbnail is kept (no longer than a day past its making)
SWEEP_EVERY = 3600.0  # seconds between two sweeps of a camera's cached thumbnails
MAX_ID = 2_147_483_647


def parse_cameras(raw: str, field: str = "cameras") -> list[int]:
    """The camera ids of ``1,2,3`` in order, without repeats; at least one and at most :data:`MAX_CAMERAS`."""
    ids: list[int] = []
    for part in (raw or "").split(","):
        text = part.strip()
        if not text:
            continue
        if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
            raise ValidationFailed([FieldError(field, "a comma-separated list of camera numbers", value=text[:20])])
        if int(text) not in ids:
            ids.append(int(text))
    if not ids:
        raise ValidationFailed([FieldError(field, "choose at least one camera")])
    if len(ids) > MAX_CAMERAS:
        raise ValidationFailed([FieldError.said(field, refusals.CAMERAS_TOGETHER, most=MAX_CAMERAS)])
    return ids


def read_time(raw: str | None, field: str, where: ZoneInfo) -> datetime | None:
    """A typed time (``datetime-local`` in ``where``, or ISO with an offset or Z) as UTC; None when empty;
    ValidationFailed naming ``field`` otherwise."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return localtime.parse_local(text, where)
    except ValueError:
        raise ValidationFailed([FieldError(field, "not a date and time (use 2026-12-01T08:00:00)",
                                           value=text[:40])]) from None


def local_range(raw_from: str | None, raw_to: str | None, where: ZoneInfo, *, now: datetime,
                limit: timedelta = MAX_PLAYBACK) -> tuple[datetime, datetime]:
    """[from, to) typed in the reader's zone (default: the last hour); ``to`` after ``from``; at most ``limit``."""
    end = read_time(raw_to, "to", where) or now
    start = read_time(raw_from, "from", where) or end - DEFAULT_SPAN
    if end <= start:
        raise ValidationFailed([FieldError("to", "must be after from")])
    if end - start > limit:
        hours = int(limit.total_seconds() // 3600)
        raise ValidationFailed([FieldError.said("to", refusals.RANGE_HOURS, hours=hours)])
    return start, end


def replay_range(raw: str, *, now: datetime) -> tuple[datetime, datetime]:
    """The range of an instant replay of the last ``raw`` seconds (1 … :data:`MAX_REPLAY`), up to now."""
    text = (raw or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_REPLAY:
        raise ValidationFailed([FieldError.said("replay", refusals.REPLAY_SECONDS, value=text[:20],
                                                most=MAX_REPLAY)])
    return now - timedelta(seconds=int(text)), now


def start_at(raw: str | None, where: ZoneInfo, start: datetime, end: datetime) -> datetime:
    """The moment playback starts at (``at``, typed like ``from``), within [start, end); ``start`` by default."""
    at = read_time(raw, "at", where)
    if at is None:
        return start
    if not start <= at < end:
        raise ValidationFailed([FieldError("at", "must lie within the range")])
    return at


def iso_z(value: datetime) -> str:
    """``2026-12-06T08:00:00Z``: a UTC time as the links and the API exchange it."""
    return localtime.as_utc(value).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Still:
    """Where a still picture is taken: the segment file and the offset into it (seconds)."""

    segment_id: int
    offset: float


def offset_in(at: datetime, seg_start: datetime, seg_end: datetime) -> float:
    """Seconds from the segment's start to ``at``, kept inside the segment."""
    span = max(0.0, (seg_end - seg_start).total_seconds())
    return min(max(0.0, (at - seg_start).total_seconds()), max(0.0, span - 0.001))


def thumb_offset(offset: float) -> float:
    """The offset a thumbnail is made for and cached under: ``offset`` rounded down to :data:`THUMB_STEP`."""
    return THUMB_STEP * int(offset // THUMB_STEP)


def snapshot_args(*, ffmpeg: str, src: Path, offset: float, out: Path) -> list[str]:
    """ffmpeg decoding ``src`` up to ``offset`` and writing that exact frame as a PNG (output seeking)."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-ss", f"{offset:.3f}",
            "-map", "0:v:0", "-frames:v", "1", "-c:v", "png", "-f", "image2", str(out)]


def thumb_args(*, ffmpeg: str, src: Path, offset: float, out: Path, width: int = THUMB_WIDTH) -> list[str]:
    """ffmpeg jumping to the keyframe at or before ``offset`` of ``src`` (no decoding up to the time) and writing
    it ``width`` pixels wide as a small JPEG."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-noaccurate_seek", "-ss",
            f"{offset:.3f}", "-i", str(src), "-map", "0:v:0", "-frames:v", "1", "-vf", f"scale={width}:-2",
            "-q:v", "6", "-f", "image2", str(out)]


def thumb_name(camera_id: int, segment_id: int, offset: float) -> str:
    """The cache file name of a thumbnail."""
    return f"{camera_id}/{segment_id}-{int(offset * 1000)}.jpg"
