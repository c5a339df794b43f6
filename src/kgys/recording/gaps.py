"""The recorder's decisions, as pure functions: why ffmpeg stopped, how long to wait, what a gap's cause
is, when a segment started, and how much of a time range is covered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from kgys.said import _


class GapCause(StrEnum):
    """Why a camera's recording has a gap (the stored value)."""

    CAMERA_OFFLINE = "camera_offline"
    STREAM_ERROR = "stream_error"
    STORAGE_ERROR = "storage_error"
    RECORDER_DOWN = "recorder_down"
    SCHEDULED = "scheduled"


_UNREACHABLE = re.compile(
    r"connection refused|no route to host|network is unreachable|timed out|timeout|"
    r"name or service not known|temporary failure in name resolution|host is down|"
    r"404 not found|503 service unavailable|server returned 4\d\d|server returned 5\d\d|"
    r"connection reset by peer|end of file|broken pipe",
    re.IGNORECASE,
)

_NOISE = re.compile(r"non-monotonous dts|timestamps are unset|changing to \d+\. this may result", re.IGNORECASE)
_STORAGE = re.compile(r"no space left on device|read-only file system|permission denied|disk quota exceeded",
                      re.IGNORECASE)

Interval = tuple[datetime, datetime]

# the recorder's own words about why a recording stopped (ffmpeg's last line, ``line``, is data and stays as it is)
CANNOT_WRITE = _("cannot write the spool: %(line)s")
BLOCKED = _("ffmpeg stayed blocked writing to the spool: the spool disk is too slow")
BLOCKED_IN = _("ffmpeg stayed blocked writing to the spool (in %(wait)s): the spool disk is too slow")
NO_DATA = _("no new data from the stream")
NO_DATA_LINE = _("no new data from the stream: %(line)s")
UNREACHABLE = _("camera unreachable: %(line)s")
KILLED = _("ffmpeg killed by signal %(signal)s")
KILLED_LINE = _("ffmpeg killed by signal %(signal)s: %(line)s")
ENDED = _("the camera ended the stream")
ENDED_LINE = _("the camera ended the stream: %(line)s")
EXITED = _("ffmpeg exited with status %(status)s")
EXITED_LINE = _("ffmpeg exited with status %(status)s: %(line)s")
NOT_RUNNING = _("the recorder was not running")
REMOVED = _("camera disabled or removed")
RECORDING = _("recording")  # a camera's state while segments of it are stored
RECORDER_DOWN = _("recorder down")  # a camera's state while the recorder is not reporting
RECORDER_WAS_DOWN = _("recorder was down")
LATEST = _("%(first)s\nlatest: %(latest)s")  # an open gap's first reason and its latest failure


def classify_exit(returncode: int | None, stderr_tail: str, *, stalled: bool = False,
                  disk_wait: str | None = None) -> tuple[str, str]:
    """Why a recording ffmpeg stopped: (gap cause, reason a person can read).

    ``disk_wait`` is set when a stalled ffmpeg was found blocked in the kernel on the disk (its wait
    channel, possibly empty): the spool could not take the data, the camera was not at fault.
    """
    lines = [ln.strip() for ln in stderr_tail.splitlines() if ln.strip() and not _NOISE.search(ln)]
    last = lines[-1][:300] if lines else ""
    text = "\n".join(lines)
    if _STORAGE.search(text):
        hit = next((ln for ln in reversed(lines) if _STORAGE.search(ln)), last)
        return GapCause.STORAGE_ERROR, CANNOT_WRITE.english(line=hit[:300])
    if stalled and disk_wait is not None:
        blocked = BLOCKED_IN.english(wait=disk_wait) if disk_wait else BLOCKED.english()
        return GapCause.STORAGE_ERROR, blocked
    if stalled:
        return GapCause.STREAM_ERROR, NO_DATA_LINE.english(line=last) if last else NO_DATA.english()
    if _UNREACHABLE.search(text):
        hit = next((ln for ln in reversed(lines) if _UNREACHABLE.search(ln)), last)
        return GapCause.CAMERA_OFFLINE, UNREACHABLE.english(line=hit[:300])
    if returncode is not None and returncode < 0:
        signal = -returncode
        return GapCause.STREAM_ERROR, KILLED_LINE.english(signal=signal, line=last) if last else \
            KILLED.english(signal=signal)
    if returncode == 0:
        return GapCause.CAMERA_OFFLINE, ENDED_LINE.english(line=last) if last else ENDED.english()
    return GapCause.STREAM_ERROR, EXITED_LINE.english(status=returncode, line=last) if last else \
        EXITED.english(status=returncode)


