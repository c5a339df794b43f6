"""Playlist building, keyframe cutting and the timeline: pure, table-driven."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kgys.live import hls

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def _t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _vod(*spans: tuple[float, float]) -> list[hls.VodSegment]:
    return [hls.VodSegment(i + 1, _t(a), _t(b), b - a) for i, (a, b) in enumerate(spans)]


def _tags(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln == "#EXT-X-DISCONTINUITY" or ln.endswith(".ts")]


@pytest.mark.parametrize(
    ("spans", "restart_each", "expect"),
    [
        # contiguous files that each restart their timestamps: a discontinuity before every file but the first
        ([(0, 10), (10, 20), (20, 30)], True,
         ["1.ts", "#EXT-X-DISCONTINUITY", "2.ts", "#EXT-X-DISCONTINUITY", "3.ts"]),
        # continuous timestamps: a discontinuity only at the gap (20 → 50)
        ([(0, 10), (10, 20), (50, 60)], False, ["1.ts", "2.ts", "#EXT-X-DISCONTINUITY", "3.ts"]),
        # a jitter below the tolerance is not a gap
        ([(0, 10), (11.2, 20)], False, ["1.ts", "2.ts"]),
        ([(0, 10)], True, ["1.ts"]),
    ],
)
def test_vod_discontinuities(spans: list[tuple[float, float]], restart_each: bool, expect: list[str]) -> None:
    text = hls.vod_playlist(_vod(*spans), lambda s: f"{s.id}.ts", restart_each=restart_each)
    assert _tags(text) == expect


def test_vod_header_durations_and_times() -> None:
    text = hls.vod_playlist(_vod((0, 9.96), (9.96, 20.4), (40, 50)), lambda s: f"s/{s.id}.ts?t=x")
    lines = text.splitlines()
    assert lines[:5] == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:10", "#EXT-X-MEDIA-SEQUENCE:0",
                         "#EXT-X-PLAYLIST-TYPE:VOD"]
    assert [ln for ln in lines if ln.startswith("#EXTINF")] == ["#EXTINF:9.960,", "#EXTINF:10.440,",
                                                                 "#EXTINF:10.000,"]
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-03-01T08:00:40.000Z" in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert "s/2.ts?t=x" in lines


def test_empty_playlists_are_refused() -> None:
    with pytest.raises(ValueError):
        hls.vod_playlist([], str)
    with pytest.raises(ValueError):
        hls.live_playlist([], str)


def test_live_playlist_sequence_and_discontinuity_sequence() -> None:
    segs = [hls.LiveSegment(sn=41, cc=3, duration=1.0, wall=_t(0)), hls.LiveSegment(42, 3, 0.96, _t(1)),
            hls.LiveSegment(43, 4, 1.04, _t(2))]
    text = hls.live_playlist(segs, lambda s: f"{s.sn}.ts")
    lines = text.splitlines()
    assert "#EXT-X-MEDIA-SEQUENCE:41" in lines and "#EXT-X-DISCONTINUITY-SEQUENCE:3" in lines
    assert "#EXT-X-TARGETDURATION:1" in lines
    assert "#EXT-X-ENDLIST" not in lines and "#EXT-X-PLAYLIST-TYPE:VOD" not in lines
    assert _tags(text) == ["41.ts", "42.ts", "#EXT-X-DISCONTINUITY", "43.ts"]


def _pkt(pid: int, payload: bytes, *, pusi: bool = False, rai: bool = False) -> bytes:
    head = bytes([0x47, (0x40 if pusi else 0) | (pid >> 8), pid & 0xFF])
    if rai:
        body = bytes([1, 0x40]) + payload
        pkt = head + bytes([0x30]) + body
    else:
        pkt = head + bytes([0x10]) + payload
    return (pkt + b"\xff" * 188)[:188]


def _pat(pmt: int) -> bytes:
    sec = bytes([0x00, 0xB0, 13, 0, 1, 0xC1, 0, 0, 0, 1, 0xE0 | (pmt >> 8), pmt & 0xFF]) + b"\0" * 4
    return _pkt(0, b"\x00" + sec, pusi=True)


def _pmt(pmt: int, video: int, stype: int = 0x1B) -> bytes:
    body = bytes([0, 1, 0xC1, 0, 0, 0xE0 | (video >> 8), video & 0xFF, 0xF0, 0,
                  stype, 0xE0 | (video >> 8), video & 0xFF, 0xF0, 0])
    sec = bytes([0x02, 0xB0, len(body) + 4]) + body + b"\0" * 4
    return _pkt(pmt, b"\x00" + sec, pusi=True)


def _pes(video: int, pts: float, key: bool) -> bytes:
    v = int(pts * 90_000)
    stamp = bytes([0x21 | ((v >> 29) & 0x0E), (v >> 22) & 0xFF, 0x01 | ((v >> 14) & 0xFE), (v >> 7) & 0xFF,
                   0x01 | ((v << 1) & 0xFE)])
    nal = b"\x00\x00\x00\x01" + bytes([0x65 if key else 0x41])
    return _pkt(video, b"\x00\x00\x01\xe0\x00\x00\x80\x80\x05" + stamp + nal, pusi=True, rai=key)


def _file(gop: int, gops: int, fps: int = 25) -> bytes:
    out = [_pat(0x1000), _pmt(0x1000, 0x100)]
    for n in range(gop * gops):
        out.append(_pes(0x100, 1.4 + n / fps, key=n % gop == 0))
        out.append(_pkt(0x100, b"\x00" * 10))  # continuation of the frame
    return b"".join(out)


@pytest.mark.parametrize("split", [1, 188, 1000, 10**6])
def test_scanner_finds_keyframes_in_any_split(split: int) -> None:
    data = _file(gop=25, gops=3)
    scan = hls.TsScanner()
    for i in range(0, len(data), split):
        scan.feed(data[i:i + split])
    assert scan.codec == "h264"
    assert [round(k.pts, 2) for k in scan.keyframes] == [1.4, 2.4, 3.4]
    assert scan.header[:1] == b"\x47" and len(scan.header) == 376
    assert scan.consumed == len(data)


@pytest.mark.parametrize(("finished", "count"), [(False, 2), (True, 3)])
def test_chunks_only_complete_keyframe_stretches(finished: bool, count: int) -> None:
    data = _file(gop=25, gops=3)
    scan = hls.TsScanner()
    scan.feed(data)
    pieces = hls.chunks(scan, finished=finished, size=len(data))
    assert len(pieces) == count
    assert pieces[0].offset == 0 and not pieces[0].needs_header  # the file's own tables come first
    assert all(p.needs_header for p in pieces[1:])
    assert [round(p.duration, 2) for p in pieces] == [1.0] * count
    ends = [p.offset + p.length for p in pieces]
    assert [p.offset for p in pieces[1:]] == ends[:-1]  # no byte lost or served twice
    if finished:
        assert ends[-1] == len(data)


@pytest.mark.parametrize(
    ("recorded", "gaps", "expect"),
    [
        ([(0, 10), (10, 20)], [], [("recorded", 0.0, 20.0)]),
        ([(0, 30), (60, 100)], [(30, 60, "camera_offline")],
         [("recorded", 0.0, 30.0), ("gap", 30.0, 30.0), ("recorded", 60.0, 40.0)]),
        ([(-50, 20)], [(80, None, "stream_error")], [("recorded", 0.0, 20.0), ("gap", 80.0, 20.0)]),  # open gap
        ([(200, 300)], [], []),
    ],
)
def test_timeline_bars(recorded: list[tuple[float, float]], gaps: list[tuple[float, float | None, str]],
                       expect: list[tuple[str, float, float]]) -> None:
    bars = hls.timeline(_t(0), _t(100), [(_t(a), _t(b)) for a, b in recorded],
                        [(_t(a), _t(b) if b is not None else None, c, "") for a, b, c in gaps], now=_t(150))
    assert [(b.kind, b.left, b.width) for b in bars] == expect
    assert all(b.cause for b in bars if b.kind == "gap")
