"""Clip download: the recorded segments of a range joined into one MP4 (ffmpeg concat, ``-c copy``), zipped
with a manifest of the segments' hashes so that the recipient can check them against the index.

The zip holds ``clip.mp4`` and ``manifest.json``. :func:`export` is what the page calls: :func:`plan` checks
and reads, :func:`build` runs ffmpeg with no transaction open, :func:`record` audits the export (reason,
range, the clip's own hash). The segments are read through the :class:`~kgys.recording.storage.Storage`
interface: ffmpeg reads a store's own file when it has one on this machine, else a copy streamed from it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.cameras.flows import systems as camera_flows
from kgys.errors import ConfigurationError, NotFound
from kgys.live import service
from kgys.recording import footage
from kgys.recording.footage import SegmentRef, Storage
from kgys.recording.storage import local_file
from kgys.sites.models import Site

MAX_CLIP = timedelta(hours=1)


@dataclass(frozen=True)
class ClipFile:
    """A finished export on disk, and what it is called for the recipient."""

    path: Path
    filename: str
    workdir: Path
    sha256: str


def concat_list(parts: Sequence[tuple[Path, float | None, float | None]]) -> str:
    """The ffmpeg concat-demuxer script for ``parts`` (file, in-point, out-point in seconds of the file). Pure."""
    lines = ["ffconcat version 1.0"]
    for path, inpoint, outpoint in parts:
        lines.append("file '" + str(path).replace("'", "'\\''") + "'")
        if inpoint is not None and inpoint > 0:
            lines.append(f"inpoint {inpoint:.3f}")
        if outpoint is not None:
            lines.append(f"outpoint {outpoint:.3f}")
    return "\n".join(lines) + "\n"


def clip_args(*, ffmpeg: str, concat: Path, out: Path, codec: str) -> list[str]:
    """The ffmpeg command joining the segments into one MP4 without re-encoding. Pure."""
    tag = ["-tag:v", "hvc1"] if codec == "h265" else []
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "concat", "-safe", "0",
            "-i", str(concat), "-map", "0:v:0", "-c", "copy", *tag, "-movflags", "+faststart", "-f", "mp4", str(out)]


def manifest(*, camera_id: int, site_code: str, start: datetime, end: datetime, reason: str, exported_by: str,
             exported_at: datetime, segments: Sequence[SegmentRef], clip_sha256: str,
             clip_bytes: int) -> dict[str, Any]:
    """The manifest of an export: what was asked, by whom, and every segment's hash and chain link. Pure."""
    return {
        "camera_id": camera_id, "site": site_code, "from": start.isoformat(), "to": end.isoformat(),
        "reason": reason, "exported_by": exported_by, "exported_at": exported_at.isoformat(),
        "clip": {"file": "clip.mp4", "sha256": clip_sha256, "bytes": clip_bytes},
        "segments": [{"id": s.id, "start": s.start.isoformat(), "end": s.end.isoformat(), "bytes": s.bytes,
                      "sha256": s.sha256, "prev_sha256": s.prev_sha256} for s in segments],
    }


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class ClipPlan:
    """What an export will contain, read from the index (plain data: no database needed to build it)."""

    camera_id: int
    site_id: int
    site_code: str
    codec: str
    start: datetime
    end: datetime
    reason: str
    segments: list[SegmentRef]


def plan(*, session: Session, actor: Actor, camera_id: int, start: datetime, end: datetime,
         reason: str | None) -> ClipPlan:
    """Check role, scope and reason and list the segments of [start, end); reads only."""
    cam = camera_flows.get_camera(session=session, actor=actor, camera_id=camera_id, perm=Perm.CLIP_EXPORT)
    text = service.require_reason(reason)
    refs = footage.segments(session=session, camera_id=cam.id, start=start, end=end)
    if not refs:
        raise NotFound("no recording in this range")
    site = session.get(Site, cam.site_id)
    assert site is not None
    return ClipPlan(cam.id, cam.site_id, site.code, refs[0].codec, start, end, text, refs)


def parts_of(plan: ClipPlan) -> list[tuple[SegmentRef, float | None, float | None]]:
    """Each planned segment with its in-point and out-point (seconds of the segment) trimming it to the range.
    Pure."""
    segs, out = plan.segments, []
    for i, s in enumerate(segs):
        inpoint = (plan.start - s.start).total_seconds() if i == 0 and plan.start > s.start else None
        outpoint = (plan.end - s.start).total_seconds() if i == len(segs) - 1 and plan.end < s.end else None
        out.append((s, inpoint, outpoint))
    return out


def recorded_seconds(plan: ClipPlan) -> float:
    """How many seconds of video the clip will hold: the planned segments trimmed to the range. Pure."""
    total = 0.0
    for s, inpoint, outpoint in parts_of(plan):
        total += max(0.0, (outpoint if outpoint is not None else s.duration) - (inpoint or 0.0))
    return total


