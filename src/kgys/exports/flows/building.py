"""Building an export: what it will hold, read from the index (:func:`plan`), then one MP4 per camera joined by
ffmpeg (``-c copy``, :mod:`kgys.live.flows.clip`) and zipped with ``manifest.json`` (:func:`build`, no
database). Progress is the seconds ffmpeg has written over the seconds recorded in the range, all cameras
together. The segments are only read.

The manifest names who asked and why, the range in UTC and in the server's local time (the zone named), and for
each camera its site, its MP4's SHA-256 and size, and every segment's hash and chain link, as a single-camera
clip's manifest does.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from kgys import localtime
from kgys.cameras.models import Camera
from kgys.errors import ConfigurationError, KgysError, NotFound
from kgys.evidence.flows.release_build import BuildFailed as ReleaseFailed
from kgys.evidence.flows.release_build import ClipSpec
from kgys.exports import service
from kgys.live.flows import clip
from kgys.recording import footage
from kgys.recording.footage import Storage

__all__ = ["BuildFailed", "CameraPart", "ExportPlan", "Storage", "build", "cut_clip", "cut_release_clip", "manifest",
           "plan"]
from kgys.sites.models import Site


class BuildFailed(KgysError):
    """An export could not be built; ``code`` names why (``no_recording``, ``ffmpeg_failed``,
    ``segment_missing``) and ``params`` what it concerns, for the message shown to the requester."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code


@dataclass(frozen=True)
class CameraPart:
    """One camera of an export: its names and its clip's plan (None when nothing was recorded in the range)."""

    camera_id: int
    name: str
    site_code: str
    site_name: str
    plan: clip.ClipPlan | None

    @property
    def filename(self) -> str:
        """The camera's MP4 inside the zip."""
        return f"camera-{self.camera_id}.mp4"


@dataclass(frozen=True)
class ExportPlan:
    """Everything building an export needs, as plain data."""

    export_id: int
    requested_by: str
    reason: str
    start: datetime
    end: datetime
    requested_at: datetime
    parts: list[CameraPart]

    @property
    def seconds(self) -> float:
        """The seconds of video recorded in the range, all cameras together."""
        return sum(clip.recorded_seconds(p.plan) for p in self.parts if p.plan is not None)


def plan(*, session: Session, export_id: int) -> ExportPlan:
    """Read what the export will hold: each camera's names and segments in the range."""
    row = service.get(session=session, export_id=export_id)
    parts = []
    for camera_id in row.cameras:
        cam = session.get(Camera, camera_id)
        site = session.get(Site, cam.site_id) if cam is not None else None
        refs = footage.segments(session=session, camera_id=camera_id, start=row.start, end=row.end)
        cp = None
        if cam is not None and site is not None and refs:
            cp = clip.ClipPlan(cam.id, site.id, site.code, refs[0].codec, row.start, row.end, row.reason, refs)
        parts.append(CameraPart(camera_id, cam.name if cam else "", site.code if site else "",
                                site.name if site else "", cp))
    return ExportPlan(row.id, row.requested_by_name, row.reason, row.start, row.end, row.created_at, parts)


def _time(value: datetime, zone: ZoneInfo) -> dict[str, str]:
    return {"utc": localtime.as_utc(value).isoformat(), "local": localtime.to_local(value, zone).isoformat()}


