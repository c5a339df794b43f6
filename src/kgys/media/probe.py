"""ffprobe as plain data: codec, resolution, frame rate, bit rate and keyframe interval of a file or stream.

:func:`parse` is pure; :func:`probe_file` and :func:`probe_url` run ffprobe under a timeout and translate
its failures into :class:`ProbeError`.
"""

from __future__ import annotations

import json
import logging
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgys.errors import KgysError

log = logging.getLogger(__name__)

CODECS = {"h264": "h264", "hevc": "h265", "h265": "h265"}


class ProbeError(KgysError):
    """ffprobe could not read the file or stream."""


@dataclass(frozen=True)
class StreamInfo:
    """Measured properties of a video stream."""

    codec: str  # h264 | h265 | ffprobe's name for anything else
    width: int
    height: int
    fps: float | None
    bitrate_kbps: float | None
    keyframe_interval: float | None  # seconds
    duration: float | None  # seconds
    keyframe_at_start: bool


def _rate(text: str | None) -> float | None:
    if not text or "/" not in text:
        return None
    num, den = text.split("/", 1)
    try:
        value = float(num) / float(den)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse(doc: dict[str, Any]) -> StreamInfo:
    """Turn ffprobe's JSON (streams, packets, format) into a :class:`StreamInfo`."""
    streams = [s for s in doc.get("streams", []) if s.get("codec_type", "video") == "video"]
    if not streams:
        raise ProbeError("no video stream")
    st = streams[0]
    packets = [p for p in doc.get("packets", []) if p.get("pts_time") not in (None, "N/A")]
    times = [float(p["pts_time"]) for p in packets]
    keys = [float(p["pts_time"]) for p in packets if "K" in p.get("flags", "")]
    span = (max(times) - min(times)) if len(times) > 1 else None
    step = span / (len(times) - 1) if span and len(times) > 1 else None
    duration = _float(doc.get("format", {}).get("duration")) or ((span + step) if span and step else None)
    fps = _rate(st.get("avg_frame_rate")) or _rate(st.get("r_frame_rate")) or (1 / step if step else None)
    total = sum(int(p.get("size", 0)) for p in packets)
    if total and duration:
        bitrate: float | None = total * 8 / duration / 1000
    else:
        bitrate = (_float(doc.get("format", {}).get("bit_rate")) or 0) / 1000 or None
    gaps = [b - a for a, b in zip(keys, keys[1:], strict=False)]
    return StreamInfo(
        codec=CODECS.get(str(st.get("codec_name")), str(st.get("codec_name"))),
        width=int(st.get("width") or 0), height=int(st.get("height") or 0),
        fps=round(fps, 3) if fps else None,
        bitrate_kbps=round(bitrate, 1) if bitrate else None,
        keyframe_interval=round(sum(gaps) / len(gaps), 3) if gaps else None,
        duration=duration,
        keyframe_at_start=bool(packets) and "K" in packets[0].get("flags", ""),
    )


def _command(ffprobe: str, source: list[str]) -> list[str]:
    return [ffprobe, "-v", "error", "-select_streams", "v:0", "-of", "json",
            "-show_entries", "stream=codec_type,codec_name,width,height,avg_frame_rate,r_frame_rate",
            "-show_entries", "packet=pts_time,size,flags",
            "-show_entries", "format=duration,bit_rate", *source]


def _run(cmd: list[str], timeout: float) -> StreamInfo:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProbeError("ffprobe timed out", timeout=timeout) from exc
    except OSError as exc:
        raise ProbeError(f"ffprobe cannot run: {exc}") from exc
    if proc.returncode != 0:
        raise ProbeError(proc.stderr.decode("utf-8", "replace").strip()[-300:] or "ffprobe failed")
    try:
        doc = json.loads(proc.stdout)
    except ValueError as exc:
        raise ProbeError("ffprobe printed no JSON") from exc
    return parse(doc)


def probe_file(path: Path, *, ffprobe: str = "ffprobe", timeout: float = 20.0) -> StreamInfo:
    """Measure a recorded file."""
    return _run(_command(ffprobe, [str(path)]), timeout)


def probe_url(url: str, *, ffprobe: str = "ffprobe", seconds: float = 3.0, timeout: float = 20.0) -> StreamInfo:
    """Measure a live RTSP stream by reading it for ``seconds``."""
    source = ["-rtsp_transport", "tcp", "-read_intervals", f"%+{seconds:g}", url]
    return _run(_command(ffprobe, source), timeout)
