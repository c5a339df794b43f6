"""The spool watch: which camera directories changed, from inotify, with full listings as the safety net."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kgys.recording.spoolwatch import SpoolWatch


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    root = tmp_path / "spool"
    for cam in (1, 2, 3):
        (root / str(cam)).mkdir(parents=True)
    return root


def started(spool: Path, clock: Clock | None = None, **kw: object) -> SpoolWatch:
    w = SpoolWatch(spool, mono=clock or Clock(), **kw)  # type: ignore[arg-type]
    assert w.active
    assert w.changed() is None  # the first call lists everything
    w.watch_all([1, 2, 3])
    return w


def test_only_the_cameras_with_news_are_reported(spool: Path) -> None:
    w = started(spool)
    assert w.changed() == set()
    (spool / "2" / "r1_20260101T000000Z.ts").write_bytes(b"x")
    assert w.changed() == {2}
    assert w.changed() == set()
    os.replace(spool / "2" / "r1_20260101T000000Z.ts", spool / "3" / "r1_20260101T000000Z.ts")
    assert w.changed() == {3}  # moved into it; a file leaving makes no work
    (spool / "3" / "r1.log").write_bytes(b"ffmpeg says")
    assert w.changed() == set()  # only segment files count
    w.close()


def test_the_newest_segment_file_is_known(spool: Path) -> None:
    w = started(spool)
    assert w.newest(1) is None
    for stamp in ("000000", "000010"):
        (spool / "1" / f"r1_20260101T{stamp}Z.ts").write_bytes(b"x")
    (spool / "1" / "r1.log").write_bytes(b"log")
    w.changed()
    assert w.newest(1) == "r1_20260101T000010Z.ts"
    w.close()
    assert w.newest(1) is None  # nothing is told any more


def test_a_new_camera_directory_is_watched_and_reported(spool: Path) -> None:
    w = started(spool)
    (spool / "7").mkdir()
    assert w.changed() == {7}
    (spool / "7" / "r1_20260101T000000Z.ts").write_bytes(b"x")
    assert w.changed() == {7}
    (spool / "notacamera").mkdir()
    assert w.changed() == set()
    w.close()


def test_a_removed_and_recreated_directory_is_watched_again(spool: Path) -> None:
    w = started(spool)
    shutil.rmtree(spool / "2")
    assert w.changed() == {2}
    (spool / "2").mkdir()
    (spool / "2" / "r1_20260101T000000Z.ts").write_bytes(b"x")
    assert 2 in w.changed()
    (spool / "2" / "r1_20260101T000010Z.ts").write_bytes(b"x")
    assert w.changed() == {2}
    w.close()


def overflow(directory: Path) -> None:
    """Make more events in a watched directory than the kernel queues (each new file: created, closed)."""
    queued = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    for n in range(queued // 2 + 1):
        os.close(os.open(directory / f"r1_{n:08d}.ts", os.O_CREAT | os.O_WRONLY, 0o600))


def test_full_listings_come_periodically_and_after_an_overflow(spool: Path) -> None:
    clock = Clock()
    w = started(spool, clock, full_every=30.0)
    clock.now += 29
    assert w.changed() == set()
    clock.now += 2
    assert w.changed() is None
    assert w.changed() == set()
    overflow(spool / "1")
    assert w.changed() is None
    w.close()


def test_again_keeps_a_camera_reported(spool: Path) -> None:
    w = started(spool)
    w.again([3])
    assert w.changed() == {3}
    assert w.changed() == set()
    w.close()


def test_without_inotify_everything_is_listed_every_time(spool: Path) -> None:
    w = SpoolWatch(spool, enabled=False)
    assert not w.active
    for _ in range(3):
        assert w.changed() is None
    w.watch_all([1])
    (spool / "1" / "r1_20260101T000000Z.ts").write_bytes(b"x")
    assert w.changed() is None and w.newest(1) is None
