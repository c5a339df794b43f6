"""The per-recipient watermark: escaping for ffmpeg's filter graph (table-tested), the command, the text, and a
real ffmpeg run that burns Turkish text in from a folder whose name holds every character the graph treats
specially."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kgys.errors import ConfigurationError
from kgys.evidence.package_build import file_sha256
from kgys.evidence.package_watermark import (
    burn_watermark,
    drawtext_filter,
    escape_graph,
    escape_value,
    watermark_args,
    watermark_text,
)
from tests.evidence.material import Camera


@pytest.mark.parametrize(("raw", "value", "graph"), [
    ("/tmp/a.txt", "/tmp/a.txt", "/tmp/a.txt"),
    ("/tmp/it's.txt", "/tmp/it\\'s.txt", "/tmp/it\\\\\\'s.txt"),
    ("C:/x.txt", "C\\:/x.txt", "C\\\\:/x.txt"),
    ("/a,b;c[d]e.txt", "/a,b;c[d]e.txt", "/a\\,b\\;c\\[d\\]e.txt"),
    ("/back\\slash", "/back\\\\slash", "/back\\\\\\\\slash"),
    ("/çğış öü", "/çğış öü", "/çğış öü"),
])
def test_escaping_for_an_option_value_then_for_the_graph(raw: str, value: str, graph: str) -> None:
    assert escape_value(raw) == value
    assert escape_graph(escape_value(raw)) == graph


def test_the_filter_and_the_command() -> None:
    f = drawtext_filter(textfile=Path("/w/it's.txt"))
    assert f == ("drawtext=textfile=/w/it\\\\\\'s.txt:expansion=none:fontsize=h/24:fontcolor=white:box=1:"
                 "boxcolor=black@0.55:boxborderw=6:line_spacing=4:x=w/40:y=h-th-h/40")
    assert "fontfile=/f/DejaVuSans.ttf:expansion" in drawtext_filter(textfile=Path("/t"),
                                                                      fontfile=Path("/f/DejaVuSans.ttf"))
    args = watermark_args(ffmpeg="ff", source=Path("/in.mp4"), out=Path("/out.mp4"), textfile=Path("/t"))
    assert args[:8] == ["ff", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", "/in.mp4"]
    assert args[args.index("-vf") + 1] == drawtext_filter(textfile=Path("/t"))
    assert args[args.index("-c:v") + 1] == "libx264" and args[args.index("-crf") + 1] == "18"
    assert args[-3:] == ["-f", "mp4", "/out.mp4"]


@pytest.mark.parametrize(("zone", "shown"), [
    ("Europe/Istanbul", "2026-03-04 11:05:00 +0300"),
    ("UTC", "2026-03-04 08:05:00 +0000"),
    ("America/New_York", "2026-03-04 03:05:00 -0500"),
])
def test_the_text_names_recipient_request_and_local_time(zone: str, shown: str) -> None:
    text = watermark_text(recipient="Av. Zeynep Kaya", request_number="2026/17",
                          at=datetime(2026, 3, 4, 8, 5, tzinfo=UTC), zone=ZoneInfo(zone))
    assert text == f"Av. Zeynep Kaya\n2026/17\n{shown}"


def _gray(path: Path) -> bytes:
    """The first frame as 8-bit gray pixels (160×120)."""
    return subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                           "-pix_fmt", "gray", "-"], check=True, capture_output=True, timeout=60).stdout


def _diff(a: bytes, b: bytes, rows: range, cols: range, width: int = 160) -> float:
    total = sum(abs(a[r * width + c] - b[r * width + c]) for r in rows for c in cols)
    return total / (len(rows) * len(cols))


def test_the_text_is_burnt_into_the_picture(cameras: list[Camera], tmp_path: Path) -> None:
    folder = tmp_path / "alıcı it's: a,b;[c]"
    folder.mkdir()
    out = folder / "marked.mp4"
    mark = burn_watermark(ffmpeg="ffmpeg", source=cameras[1].clip, out=out,
                          text="Av. Zeynep Kaya\n2026/17 %{pts}\n2026-03-04 11:05:00 +0300")
    assert mark.source.sha256 == file_sha256(cameras[1].clip)
    assert mark.source.bytes == cameras[1].clip.stat().st_size
    assert list(folder.iterdir()) == [out]  # the text file is gone
    before, after = _gray(cameras[1].clip), _gray(out)
    assert len(before) == len(after) == 160 * 120
    lower_left, upper_right = _diff(before, after, range(90, 116), range(4, 60)), \
        _diff(before, after, range(0, 20), range(120, 160))
    assert lower_left > 20 > upper_right, (lower_left, upper_right)


def test_a_failing_ffmpeg_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"nothing")
    with pytest.raises(ConfigurationError, match="ffmpeg could not burn the watermark in"):
        burn_watermark(ffmpeg="ffmpeg", source=bad, out=tmp_path / "o.mp4", text="x")
    with pytest.raises(ConfigurationError, match="cannot run /nonexistent/ffmpeg"):
        burn_watermark(ffmpeg="/nonexistent/ffmpeg", source=bad, out=tmp_path / "o.mp4", text="x")
