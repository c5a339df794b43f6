"""The TS → fragmented MP4 remuxer on real ffmpeg-made recorder files: ffprobe reads what it writes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kgys.media import fmp4

FPS = 25
STEP = fmp4.TIMESCALE // FPS


def _files(out: Path, bframes: int, codec: str = "libx264", pes_length: bool = False) -> list[Path]:
    """Two 1-second files cut by the segment muxer as the recorder cuts them (timestamps restart per file)."""
    out.mkdir(parents=True, exist_ok=True)
    enc = (["-c:v", "libx264", "-preset", "veryfast", "-bf", str(bframes)] if codec == "libx264"
           else ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"])
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=2",
                    *enc, "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
                    "-f", "segment", "-segment_format", "mpegts", "-segment_time", "1", "-reset_timestamps", "1",
                    "-segment_format_options", f"omit_video_pes_length={0 if pes_length else 1}",
                    str(out / "s%03d.ts")], check=True, timeout=60)
    return sorted(out.glob("s*.ts"))


@pytest.fixture(scope="module", params=[0, 2], ids=["no-bframes", "bframes"])
def files(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _files(tmp_path_factory.mktemp(f"fmp4-{request.param}"), request.param)


def _remux(paths: list[Path], split: int = 4096) -> tuple[fmp4.Remuxer, list[fmp4.Fragment]]:
    rx = fmp4.Remuxer()
    out: list[fmp4.Fragment] = []
    for path in paths:
        data = path.read_bytes()
        for i in range(0, len(data), split):
            out += rx.feed(data[i:i + split])
        out += rx.restart()
    return rx, out


def _probe(path: Path, *entries: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", "-show_entries", ":".join(entries), str(path)],
                         capture_output=True, check=True, timeout=30)
    found: dict[str, Any] = json.loads(out.stdout)
    return found


def _write(tmp_path: Path, rx: fmp4.Remuxer, frags: list[fmp4.Fragment]) -> Path:
    assert rx.init is not None
    path = tmp_path / "out.mp4"
    path.write_bytes(rx.init + b"".join(f.data for f in frags))
    return path


def test_ffprobe_reads_the_remuxed_stream(files: list[Path], tmp_path: Path) -> None:
    rx, frags = _remux(files)
    path = _write(tmp_path, rx, frags)
    info = _probe(path, "stream=codec_name,width,height", "format=duration", "packet=dts,pts,duration,flags")
    stream = info["streams"][0]
    assert (len(info["streams"]), stream["codec_name"], stream["width"], stream["height"]) == (1, "h264", 320, 240)
    packets = info["packets"]
    assert len(packets) == len(frags) == 2 * FPS  # every frame of both files, none lost at the file change
    assert packets[0]["flags"].startswith("K")  # a keyframe first
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.05)
    dts = [p["dts"] for p in packets]
    assert dts == [i * STEP for i in range(len(dts))]  # one continuous timeline across the restarted timestamps
    assert {p["duration"] for p in packets} == {STEP}
    assert sum(1 for p in packets if p["flags"].startswith("K")) == 2  # one keyframe a second
    assert rx.mime_codec is not None and rx.mime_codec.startswith("avc1.")
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
                             capture_output=True, timeout=60)
    assert decoded.returncode == 0 and not decoded.stderr, decoded.stderr


def test_presentation_order_is_kept(files: list[Path], tmp_path: Path) -> None:
    """B-frames: each frame keeps its composition offset, so the shown order and times match the source."""
    rx, frags = _remux(files[:1])
    path = _write(tmp_path, rx, frags)
    source = [int(p["pts"]) - int(p["dts"]) for p in _probe(files[0], "packet=pts,dts")["packets"]]
    remuxed = [int(p["pts"]) - int(p["dts"]) for p in _probe(path, "packet=pts,dts")["packets"]]
    assert remuxed == source
    frames = _probe(path, "frame=pts")["frames"]
    assert sorted(int(f["pts"]) for f in frames) == [source[0] + i * STEP for i in range(len(frames))]


@pytest.mark.parametrize("split", [1, 188, 1000, 1 << 20])
def test_any_split_gives_the_same_bytes(files: list[Path], split: int) -> None:
    whole = b"".join(f.data for f in _remux(files, 1 << 24)[1])
    assert b"".join(f.data for f in _remux(files, split)[1]) == whole


def test_fragments_are_one_frame_each_and_the_first_carries_the_init(files: list[Path]) -> None:
    rx, frags = _remux(files)
    assert frags[0].init and not any(f.init for f in frags[1:])  # the parameter sets never changed
    assert [f.key for f in frags].count(True) == 2 and frags[0].key
    for f in frags:
        assert f.data[4:8] == b"moof" and b"mdat" in f.data[:200]
        assert f.duration == STEP
    assert rx.init is not None and rx.init[4:8] == b"ftyp" and b"avcC" in rx.init


def test_a_frame_leaves_when_the_next_one_begins(files: list[Path]) -> None:
    """Latency: the remuxer holds back only the frame still arriving."""
    data = files[0].read_bytes()
    rx = fmp4.Remuxer()
    got = rx.feed(data)
    assert len(got) == FPS - 1  # the last frame is whole only once the next begins (or the file ends)
    assert len(rx.restart()) == 1


def test_a_frame_of_stated_length_leaves_as_soon_as_it_is_whole(tmp_path: Path) -> None:
    """The recorder states each frame's PES length: the remuxer need not wait for the next frame."""
    files = _files(tmp_path, 0, pes_length=True)
    rx = fmp4.Remuxer()
    assert len(rx.feed(files[0].read_bytes())) == FPS
    assert rx.restart() == []
    assert b"".join(f.data for f in _remux(files, 188)[1]) == b"".join(f.data for f in _remux(files, 1 << 20)[1])


def test_h265_is_recognised_and_not_remuxed(tmp_path: Path) -> None:
    files = _files(tmp_path, 0, codec="libx265")
    rx, frags = _remux(files[:1])
    assert rx.codec == "h265"
    assert frags == [] and rx.init is None


def test_boxes_and_codec_string() -> None:
    assert fmp4.box(b"free") == b"\x00\x00\x00\x08free"
    assert fmp4.full_box(b"abcd", 1, 2, b"x") == b"\x00\x00\x00\x0dabcd\x01\x00\x00\x02x"
    assert fmp4.avc_codec(bytes([0x67, 0x64, 0x00, 0x1F])) == "avc1.64001f"
    assert fmp4.nal_units(b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x67\x64\x00") == [b"\x09\xf0", b"\x67\x64"]
