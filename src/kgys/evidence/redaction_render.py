"""Pixels: hiding regions of a frame (blur or mosaic, inside an ellipse or the whole box) and drawing boxes on a
frame for the review page. OpenCV stays in this module; its errors become :class:`RedactionError`."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from kgys.evidence.redaction import Box, Method, RedactionError, Region

Frame = npt.NDArray[np.uint8]  # height × width × 3, RGB
BLUR_FACTOR = 2  # deface's: the box filter is half the region's size, so a face becomes a smear
MOSAIC_CELLS = 6  # cells across a region's shorter side


def _hide(roi: Frame, method: Method) -> Frame:
    h, w = roi.shape[:2]
    if method == "blur":
        return cast(Frame, cv2.blur(roi, (max(1, w // BLUR_FACTOR), max(1, h // BLUR_FACTOR))))
    cell = max(1, min(w, h) // MOSAIC_CELLS)
    small = cv2.resize(roi, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    return cast(Frame, cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST))


@functools.lru_cache(maxsize=256)
def _ellipse_mask(w: int, h: int) -> npt.NDArray[np.bool_]:
    """The ellipse inscribed in a ``w`` × ``h`` box, as a read-only mask (``h`` × ``w`` × 1)."""
    mask = np.zeros((h, w), np.uint8)
    cv2.ellipse(mask, ((w / 2, h / 2), (w, h), 0.0), 255, -1)
    out = mask.astype(bool)[..., None]
    out.flags.writeable = False
    return out


def redact_frame(frame: Frame, regions: Sequence[Region], *, method: Method) -> None:
    """Hide ``regions`` of ``frame`` in place."""
    try:
        for r in regions:
            roi = frame[r.y1:r.y2, r.x1:r.x2]
            hidden = _hide(roi, method)
            if r.ellipse:
                np.copyto(roi, hidden, where=_ellipse_mask(r.x2 - r.x1, r.y2 - r.y1))
            else:
                roi[...] = hidden
    except cv2.error as exc:
        raise RedactionError(f"a region could not be hidden: {exc}") from exc


@dataclass(frozen=True)
class DrawnBox:
    """A box drawn on a review thumbnail: its place in the clip's pixels, its label and its kind."""

    box: Box
    label: str
    kind: str  # "detection" | "removed" | "added"


COLOURS = {"detection": (255, 210, 0), "removed": (150, 150, 150), "added": (0, 200, 255)}  # RGB


def boxes_png(frame: Frame, boxes: Sequence[DrawnBox], *, width: int) -> bytes:
    """``frame`` scaled to ``width`` pixels across (never up) with ``boxes`` drawn and labelled, as PNG bytes."""
    try:
        h, w = frame.shape[:2]
        factor = min(1.0, width / w)
        image = cv2.resize(frame, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA) \
            if factor < 1.0 else frame.copy()
        for drawn in boxes:
            b, colour = drawn.box, COLOURS.get(drawn.kind, COLOURS["detection"])
            p1 = (round(b.x1 * factor), round(b.y1 * factor))
            p2 = (round(b.x2 * factor), round(b.y2 * factor))
            cv2.rectangle(image, p1, p2, colour, 2)
            if drawn.label:
                cv2.putText(image, drawn.label, (p1[0], max(12, p1[1] - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                            colour, 1, cv2.LINE_AA)
        ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    except cv2.error as exc:
        raise RedactionError(f"the thumbnail could not be drawn: {exc}") from exc
    if not ok:
        raise RedactionError("the thumbnail could not be encoded")
    return bytes(png.tobytes())
