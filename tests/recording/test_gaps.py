"""The recorder's pure decisions: exit causes, back-off, segment times, coverage and holes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kgys.recording import gaps as g

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("code", "stderr", "stalled", "cause", "reason_has"),
    [
        (1, "[tcp @ 0x1] Connection to tcp://10.0.0.5:554 failed: Connection refused", False,
         g.GapCause.CAMERA_OFFLINE, "Connection refused"),
        (1, "method DESCRIBE failed: 404 Not Found\nrtsp://x/cam2: Server returned 404 Not Found", False,
         g.GapCause.CAMERA_OFFLINE, "404"),
        (1, "rtsp://x/cam: Connection timed out", False, g.GapCause.CAMERA_OFFLINE, "timed out"),
        (-9, "[segment @ 0x5] Non-monotonous DTS in output stream 0:0; previous: 0, current: 0; changing to 1. "
             "This may result in incorrect timestamps in the output file.", False, g.GapCause.STREAM_ERROR, "signal 9"),
        (0, "", False, g.GapCause.CAMERA_OFFLINE, "ended the stream"),
        (1, "Invalid data found when processing input", False, g.GapCause.STREAM_ERROR, "status 1"),
        (1, "av_interleaved_write_frame(): No space left on device", False, g.GapCause.STORAGE_ERROR, "No space left"),
        (1, "spool/7/x.ts: Permission denied", False, g.GapCause.STORAGE_ERROR, "Permission denied"),
        (None, "", True, g.GapCause.STREAM_ERROR, "no new data"),
    ],
)
def test_classify_exit(code: int | None, stderr: str, stalled: bool, cause: str, reason_has: str) -> None:
    got_cause, reason = g.classify_exit(code, stderr, stalled=stalled)
    assert got_cause == cause
    assert reason_has in reason
    assert "Non-monotonous" not in reason


@pytest.mark.parametrize(
    ("stderr", "wait", "cause", "reason_has"),
    [
        ("", "balance_dirty_pages", g.GapCause.STORAGE_ERROR, "in balance_dirty_pages"),
        ("", "", g.GapCause.STORAGE_ERROR, "spool disk is too slow"),
        ("x.ts: No space left on device", "balance_dirty_pages", g.GapCause.STORAGE_ERROR, "No space left"),
    ],
)
def test_classify_stall_on_the_disk(stderr: str, wait: str, cause: str, reason_has: str) -> None:
    got_cause, reason = g.classify_exit(-15, stderr, stalled=True, disk_wait=wait)
    assert got_cause == cause
    assert reason_has in reason
    assert "Non-monotonous" not in reason


@pytest.mark.parametrize(
    ("current", "new", "expect"),
    [
        (g.GapCause.STREAM_ERROR, g.GapCause.CAMERA_OFFLINE, g.GapCause.CAMERA_OFFLINE),
        (g.GapCause.CAMERA_OFFLINE, g.GapCause.STREAM_ERROR, g.GapCause.CAMERA_OFFLINE),
        (g.GapCause.RECORDER_DOWN, g.GapCause.CAMERA_OFFLINE, g.GapCause.RECORDER_DOWN),
        (g.GapCause.STORAGE_ERROR, g.GapCause.STREAM_ERROR, g.GapCause.STORAGE_ERROR),
        (g.GapCause.STREAM_ERROR, g.GapCause.STREAM_ERROR, g.GapCause.STREAM_ERROR),
        (g.GapCause.SCHEDULED, g.GapCause.CAMERA_OFFLINE, g.GapCause.SCHEDULED),
    ],
)
def test_merge_cause(current: str, new: str, expect: str) -> None:
    assert g.merge_cause(current, new) == expect


@pytest.mark.parametrize(
    ("failures", "expect"),
    [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (5, 10.0), (1000, 10.0)],
)
def test_backoff(failures: int, expect: float) -> None:
    assert g.backoff(failures, 1.0, 10.0) == expect


@pytest.mark.parametrize(
    ("name_s", "closed_s", "duration", "prev_end_s", "same_run", "run_s", "expect"),
    [
        # the modification time closes the segment; the start is that minus the duration
        (0, 10.3, 10.0, None, False, None, (0.3, 10.3)),
        # follows the previous segment of the same run within 0.5 s: starts exactly where it ended
        (10, 20.5, 10.0, 10.3, True, None, (10.3, 20.3)),
        # same distance, but a new ffmpeg run: no snapping
        (10, 20.5, 10.0, 10.3, False, None, (10.5, 20.5)),
        # far from the previous end: no snapping
        (30, 40.4, 10.0, 10.3, True, None, (30.4, 40.4)),
        # the file was touched long after: the start stays within the named second
        (0, 500.0, 10.0, None, False, None, (1.0, 11.0)),
        # the stream hung before ffmpeg gave up: the last file closed 18 s late
        (10, 30.0, 2.0, 10.2, True, None, (10.2, 12.2)),
        (10, 30.0, 2.0, None, False, None, (11.0, 13.0)),
        # a clock that went backwards: the named second holds
        (10, 5.0, 2.0, None, False, None, (10.0, 12.0)),
        # a run's first file holds what ffmpeg read while probing, before it opened the file
        (10, 12.4, 4.0, None, False, 7.9, (8.4, 12.4)),
        (10, 12.4, 6.0, None, False, 7.9, (7.9, 13.9)),
        # a 0.3 s file cut off by a kill
        (50, 50.6, 0.3, None, False, None, (50.3, 50.6)),
    ],
)
def test_segment_times(name_s: float, closed_s: float, duration: float, prev_end_s: float | None, same_run: bool,
                       run_s: float | None, expect: tuple[float, float]) -> None:
    start, end = g.segment_times(name_start=at(name_s), closed_at=at(closed_s), duration=duration,
                                 prev_end=at(prev_end_s) if prev_end_s is not None else None, same_run=same_run,
                                 run_start=at(run_s) if run_s is not None else None)
    assert (round((start - T0).total_seconds(), 6), round((end - T0).total_seconds(), 6)) == expect


def spans(*pairs: tuple[float, float]) -> list[tuple[datetime, datetime]]:
    return [(at(a), at(b)) for a, b in pairs]


@pytest.mark.parametrize(
    ("intervals", "start", "end", "tolerance", "expect"),
    [
        ([(0, 10), (10, 20)], 0, 20, 0.0, []),
        ([(0, 10), (12, 20)], 0, 20, 0.0, [(10, 12)]),
        ([(0, 10), (10.2, 20)], 0, 20, 0.3, []),
        ([(12, 20), (0, 10)], 0, 20, 0.0, [(10, 12)]),
        ([(5, 8)], 0, 20, 0.0, [(0, 5), (8, 20)]),
        ([], 0, 20, 0.0, [(0, 20)]),
        ([(0, 30)], 5, 20, 0.0, []),
        ([(0, 8), (2, 6), (9, 25)], 0, 20, 0.0, [(8, 9)]),
    ],
)
def test_holes(intervals: list[tuple[float, float]], start: float, end: float, tolerance: float,
               expect: list[tuple[float, float]]) -> None:
    assert g.holes(spans(*intervals), at(start), at(end), tolerance) == spans(*expect)


@pytest.mark.parametrize(
    ("intervals", "start", "end", "expect"),
    [
        ([(0, 10), (5, 15)], 0, 20, 15.0),
        ([(0, 10), (20, 30)], 5, 25, 10.0),
        ([], 0, 10, 0.0),
    ],
)
def test_covered_seconds(intervals: list[tuple[float, float]], start: float, end: float, expect: float) -> None:
    assert g.covered_seconds(spans(*intervals), at(start), at(end)) == expect


def test_coverage_by_hour() -> None:
    hour = 3600
    rows = g.coverage_by_hour(spans((0, 1800), (hour + 900, hour + 1800), (2 * hour - 60, 2 * hour + 60)),
                              at(0), at(2 * hour + 1800))
    assert [(h - T0).total_seconds() for h, _ in rows] == [0, hour, 2 * hour]
    assert [round(f, 4) for _, f in rows] == [0.5, round((900 + 60) / 3600, 4), round(60 / 1800, 4)]
