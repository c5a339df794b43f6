"""The follower of a camera's spool, stepped by hand over real recorder files written as ffmpeg writes them:
viewers start at a keyframe, a slow viewer loses frames rather than queueing without bound, a new file
continues the timeline, and no video or H.265 ends the stream with its reason."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from kgys.live import lowlat
from kgys.media import fmp4
from tests.live.test_lowlat import split
from tests.waiting import run_apart

FPS = 25
NAMES = ("r0000000000001_20250301T080000Z.ts", "r0000000000001_20250301T080002Z.ts")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Two 2-second recorder files (a keyframe a second), as bytes."""
    out = tmp_path_factory.mktemp("follow-src")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=4",
                    "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", str(FPS), "-sc_threshold", "0",
                    "-f", "segment", "-segment_format", "mpegts", "-segment_time", "2", "-reset_timestamps", "1",
                    str(out / "s%03d.ts")], check=True, timeout=60)
    return [p.read_bytes() for p in sorted(out.glob("s*.ts"))]


class Spool:
    """A camera's spool directory that a test writes like the recorder, piece by piece."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "7"
        self.dir.mkdir(parents=True)

    def write(self, name: str, data: bytes) -> None:
        with (self.dir / name).open("ab") as fh:
            fh.write(data)


def _drain(v: lowlat.Viewer) -> list[bytes | str]:
    out = list(v.queue)
    v.queue.clear()
    return out


def _key(frag: bytes | str) -> bool:
    assert isinstance(frag, bytes)
    trun = frag.index(b"trun")
    return int.from_bytes(frag[trun + 24:trun + 28], "big") == fmp4.KEY_FLAGS


def test_a_viewer_starts_at_the_last_keyframe_and_follows(tmp_path: Path, made: list[bytes]) -> None:
    spool = Spool(tmp_path)
    third = len(made[0]) * 3 // 4 // 188 * 188  # 1.5 s of the first file: the last keyframe is at 1 s
    spool.write(NAMES[0], made[0][:third])
    f = lowlat.Follower(spool.dir)
    v = f.join()
    f.step()
    got = _drain(v)
    assert isinstance(got[0], str) and json.loads(got[0])["codec"].startswith("avc1.")
    assert isinstance(got[1], bytes) and got[1][4:8] == b"ftyp"
    assert _key(got[2]) and not any(_key(x) for x in got[3:])
    assert 10 <= len(got) - 2 <= FPS  # from the keyframe at 1 s, not the whole file
    spool.write(NAMES[0], made[0][third:])
    f.step()
    rest = _drain(v)
    assert len(rest) + len(got) - 2 == FPS * 2 - FPS - 1  # the file's last frame waits for the next file
    spool.write(NAMES[1], made[1])
    f.step()
    more = _drain(v)
    assert len(more) == FPS * 2 and _key(more[1])  # the old file's last frame, then the new file but its last
    dts = [int.from_bytes(x[x.index(b"tfdt") + 8:x.index(b"tfdt") + 16], "big") for x in [*got[2:], *rest, *more]
           if isinstance(x, bytes)]
    assert dts == list(range(dts[0], dts[0] + len(dts) * 3600, 3600))  # one timeline across both files


def test_a_slow_viewer_drops_frames_and_resumes_at_a_keyframe(tmp_path: Path, made: list[bytes]) -> None:
    spool = Spool(tmp_path)
    f = lowlat.Follower(spool.dir, queue_frames=10)
    slow, quick = f.join(), f.join()
    got = 0
    for name, data in zip(NAMES, made, strict=True):
        for i in range(0, len(data), 188 * 20):  # as the recorder writes it, a frame or so at a time
            spool.write(name, data[i:i + 188 * 20])
            f.step()
            got += sum(1 for x in _drain(quick) if isinstance(x, bytes))
            assert len(slow.queue) <= 10 + 2  # bounded
            if slow.dropped and slow.queue:
                assert _key(slow.queue[0])  # what it has left starts at a keyframe
    assert slow.dropped > 0 and quick.dropped == 0
    assert got == 1 + FPS * 4 - 1  # the init segment and every frame but the last, still being written


def test_no_video_and_h265_end_the_stream(tmp_path: Path) -> None:
    empty = lowlat.Follower(tmp_path / "none")
    v = empty.join()
    empty.step()
    assert v.ended == lowlat.NO_VIDEO
    spool = Spool(tmp_path)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1",
                    "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-f", "mpegts",
                    str(spool.dir / NAMES[0])], check=True, timeout=60)
    hevc = lowlat.Follower(spool.dir)
    v = hevc.join()
    hevc.step()
    assert v.ended == lowlat.NOT_H264


def test_an_old_file_is_no_live_video(tmp_path: Path, made: list[bytes]) -> None:
    spool = Spool(tmp_path)
    spool.write(NAMES[0], made[0])
    os.utime(spool.dir / NAMES[0], (1, 1))  # the recorder stopped long ago
    f = lowlat.Follower(spool.dir)
    v = f.join()
    f.step()
    assert v.ended == lowlat.NO_VIDEO


def test_a_viewer_takes_what_is_queued_in_one_message() -> None:
    v = lowlat.Viewer(queue_frames=10)
    for item in ('{"codec": "avc1.64001f"}', b"init", b"one", b"two", "later", b"three"):
        v.put(item)

    async def messages() -> list[bytes | str | None]:
        got = [await v.take() for _ in range(4)]
        v.end(1000, "")
        return [*got, await v.take()]

    assert run_apart(messages()) == ['{"codec": "avc1.64001f"}', b"initonetwo", "later", b"three", None]


def test_a_growing_file_is_read_in_batches_not_write_by_write(tmp_path: Path, made: list[bytes]) -> None:
    spool = Spool(tmp_path)
    spool.write(NAMES[0], made[0][:188])
    f = lowlat.Follower(spool.dir, batch=0.1, queue_frames=200)  # nothing taken here: room for all
    steps: list[bool] = []
    step = f.step
    f.step = lambda: steps.append(step()) or steps[-1]  # type: ignore[method-assign]
    v = f.join()
    frames = FPS * 2 - 1  # all but the last, still being written

    async def follow() -> tuple[int, float]:
        task = asyncio.get_running_loop().create_task(f.run())
        start = time.monotonic()
        writes = 0
        for i in range(188, len(made[0]), 188 * 4):  # the recorder writes as frames come: here ~120 writes
            spool.write(NAMES[0], made[0][i:i + 188 * 4])
            writes += 1
            await asyncio.sleep(0.01)
        took = time.monotonic() - start
        deadline = time.monotonic() + 30
        while sum(len(split(x)) for x in v.queue if isinstance(x, bytes)) < 1 + frames:
            assert time.monotonic() < deadline, "the follower did not deliver every frame"
            await asyncio.sleep(0.05)
        task.cancel()
        return writes, took

    writes, took = run_apart(follow())
    assert writes > 100
    assert len(steps) <= took / 0.1 + took / f.poll + 4  # paced: not one step per write
    got = [p for x in v.queue if isinstance(x, bytes) for p in split(x)]
    assert got[0][4:8] == b"ftyp" and len(got) == 1 + frames and _key(got[1])
