"""Reading a segment's facts from its first and last bytes, on files real ffmpeg wrote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kgys.media.probe import ProbeError, probe_file
from kgys.media.tsinfo import PACKET, frame_rate, frame_size, inspect, inspect_file, is_keyframe, measure


def encode(out: Path, codec: str, size: str, seconds: float = 2.0) -> Path:
    enc = (["-c:v", "libx264", "-bf", "0", "-g", "25"] if codec == "h264"
           else ["-c:v", "libx265", "-x265-params", "bframes=0:keyint=25:log-level=error"])
    src = f"testsrc2=size={size}:rate=25:duration={seconds}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", src, *enc, "-preset", "ultrafast",
                    "-f", "mpegts", str(out)], check=True, timeout=120)
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ts")
    return {"h264_640": encode(d / "a.ts", "h264", "640x480"),
            "h264_1280": encode(d / "b.ts", "h264", "1280x720"),
            "h265_704": encode(d / "c.ts", "h265", "704x576")}


@pytest.mark.parametrize(("key", "codec", "w", "h"), [("h264_640", "h264", 640, 480), ("h264_1280", "h264", 1280, 720),
                                                      ("h265_704", "h265", 704, 576)])
def test_real_files(small: dict[str, Path], key: str, codec: str, w: int, h: int) -> None:
    info = inspect_file(small[key])
    assert info.synced and info.codec == codec and (info.width, info.height) == (w, h)
    assert info.keyframe_at_start
    assert info.frame_interval == pytest.approx(0.04, abs=1e-3)
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_1080p_clip(clip_h264: Path, tmp_path: Path) -> None:
    ts = tmp_path / "clip.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(clip_h264), "-c", "copy", "-f", "mpegts", str(ts)], check=True)
    info = inspect_file(ts)
    assert (info.codec, info.width, info.height) == ("h264", 1920, 1080)
    assert info.duration == pytest.approx(4.0, abs=0.05)


def test_cut_off_file_reads_to_its_last_whole_packet(small: dict[str, Path], tmp_path: Path) -> None:
    data = small["h264_640"].read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: len(data) // 2 + 77])  # killed mid-packet
    info = inspect_file(cut)
    assert info.synced and info.keyframe_at_start
    assert 0.5 < info.duration < 1.9


def test_file_starting_mid_gop_has_no_keyframe_at_start(small: dict[str, Path], tmp_path: Path) -> None:
    data = small["h264_640"].read_bytes()
    packets = len(data) // PACKET
    start = (packets // 3) * PACKET
    mid = tmp_path / "mid.ts"
    mid.write_bytes(data[start:])
    info = inspect_file(mid)
    assert info.codec == "h264" and not info.keyframe_at_start


@pytest.mark.parametrize("blob", [b"", b"\x00" * 5000, bytes(range(256)) * 40, b"G" + b"\x00" * 187])
def test_garbage(blob: bytes) -> None:
    info = inspect(blob, blob, 0)
    assert info.codec is None and info.duration == 0.0 and not info.keyframe_at_start


@pytest.mark.parametrize(
    ("codec", "nal", "key"),
    [
        ("h264", b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x67\x64\x00\x00\x00\x01\x65\x88", True),  # AUD, SPS, IDR
        ("h264", b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x41\x9a", False),  # AUD, P slice
        ("h265", b"\x00\x00\x00\x01\x40\x01\x00\x00\x01\x26\x01\xaf", True),  # VPS, IDR_W_RADL
        ("h265", b"\x00\x00\x00\x01\x02\x01\xd0", False),  # TRAIL_R
    ],
)
def test_is_keyframe(codec: str, nal: bytes, key: bool) -> None:
    assert is_keyframe(codec, nal) is key


def test_frame_size_without_sps() -> None:
    assert frame_size("h264", b"\x00\x00\x01\x41\x9a") == (0, 0)


@pytest.mark.parametrize("key", ["h264_640", "h264_1280", "h265_704"])
def test_measure_agrees_with_ffprobe(small: dict[str, Path], key: str) -> None:
    ours, theirs = measure(small[key].read_bytes()), probe_file(small[key])
    assert (ours.codec, ours.width, ours.height) == (theirs.codec, theirs.width, theirs.height)
    assert ours.fps == pytest.approx(25.0) and theirs.fps == pytest.approx(25.0)
    assert ours.keyframe_interval == pytest.approx(1.0, abs=0.01)
    assert ours.keyframe_interval == pytest.approx(theirs.keyframe_interval, abs=0.01)
    assert ours.duration == pytest.approx(2.0, abs=0.05)
    assert ours.keyframe_at_start
    # ffprobe counts whole packets of the elementary stream as well: the same bytes over the same time.
    assert ours.bitrate_kbps == pytest.approx(theirs.bitrate_kbps, rel=0.03)


def test_measure_a_gop_of_two_seconds_and_a_file_without_video(tmp_path: Path) -> None:
    ts = tmp_path / "gop.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=6",
                    "-c:v", "libx264", "-bf", "0", "-g", "20", "-preset", "ultrafast", "-f", "mpegts", str(ts)],
                   check=True, timeout=120)
    info = measure(ts.read_bytes())
    assert (info.width, info.height, info.fps, info.keyframe_interval) == (320, 240, 10.0, 2.0)
    audio = tmp_path / "audio.ts"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "mp2", "-f", "mpegts",
                    str(audio)], check=True, timeout=120)
    with pytest.raises(ProbeError, match="no H.264 or H.265"):
        measure(audio.read_bytes())
    with pytest.raises(ProbeError, match="sync"):
        measure(b"\x00" * 188 * 3)


@pytest.mark.parametrize(("frames", "span", "rate"), [
    (251, 10.0, 25.0), (251, 10.08, 25.0), (250, 10.0, 25.0), (301, 10.0, 30.0),
    (300, 10.0, 29.97), (101, 10.0, 10.0), (52, 2.0, 25.0),
    (181, 10.0, 18.0), (221, 10.0, 22.0), (2, 0.5, 2.0), (1, 1.0, None), (5, 0.0, None),
])
def test_frame_rate_snaps_to_the_nominal_rate_within_three_percent(frames: int, span: float,
                                                                  rate: float | None) -> None:
    assert frame_rate(frames, span) == rate
