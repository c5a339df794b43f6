"""ffprobe's JSON as plain data (table-driven), and a real probe of a real clip and a real RTSP stream."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kgys.media.probe import ProbeError, parse, probe_file, probe_url
from kgys.sim.cameras import SimCameras


def doc(codec: str = "h264", w: int = 1920, h: int = 1080, rate: str = "25/1", keys_every: int = 25,
        frames: int = 100, size: int = 20_000, duration: str | None = "4.0") -> dict[str, Any]:
    packets = [{"pts_time": f"{i * 0.04:.2f}", "size": str(size), "flags": "K_" if i % keys_every == 0 else "__"}
               for i in range(frames)]
    out: dict[str, Any] = {"streams": [{"codec_type": "video", "codec_name": codec, "width": w, "height": h,
                                        "avg_frame_rate": rate, "r_frame_rate": rate}], "packets": packets}
    if duration:
        out["format"] = {"duration": duration}
    return out


@pytest.mark.parametrize(
    ("data", "codec", "size", "fps", "kbps", "gop"),
    [
        (doc(), "h264", (1920, 1080), 25.0, 4000.0, 1.0),
        (doc(codec="hevc", keys_every=50), "h265", (1920, 1080), 25.0, 4000.0, 2.0),
        (doc(w=640, h=480, rate="0/0", size=5000, duration=None), "h264", (640, 480), 25.0, 1000.0, 1.0),
        (doc(frames=1, keys_every=1), "h264", (1920, 1080), 25.0, 40.0, None),
    ],
)
def test_parse(data: dict[str, Any], codec: str, size: tuple[int, int], fps: float, kbps: float,
               gop: float | None) -> None:
    info = parse(data)
    assert (info.codec, (info.width, info.height), info.fps) == (codec, size, fps)
    assert info.bitrate_kbps == pytest.approx(kbps, rel=0.02)
    assert info.keyframe_interval == (pytest.approx(gop) if gop else None)
    assert info.keyframe_at_start


def test_parse_without_video() -> None:
    with pytest.raises(ProbeError):
        parse({"streams": [{"codec_type": "audio", "codec_name": "aac"}]})


def test_probe_real_clip(clip_h264: Path) -> None:
    info = probe_file(clip_h264)
    assert (info.codec, info.width, info.height, info.fps) == ("h264", 1920, 1080, 25.0)
    assert info.keyframe_interval == pytest.approx(1.0, abs=0.05)
    assert 3000 < (info.bitrate_kbps or 0) < 5500


def test_probe_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ProbeError):
        probe_file(tmp_path / "nope.ts")


def test_probe_simulated_camera(sim_h264: SimCameras) -> None:
    info = probe_url(sim_h264.url(6), seconds=2.5)
    assert (info.codec, info.width, info.height) == ("h264", 1920, 1080)
    assert info.fps == pytest.approx(25.0, abs=0.5)
    assert info.keyframe_interval == pytest.approx(1.0, abs=0.1)