def out_seconds(line: str) -> float | None:
    """The position ffmpeg reports on a ``-progress`` line (``out_time_us=…``), in seconds; None for any other
    line or a value not yet known. Pure."""
    key, _, value = line.strip().partition("=")
    if key not in ("out_time_us", "out_time_ms") or not value.strip().lstrip("-").isdigit():
        return None
    return max(0, int(value)) / 1_000_000  # ffmpeg writes microseconds under both names


def join(*, plan: ClipPlan, storage: Storage, ffmpeg: str, workdir: Path, out: Path,
         on_progress: Callable[[float], None] | None = None, timeout: float = 3600.0) -> None:
    """Join the planned segments into the MP4 ``out`` (files copied into ``workdir`` when the store has none on
    this machine); ``on_progress`` gets the seconds written so far as ffmpeg reports them. No database."""
    parts = [(local_file(storage, s.key, workdir / f"part{i:05d}.ts"), a, b)
             for i, (s, a, b) in enumerate(parts_of(plan))]
    concat = workdir / f"{out.stem}.ffconcat"
    concat.write_text(concat_list(parts))
    args = clip_args(ffmpeg=ffmpeg, concat=concat, out=out, codec=plan.codec)
    args[1:1] = ["-progress", "pipe:1", "-nostats"]
    errors = workdir / f"{out.stem}.stderr"
    deadline = time.monotonic() + timeout
    try:
        with errors.open("wb") as err, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err) as proc:
            assert proc.stdout is not None
            try:
                for raw in proc.stdout:
                    seconds = out_seconds(raw.decode(errors="replace"))
                    if seconds is not None and on_progress is not None:
                        on_progress(seconds)  # may raise: the caller gave up on this clip
                    if time.monotonic() > deadline:
                        proc.kill()
                code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except BaseException:
                proc.kill()
                raise
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"cannot run {ffmpeg} to join the clip: {exc}") from exc
    if code != 0 or not out.exists():
        tail = errors.read_text(errors="replace")[-300:]
        raise ConfigurationError(f"ffmpeg could not join the clip: {tail}")


def build(*, plan: ClipPlan, storage: Storage, ffmpeg: str, exported_by: str, now: datetime) -> ClipFile:
    """Join the planned segments into ``clip.mp4`` and zip it with its manifest, in a fresh temporary directory
    (no database: a long export holds no transaction open). The caller removes ``workdir`` when done."""
    workdir = Path(tempfile.mkdtemp(prefix="kgys-clip-"))
    try:
        mp4 = workdir / "clip.mp4"
        join(plan=plan, storage=storage, ffmpeg=ffmpeg, workdir=workdir, out=mp4, timeout=600)
        clip_sha, clip_bytes = sha256_of(mp4), mp4.stat().st_size
        info = manifest(camera_id=plan.camera_id, site_code=plan.site_code, start=plan.start, end=plan.end,
                        reason=plan.reason, exported_by=exported_by, exported_at=now, segments=plan.segments,
                        clip_sha256=clip_sha, clip_bytes=clip_bytes)
        out = workdir / f"kgys-{plan.site_code}-cam{plan.camera_id}-{plan.start:%Y%m%dT%H%M%SZ}.zip"
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.write(mp4, "clip.mp4")
            zf.writestr("manifest.json", json.dumps(info, indent=2, ensure_ascii=False))
        mp4.unlink()
        return ClipFile(out, out.name, workdir, clip_sha)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def record(*, session: Session, actor: Actor, plan: ClipPlan, clip: ClipFile) -> None:
    """Write the export to the audit log (reason, range, segments, the clip's hash)."""
    audit_service.record_access(session, actor=actor, action=AuditAction.CAMERA_CLIP_EXPORT, object_type="camera",
                                object_id=plan.camera_id, site_id=plan.site_id, reason=plan.reason,
                                details={"from": plan.start.isoformat(), "to": plan.end.isoformat(),
                                         "segments": len(plan.segments), "clip_sha256": clip.sha256})


def export(*, session: Session, actor: Actor, storage: Storage, ffmpeg: str, camera_id: int, start: datetime,
           end: datetime, reason: str | None, now: datetime) -> ClipFile:
    """Check, join and audit the clip of [start, end): the export the page hands out. The reads are ended before
    ffmpeg runs (no snapshot held open meanwhile: SQLite writers must not wait), and the finished clip is removed
    again when its audit entry cannot be written. The caller removes ``workdir`` once the file is sent."""
    todo = plan(session=session, actor=actor, camera_id=camera_id, start=start, end=end, reason=reason)
    session.rollback()  # read-only so far
    out = build(plan=todo, storage=storage, ffmpeg=ffmpeg, exported_by=actor.username, now=now)
    try:
        record(session=session, actor=actor, plan=todo, clip=out)
    except BaseException:
        shutil.rmtree(out.workdir, ignore_errors=True)
        raise
    return out