def merge_cause(current: str, new: str) -> str:
    """The cause of an open gap after another failure: a stream error turns out to be an offline camera
    when the camera is then unreachable; any other cause stays what it was when the gap opened."""
    if current == GapCause.STREAM_ERROR and new == GapCause.CAMERA_OFFLINE:
        return GapCause.CAMERA_OFFLINE
    return current


def backoff(failures: int, initial: float, maximum: float) -> float:
    """Seconds to wait before the next start after ``failures`` consecutive failures (0: start now)."""
    if failures <= 0:
        return 0.0
    return float(min(maximum, initial * 2 ** min(failures - 1, 30)))


def segment_times(*, name_start: datetime, closed_at: datetime, duration: float,
                  prev_end: datetime | None, same_run: bool, run_start: datetime | None = None,
                  snap: float = 1.5) -> Interval:
    """When a segment started and ended.

    ffmpeg names a file by the second it opened it and last writes it when it closes it, so the start
    is the modification time minus the duration, held between the start of the ffmpeg run (a run's first
    file also holds the frames read while ffmpeg was still probing the stream) and the end of the named
    second (a file closed late, because the stream hung before ffmpeg gave up, or touched later, cannot
    move its start further). A segment that follows the previous one of the same run within ``snap``
    seconds starts exactly where that one ended: one run records one continuous stream.
    """
    span = timedelta(seconds=max(0.0, duration))
    lower = min(run_start, name_start) if run_start is not None else name_start
    start = min(max(closed_at - span, lower), name_start + timedelta(seconds=1))
    if same_run and prev_end is not None and abs((start - prev_end).total_seconds()) <= snap:
        start = prev_end
    return start, start + span


def merge(intervals: Iterable[Interval], tolerance: float = 0.0) -> list[Interval]:
    """Sorted union of intervals; neighbours closer than ``tolerance`` seconds are joined."""
    out: list[Interval] = []
    for start, end in sorted(intervals):
        if out and (start - out[-1][1]).total_seconds() <= tolerance:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def holes(intervals: Iterable[Interval], start: datetime, end: datetime, tolerance: float = 0.0) -> list[Interval]:
    """The parts of [start, end) that no interval covers, ignoring holes of ``tolerance`` seconds or less."""
    out: list[Interval] = []
    cursor = start
    for s, e in merge(intervals):
        if e <= cursor:
            continue
        if s >= end:
            break
        if (s - cursor).total_seconds() > tolerance:
            out.append((cursor, s))
        cursor = max(cursor, e)
    if (end - cursor).total_seconds() > tolerance:
        out.append((cursor, end))
    return out


def covered_seconds(intervals: Iterable[Interval], start: datetime, end: datetime) -> float:
    """Seconds of [start, end) that the intervals cover."""
    total = 0.0
    for s, e in merge(intervals):
        s, e = max(s, start), min(e, end)
        if e > s:
            total += (e - s).total_seconds()
    return total


def coverage_by_hour(intervals: Sequence[Interval], start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Per UTC hour from ``start``'s hour to ``end``: the fraction (0–1) of the hour that is covered,
    counting only the part of the hour inside [start, end)."""
    out: list[tuple[datetime, float]] = []
    hour = start.replace(minute=0, second=0, microsecond=0)
    merged = merge(intervals)
    while hour < end:
        lo, hi = max(hour, start), min(hour + timedelta(hours=1), end)
        span = (hi - lo).total_seconds()
        out.append((hour, covered_seconds(merged, lo, hi) / span if span > 0 else 0.0))
        hour += timedelta(hours=1)
    return out