def manifest(*, plan: ExportPlan, files: dict[int, tuple[str, int]], zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """The export's manifest; ``files`` maps a camera to its MP4's SHA-256 and size. Pure."""
    cameras = []
    for p in plan.parts:
        sha, size = files.get(p.camera_id, (None, None))
        segs = p.plan.segments if p.plan is not None else []
        cameras.append({
            "camera_id": p.camera_id, "name": p.name, "site": p.site_code, "site_name": p.site_name,
            "file": p.filename if sha else None, "sha256": sha, "bytes": size,
            "recorded_seconds": round(clip.recorded_seconds(p.plan), 3) if p.plan is not None else 0.0,
            "segments": [{"id": s.id, "start": s.start.isoformat(), "end": s.end.isoformat(), "bytes": s.bytes,
                          "sha256": s.sha256, "prev_sha256": s.prev_sha256} for s in segs]})
    return {"export_id": plan.export_id, "requested_by": plan.requested_by, "reason": plan.reason,
            "time_zone": zone.key, "from": _time(plan.start, zone), "to": _time(plan.end, zone),
            "requested_at": _time(plan.requested_at, zone), "exported_at": _time(now, zone),
            "sites": sorted({p.site_code for p in plan.parts if p.site_code}), "cameras": cameras}


def _share(on_progress: Callable[[float], None], before: float, total: float) -> Callable[[float], None]:
    """Turns one camera's seconds written into the whole export's share done."""
    return lambda seconds: on_progress(min(1.0, (before + seconds) / total))


def cut_clip(*, plan: clip.ClipPlan, storage: Storage, ffmpeg: str, workdir: Path, out: Path,
             on_progress: Callable[[float], None], camera: str | int) -> tuple[str, int]:
    """Join one camera's planned segments into the MP4 ``out`` (``-c copy``; ``on_progress`` gets the seconds
    written); its SHA-256 and size. BuildFailed naming ``camera`` when a segment is missing or ffmpeg fails."""
    try:
        clip.join(plan=plan, storage=storage, ffmpeg=ffmpeg, workdir=workdir, out=out, on_progress=on_progress)
    except NotFound as exc:
        raise BuildFailed(str(exc), "segment_missing", camera=camera) from exc
    except ConfigurationError as exc:
        raise BuildFailed(str(exc), "ffmpeg_failed", camera=camera) from exc
    finally:
        for f in workdir.glob("part*.ts"):
            f.unlink()
    return clip.sha256_of(out), out.stat().st_size


def cut_release_clip(*, spec: ClipSpec, storage: Storage, ffmpeg: str, workdir: Path, out: Path,
                     on_progress: Callable[[float], None]) -> tuple[str, int]:
    """Cut one clip of an evidence release as an export's clip is cut (:func:`cut_clip`); the release's own
    BuildFailed when it cannot (the cutter handed to :mod:`kgys.evidence.release_worker`)."""
    plan = clip.ClipPlan(spec.camera_id, spec.site_id, spec.site_code, spec.codec, spec.start, spec.end, "",
                         list(spec.segments))
    try:
        return cut_clip(plan=plan, storage=storage, ffmpeg=ffmpeg, workdir=workdir, out=out,
                        on_progress=on_progress, camera=spec.camera_name or spec.camera_id)
    except BuildFailed as exc:
        raise ReleaseFailed(exc.message, exc.code, **exc.params) from exc


def build(*, plan: ExportPlan, storage: Storage, ffmpeg: str, workdir: Path, out: Path, zone: ZoneInfo,
          now: Callable[[], datetime], on_progress: Callable[[float], None]) -> tuple[int, str]:
    """Join each camera's MP4 in ``workdir`` and zip them with the manifest into ``out``; ``on_progress`` gets
    the share done (0–1). Returns the zip's size and SHA-256. BuildFailed when nothing was recorded, ffmpeg
    fails or a segment is missing from the store."""
    total = plan.seconds
    if total <= 0:
        raise BuildFailed("nothing was recorded in this range", "no_recording")
    workdir.mkdir(parents=True, exist_ok=True)
    files: dict[int, tuple[str, int]] = {}
    done = 0.0
    for p in plan.parts:
        if p.plan is None:
            continue
        mp4 = workdir / p.filename
        files[p.camera_id] = cut_clip(plan=p.plan, storage=storage, ffmpeg=ffmpeg, workdir=workdir, out=mp4,
                                      on_progress=_share(on_progress, done, total), camera=p.name or p.camera_id)
        done += clip.recorded_seconds(p.plan)
        on_progress(min(1.0, done / total))
    info = manifest(plan=plan, files=files, zone=zone, now=now())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for p in plan.parts:
            if p.camera_id in files:
                zf.write(workdir / p.filename, p.filename)
        zf.writestr("manifest.json", json.dumps(info, indent=2, ensure_ascii=False))
    return out.stat().st_size, clip.sha256_of(out)
