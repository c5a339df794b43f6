"""When a camera's ffmpeg counts as stalled: the pure decision, table by table, without processes."""

from __future__ import annotations

import pytest

from kgys.recording.gaps import classify_exit
from kgys.recording.stall import NOTHING, Progress, StallDecision, StallLimits, check_stall

LIMITS = StallLimits(stall_seconds=5, connect_seconds=10, disk_patience=3)
FILE = ("r1_20261204T120000Z.ts", 188)
GROWN = ("r1_20261204T120000Z.ts", 376)
NEXT = ("r1_20261204T120010Z.ts", 0)


def never() -> tuple[str, int]:
    raise AssertionError("the file was looked at")


def no_disk() -> str | None:
    raise AssertionError("the disk was asked about")


@pytest.mark.parametrize(
    ("quiet", "before", "newest", "disk", "expected"),
    [
        # within a second of the last progress nothing is looked at
        (0.5, Progress(at=0, seen=FILE), never, no_disk, StallDecision(False, Progress(at=0, seen=FILE))),
        # the file grew, or a newer one appeared: progress, and a disk stall is forgotten
        (30, Progress(at=0, seen=FILE, disk_wait="x"), lambda: GROWN, no_disk,
         StallDecision(False, Progress(at=30, seen=GROWN))),
        (30, Progress(at=0, seen=FILE), lambda: NEXT, no_disk, StallDecision(False, Progress(at=30, seen=NEXT))),
        # the first file seen is progress too
        (2, Progress(at=0), lambda: FILE, no_disk, StallDecision(False, Progress(at=2, seen=FILE))),
        # no news, up to the stall time: waiting
        (5, Progress(at=0, seen=FILE), lambda: FILE, no_disk, StallDecision(False, Progress(at=0, seen=FILE))),
        # past it, not on the disk: stalled
        (5.1, Progress(at=0, seen=FILE), lambda: FILE, lambda: None,
         StallDecision(True, Progress(at=0, seen=FILE))),
        # still connecting (no file yet): ffmpeg's own time-out comes first
        (14, Progress(at=0), lambda: NOTHING, no_disk, StallDecision(False, Progress(at=0))),
        (15.5, Progress(at=0), lambda: NOTHING, lambda: None, StallDecision(True, Progress(at=0))),
        # blocked on the disk: longer, up to three times the stall time
        (6, Progress(at=0, seen=FILE), lambda: FILE, lambda: "balance_dirty_pages",
         StallDecision(False, Progress(at=0, seen=FILE, disk_wait="balance_dirty_pages"))),
        # between two writes it is not blocked at this instant: the stall is still the disk's
        (10, Progress(at=0, seen=FILE, disk_wait="balance_dirty_pages"), lambda: FILE, lambda: None,
         StallDecision(False, Progress(at=0, seen=FILE, disk_wait="balance_dirty_pages"))),
        (15.5, Progress(at=0, seen=FILE, disk_wait="balance_dirty_pages"), lambda: FILE, lambda: None,
         StallDecision(True, Progress(at=0, seen=FILE, disk_wait="balance_dirty_pages"))),
        # a kernel that does not name the function still counts as the disk
        (6, Progress(at=0, seen=FILE), lambda: FILE, lambda: "",
         StallDecision(False, Progress(at=0, seen=FILE, disk_wait=""))),
    ],
)
def test_check_stall(quiet: float, before: Progress, newest: object, disk: object, expected: StallDecision) -> None:
    got = check_stall(now=before.at + quiet, progress=before, limits=LIMITS,
                      newest=newest, disk_wait=disk)  # type: ignore[arg-type]
    assert got == expected


def test_a_disk_stall_restart_blames_the_disk_and_a_plain_one_the_stream() -> None:
    progress = Progress(at=0, seen=FILE)
    disk = check_stall(now=6, progress=progress, limits=LIMITS, newest=lambda: FILE,
                       disk_wait=lambda: "balance_dirty_pages").progress
    restart = check_stall(now=15.5, progress=disk, limits=LIMITS, newest=lambda: FILE, disk_wait=lambda: None)
    assert restart.stalled
    cause, reason = classify_exit(-15, "", stalled=True, disk_wait=restart.progress.disk_wait)
    assert cause == "storage_error" and "balance_dirty_pages" in reason
    plain = check_stall(now=5.5, progress=progress, limits=LIMITS, newest=lambda: FILE, disk_wait=lambda: None)
    assert plain.stalled
    assert classify_exit(-15, "", stalled=True, disk_wait=plain.progress.disk_wait)[0] == "stream_error"
