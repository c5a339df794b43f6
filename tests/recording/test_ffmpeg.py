"""ffmpeg argument lists and segment file names: pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kgys.media.segments import parse_segment_name, run_name
from kgys.recording.ffmpeg import (
    RecordSpec,
    record_args,
    record_env,
    redact,
    redact_text,
    with_credentials,
)


def _opt(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


@pytest.mark.parametrize(
    ("spec", "expect"),
    [
        (RecordSpec(url="rtsp://cam/1", spool_dir=Path("/spool/7"), run="r1"),
         {"-rtsp_transport": "tcp", "-c": "copy", "-f": "segment", "-segment_format": "mpegts",
          "-segment_time": "10", "-reset_timestamps": "1", "-strftime": "1", "-timeout": "5000000",
          "-i": "rtsp://cam/1", "-map": "0:v:0", "-segment_format_options": "flush_packets=1:omit_video_pes_length=0"}),
        (RecordSpec(url="rtsp://u:p@cam/2", spool_dir=Path("/s"), run="r2", segment_seconds=2.5, timeout_seconds=3,
                    ffmpeg_path="/opt/ffmpeg"),
         {"-segment_time": "2.5", "-timeout": "3000000", "-i": "rtsp://u:p@cam/2"}),
    ],
)
def test_record_args(spec: RecordSpec, expect: dict[str, str]) -> None:
    args = record_args(spec)
    assert args[0] == spec.ffmpeg_path
    for name, value in expect.items():
        assert _opt(args, name) == value, name
    assert args[-1] == f"{spec.spool_dir}/{spec.run}_%Y%m%dT%H%M%SZ.ts"
    assert "-an" not in args and "libx264" not in args  # copy mode: no re-encoding


def test_record_env_forces_utc_names() -> None:
    assert record_env({"TZ": "Europe/Istanbul", "PATH": "/bin"}) == {"TZ": "UTC", "PATH": "/bin"}


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("r001732200000123_20250301T080000Z.ts", ("r001732200000123", datetime(2025, 3, 1, 8, 0, tzinfo=UTC))),
        ("abc_20241231T235959Z.ts", ("abc", datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC))),
        ("r1_20250230T080000Z.ts", None),  # no 30 February
        ("r1_20250301T080000.ts", None),
        ("r1_20250301T080000Z.mp4", None),
        ("r001732200000123.log", None),
        ("_20250301T080000Z.ts", None),
    ],
)
def test_parse_segment_name(name: str, expect: tuple[str, datetime] | None) -> None:
    assert parse_segment_name(name) == expect


def test_run_names_sort_in_time() -> None:
    a = run_name(datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC))
    b = run_name(datetime(2025, 3, 1, 8, 0, 0, 1000, tzinfo=UTC))
    c = run_name(datetime(2030, 1, 1, tzinfo=UTC))
    assert a < b < c and len(a) == len(c) and a.isalnum()


@pytest.mark.parametrize(
    ("url", "user", "password", "expect"),
    [
        ("rtsp://10.0.0.5:554/Streaming/101", "admin", "p@ss:w/rd", "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:554/Streaming/101"),
        ("rtsp://cam.local/live", "", "x", "rtsp://cam.local/live"),
        ("rtsp://cam.local/live", None, None, "rtsp://cam.local/live"),
        ("rtsp://[fe80::1]:8554/s", "u", "", "rtsp://u:@[fe80::1]:8554/s"),
    ],
)
def test_with_credentials(url: str, user: str | None, password: str | None, expect: str) -> None:
    assert with_credentials(url, user, password) == expect


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("rtsp://admin:secret@10.0.0.5:554/s", "rtsp://admin:***@10.0.0.5:554/s"),
        ("rtsp://10.0.0.5/s", "rtsp://10.0.0.5/s"),
    ],
)
def test_redact(url: str, expect: str) -> None:
    assert redact(url) == expect


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("rtsp://admin:s3cr%40t@10.0.0.5:554/s: Connection refused",
         "rtsp://admin:***@10.0.0.5:554/s: Connection refused"),
        ("[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://u:p@[fe80::1]/a: Server returned 401",
         "[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://u:***@[fe80::1]/a: Server returned 401"),
        ("two rtsp://a:b@h/1 and RTSPS://c:d@h/2", "two rtsp://a:***@h/1 and RTSPS://c:***@h/2"),
        ("rtsp://10.0.0.5/s: Invalid data found when processing input",
         "rtsp://10.0.0.5/s: Invalid data found when processing input"),
        ("mail me at user@example.org", "mail me at user@example.org"),
    ],
)
def test_redact_text_hides_every_password_in_a_message(text: str, expect: str) -> None:
    assert redact_text(text) == expect
