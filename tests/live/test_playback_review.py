"""The pure part of reviewing recordings: the cameras asked for, ranges typed in the reader's zone, instant replay,
where a still is taken and the ffmpeg commands that take it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kgys import localtime
from kgys.errors import ValidationFailed
from kgys.live import review

IST = localtime.zone("Europe/Istanbul")
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _field(exc: pytest.ExceptionInfo[ValidationFailed]) -> str:
    return exc.value.errors[0].field


@pytest.mark.parametrize(("raw", "expect"), [("1", [1]), ("3, 1,3,2", [3, 1, 2]), ("1,,2,", [1, 2]),
                                             (",".join(str(i) for i in range(1, 10)), list(range(1, 10)))])
def test_cameras_in_order_without_repeats(raw: str, expect: list[int]) -> None:
    assert review.parse_cameras(raw) == expect


@pytest.mark.parametrize("raw", ["", ",", "a", "1,-2", "0", "1.5", "2147483648", ",".join(str(i) for i in range(10))])
def test_bad_camera_lists_name_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        review.parse_cameras(raw)
    assert _field(exc) == "cameras"


@pytest.mark.parametrize(("raw_from", "raw_to", "expect"), [
    # typed in Istanbul (UTC+3), seconds optional, a space for the T allowed
    ("2026-12-01T08:00:05", "2026-12-01T09:00", (datetime(2026, 12, 1, 5, 0, 5, tzinfo=UTC),
                                                 datetime(2026, 12, 1, 6, 0, tzinfo=UTC))),
    ("2026-12-01 08:00", "2026-12-01T06:30:00Z", (datetime(2026, 12, 1, 5, tzinfo=UTC),
                                                  datetime(2026, 12, 1, 6, 30, tzinfo=UTC))),
    # an offset wins over the zone
    ("2026-12-06T08:00:00+00:00", "", (datetime(2026, 12, 6, 8, tzinfo=UTC), NOW)),
    ("", "", (NOW - timedelta(hours=1), NOW)),
])
def test_ranges_are_read_in_the_readers_zone(raw_from: str, raw_to: str, expect: tuple[datetime, datetime]) -> None:
    assert review.local_range(raw_from, raw_to, IST, now=NOW) == expect


@pytest.mark.parametrize(("raw_from", "raw_to", "field"), [
    ("dün", "", "from"), ("", "2026-13-01T00:00", "to"), ("2026-12-01T09:00", "2026-12-01T08:00", "to"),
    ("2026-12-01T08:00", "2026-12-02T08:00:01", "to"),
])
def test_bad_ranges_name_the_field(raw_from: str, raw_to: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        review.local_range(raw_from, raw_to, IST, now=NOW)
    assert _field(exc) == field


def test_instant_replay_is_the_last_seconds() -> None:
    assert review.replay_range("30", now=NOW) == (NOW - timedelta(seconds=30), NOW)
    for bad in ("0", "3601", "x", "-5", ""):
        with pytest.raises(ValidationFailed) as exc:
            review.replay_range(bad, now=NOW)
        assert _field(exc) == "replay"


def test_start_at_lies_within_the_range() -> None:
    a, b = NOW - timedelta(hours=1), NOW
    assert review.start_at("", IST, a, b) == a
    assert review.start_at("2026-12-06T14:30:00", IST, a, b) == datetime(2026, 12, 6, 11, 30, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as exc:
        review.start_at("2026-12-06T15:00:00", IST, a, b)
    assert _field(exc) == "at"


@pytest.mark.parametrize(("at", "expect", "thumb"), [(0.0, 0.0, 0.0), (3.7, 3.7, 2.0), (-1.0, 0.0, 0.0),
                                                     (12.0, 9.999, 8.0)])
def test_where_a_still_is_taken(at: float, expect: float, thumb: float) -> None:
    start = NOW
    offset = review.offset_in(start + timedelta(seconds=at), start, start + timedelta(seconds=10))
    assert offset == pytest.approx(expect)
    assert review.thumb_offset(offset) == thumb


def test_ffmpeg_commands() -> None:
    shot = review.snapshot_args(ffmpeg="ffmpeg", src=Path("/s/a.ts"), offset=1.234, out=Path("/o/f.png"))
    # the exact frame: seek after the input (decoding up to it), one frame, PNG
    assert shot.index("-i") < shot.index("-ss") and shot[shot.index("-ss") + 1] == "1.234"
    assert shot[-1] == "/o/f.png" and ["-c:v", "png"] == shot[shot.index("-c:v"):shot.index("-c:v") + 2]
    thumb = review.thumb_args(ffmpeg="ffmpeg", src=Path("/s/a.ts"), offset=4.0, out=Path("/o/t.jpg"))
    # cheap: jump to the keyframe before the input is read, scaled small
    assert "-noaccurate_seek" in thumb and thumb.index("-ss") < thumb.index("-i")
    assert "scale=160:-2" in thumb and thumb[-1] == "/o/t.jpg"
    assert review.thumb_name(3, 17, 4.0) == "3/17-4000.jpg"
    assert review.iso_z(datetime(2026, 12, 6, 8, 0, 1, 500000, tzinfo=UTC)) == "2026-12-06T08:00:01.500000Z"
