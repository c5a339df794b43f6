"""The remuxer's bulk packet path against the per-packet remuxer it replaced (``fmp4_reference``): the same
fragments, byte for byte, on real ffmpeg-made recorder files — with and without B-frames, with and without
stated PES lengths, a 1080p camera's file, fed in any split — and on files with damaged packet headers."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from kgys.media import fmp4
from tests.media import fmp4_reference

Splits = Callable[[int], Iterator[int]]
Got = tuple[list[tuple[bytes, bool, int, int, bool]], bytes | None, str | None] | str


def _files(out: Path, bframes: int, pes_length: bool, size: str = "640x360", seconds: int = 4) -> list[bytes]:
    """Recorder files of 2 seconds, cut by the segment muxer as the recorder cuts them."""
    out.mkdir(parents=True, exist_ok=True)
    source = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}"]
    encode = ["-c:v", "libx264", "-preset", "veryfast", "-bf", str(bframes), "-g", "25", "-b:v", "4M",
              "-pix_fmt", "yuv420p"]
    cut = ["-f", "segment", "-segment_format", "mpegts", "-segment_time", "2", "-reset_timestamps", "1",
           "-segment_format_options", f"flush_packets=1:omit_video_pes_length={0 if pes_length else 1}"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", *source, *encode, *cut, str(out / "s%03d.ts")], check=True,
                   timeout=120)
    return [p.read_bytes() for p in sorted(out.glob("s*.ts"))]


@pytest.fixture(scope="module", params=[(0, True), (0, False), (2, True), (2, False)],
                ids=["no-bframes-pes-length", "no-bframes-open-length", "bframes-pes-length", "bframes-open-length"])
def made(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    bframes, pes_length = request.param
    return _files(tmp_path_factory.mktemp("bulk"), bframes, pes_length)


def _remux(module: ModuleType, files: list[bytes], splits: Splits) -> Got:
    """Every fragment (bytes and fields), the last init segment and codec string; or the exception's name."""
    rx = module.Remuxer()
    out = []
    try:
        for data in files:
            pos = 0
            for size in splits(len(data)):
                out += rx.feed(data[pos:pos + size])
                pos += size
            out += rx.feed(data[pos:])
            out += rx.restart()
    except Exception as exc:  # the reference's own failures (a damaged header): the same ones are expected
        return type(exc).__name__
    return [(f.data, f.key, f.dts, f.duration, f.init) for f in out], rx.init, rx.mime_codec


def _fixed(size: int) -> Splits:
    return lambda n: iter([size] * (n // size))


def _random(seed: int) -> Splits:
    rng = random.Random(seed)
    return lambda n: iter([rng.randint(1, 40_000) for _ in range(n // 20_000)])


SPLITS = {"whole": lambda n: iter(()), "packet": _fixed(188), "odd": _fixed(1000), "frame-ish": _fixed(22_000),
          "random": _random(7)}


@pytest.mark.parametrize("split", list(SPLITS))
def test_the_bulk_path_gives_the_reference_bytes(made: list[bytes], split: str) -> None:
    new = _remux(fmp4, made, SPLITS[split])
    old = _remux(fmp4_reference, made, SPLITS[split])
    assert not isinstance(new, str) and not isinstance(old, str)
    assert len(new[0]) == len(old[0]) >= 90  # every frame of both files (the open-length last one may wait)
    assert new == old


def test_a_1080p_camera_file_gives_the_reference_bytes(tmp_path: Path) -> None:
    files = _files(tmp_path, 0, True, size="1920x1080", seconds=2)
    new, old = _remux(fmp4, files, _fixed(22_000)), _remux(fmp4_reference, files, _fixed(22_000))
    assert not isinstance(new, str) and len(new[0]) == 50
    assert new == old


def _damaged(files: list[bytes], rng: random.Random) -> list[bytes]:
    out = []
    for data in files:
        b = bytearray(data)
        for _ in range(rng.randint(1, 40)):  # sync bytes, unit start and PID bits, adaptation field, PES header
            pos = rng.randrange(len(b) // 188) * 188 + rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13])
            flipped = b[pos] ^ (1 << rng.randrange(8))
            b[pos] = rng.choice([0x00, 0x47, 0x40, 0x41, 0x01, 0x11, 0x21, 0x31, 0xFF, flipped])
        out.append(bytes(b))
    return out


def test_damaged_packet_headers_give_the_reference_bytes(made: list[bytes]) -> None:
    rng = random.Random(5)
    remuxed = 0
    for _ in range(25):
        files = _damaged(made, rng)
        new = _remux(fmp4, files, _fixed(4096))
        assert new == _remux(fmp4_reference, files, _fixed(4096))
        remuxed += not isinstance(new, str) and len(new[0]) > 50
    assert remuxed >= 20  # most damaged files still give most of their frames (no failure compared with failure)


def test_a_fragment_head_is_the_boxes_it_stands_for() -> None:
    for seq, dts, duration, cto, key, size in [(1, 0, 3600, 0, True, 10), (7, 1 << 40, 3003, 7200, False, 1 << 20)]:
        sample = bytes(size)
        assert fmp4.fragment(seq, dts, duration, cto, key, sample) == \
            fmp4_reference.fragment(seq, dts, duration, cto, key, sample)
