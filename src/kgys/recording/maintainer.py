"""The maintainer: turns finished spool files into stored, hashed, chained and indexed segments.

For each finished file of a camera, oldest first: check it (size, MPEG-TS structure, H.264/H.265 video,
keyframe at start, duration, plausible bit rate), hash it (SHA-256), chain it to the camera's previous
segment, move it into storage and write its row, in one transaction per file. A file that fails a check
is moved to the quarantine directory, recorded and reported, never silently dropped. A file is finished
when ffmpeg has moved on to a newer file or the ffmpeg that wrote it is no longer running. Only a segment
written by an ffmpeg started after a gap opened can close that gap.

The :class:`Maintainer` finds the finished files (told by :class:`~kgys.recording.spoolwatch.SpoolWatch`),
reads and hashes them in worker threads (:func:`in_ready_order`) and checks them (:func:`check`); it hands
the good ones to :class:`~kgys.recording.indexing.Indexer` (storage, index, quarantine, alerts, with the
:class:`~kgys.recording.journal.Journal` for crashes) and tells
:class:`~kgys.recording.measuring.Measuring` of each segment indexed.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from kgys.db import utcnow
from kgys.media.segments import SEGMENT_SUFFIX, parse_segment_name, run_started
from kgys.media.tsinfo import READ_BYTES, TsInfo, inspect
from kgys.recording import gaps as rules
from kgys.recording.indexing import Indexer, Quarantined, Verified
from kgys.recording.journal import Journal
from kgys.recording.measuring import Measuring
from kgys.recording.spoolwatch import SpoolWatch
from kgys.recording.storage import Storage, StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """What a segment must satisfy to be indexed."""

    max_seconds: float = 60.0
    max_kbps: float = 100_000.0


@dataclass(frozen=True)
class Verdict:
    """The result of checking one segment."""

    ok: bool
    reason: str = ""
    detail: str = ""


def check(info: TsInfo, size: int, limits: Limits) -> Verdict:
    """Whether a segment may be indexed, and if not, why."""
    if size <= 0:
        return Verdict(False, "empty", "the file has no bytes")
    if not info.synced:
        return Verdict(False, "not_mpegts", "the file is not an MPEG transport stream")
    if info.codec is None:
        return Verdict(False, "no_video", "no H.264 or H.265 video stream")
    if info.frames_seen == 0 or info.duration <= 0:
        return Verdict(False, "no_frames", "no timed video frame")
    if not info.keyframe_at_start:
        return Verdict(False, "no_keyframe_at_start", "the first frame is not a keyframe")
    if info.duration > limits.max_seconds:
        return Verdict(False, "too_long", f"{info.duration:.1f} s is longer than {limits.max_seconds:.0f} s")
    kbps = size * 8 / info.duration / 1000
    if kbps > limits.max_kbps:
        return Verdict(False, "implausible_bitrate", f"{kbps:.0f} kbit/s")
    return Verdict(True)


def _sha256(fh: BinaryIO) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    with path.open("rb") as fh:
        return _sha256(fh)


PREPARE_THREADS = 4


@dataclass(frozen=True)
class Facts:
    """What reading a finished spool file tells: its size and times, its check facts, its hash."""

    stat: os.stat_result
    info: TsInfo | None  # None for an empty file
    sha256: str


Pending = tuple[int, Path, str, datetime]  # camera, spool file, run, start from the name
T = TypeVar("T")
R = TypeVar("R")


def facts_of(path: Path, fsync: bool) -> Facts:
    """Read, inspect and hash a finished spool file; with ``fsync``, also flush it to disk.

    The file is mapped, not read: the hash runs over the page cache without a copy.
    """
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        if st.st_size == 0:
            return Facts(st, None, "")
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            tail_at = max(0, st.st_size - READ_BYTES)
            info = inspect(data[:READ_BYTES], data[tail_at:], tail_at)
            sha = hashlib.sha256(data).hexdigest()
        if fsync:
            os.fsync(fh.fileno())
    return Facts(st, info, sha)


def in_ready_order(pool: Executor, items: Iterable[tuple[int, T]], read: Callable[[T], R]
                   ) -> Iterator[tuple[int, T, R | None]]:
    """Run ``read`` on each (camera, item) in ``pool`` and yield (camera, item, result) as they are ready:
    each camera's items in their order, the cameras in the order their next item is ready, so that one slow
    read (a flush to disk) holds back only its own camera. A read that raised ``OSError`` yields None."""
    queues: dict[int, deque[tuple[T, Future[R]]]] = {}
    for camera_id, item in items:
        queues.setdefault(camera_id, deque()).append((item, pool.submit(read, item)))
    while queues:
        heads = {q[0][1]: camera_id for camera_id, q in queues.items()}
        finished, _ = wait(heads, return_when=FIRST_COMPLETED)
        for camera_id in sorted(heads[f] for f in finished):
            item, fut = queues[camera_id].popleft()
            if not queues[camera_id]:
                del queues[camera_id]
            try:
                result: R | None = fut.result()
            except OSError:
                result = None
            yield camera_id, item, result


@dataclass(frozen=True)
class Indexed:
    """One segment the maintainer has just indexed."""

    camera_id: int
    segment_id: int
    run: str
    start: datetime
    end: datetime
    closed_at: datetime
    indexed_at: datetime

    @property
    def delay(self) -> float:
        """Seconds from the file being closed to its row being committed."""
        return (self.indexed_at - self.closed_at).total_seconds()


class Maintainer:
    """Processes each camera's spool directory (see the module text)."""

    def __init__(self, *, sessions: sessionmaker[Session], storage: Storage, spool_dir: Path,
                 quarantine_dir: Path, limits: Limits, measure_every: float = 600.0, fsync: bool = False,
                 watch: bool = True, full_scan_seconds: float = 30.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.spool_dir = spool_dir
        self.limits = limits
        self.fsync = fsync
        self.journal = Journal(spool_dir)
        self.indexer = Indexer(sessions=sessions, storage=storage, journal=self.journal,
                               quarantine_dir=quarantine_dir, clock=clock)
        self.measuring = Measuring(sessions=sessions, storage=storage, every=measure_every)
        self.watch = SpoolWatch(spool_dir, suffix=SEGMENT_SUFFIX, full_every=full_scan_seconds, enabled=watch)
        self._pool: ThreadPoolExecutor | None = None
        self._active: dict[int, str] = {}

    @property
    def storage(self) -> Storage:
        """Where indexed segments are stored."""
        return self.indexer.storage

    def last_end(self, camera_id: int) -> datetime | None:
        """End of the camera's newest indexed segment."""
        last = self.indexer.last(camera_id)
        return last.end if last else None

    def site_of(self, session: Session, camera_id: int) -> int | None:
        """The site of a camera (cached)."""
        return self.indexer.site_of(session, camera_id)

    def _camera_dirs(self, active: Mapping[int, str]) -> list[int]:
        """The cameras whose spool directories may hold something new: those the watch reports, those whose
        ffmpeg ended or changed run since the last scan; every camera directory on a full listing."""
        changed = self.watch.changed()
        if changed is None:
            if self.spool_dir.is_dir():
                self.indexer.recover()
            with os.scandir(self.spool_dir) as entries:
                cameras = sorted(int(e.name) for e in entries if e.name.isdigit() and e.is_dir())
            self.watch.watch_all(cameras)  # before the directories are listed: nothing falls between
        else:
            before = self._active
            changed.update(c for c in {*active, *before} if active.get(c) != before.get(c))
            cameras = sorted(changed)
        self._active = dict(active)
        return cameras

    def pending(self, active: Mapping[int, str]) -> list[Pending]:
        """Finished spool files, oldest first per camera: (camera, path, run, name start)."""
        out: list[Pending] = []
        if not self.spool_dir.is_dir():
            return out
        for camera_id in self._camera_dirs(active):
            files = []
            try:
                with os.scandir(self.spool_dir / str(camera_id)) as entries:
                    for e in entries:
                        parsed = parse_segment_name(e.name) if e.name.endswith(SEGMENT_SUFFIX) else None
                        if parsed:
                            files.append((parsed[0], parsed[1], Path(e.path)))
            except (FileNotFoundError, NotADirectoryError):
                continue
            files.sort(key=lambda f: (f[0], f[1], f[2].name))
            live = active.get(camera_id)
            newest_live = max((f for f in files if f[0] == live), default=None, key=lambda f: (f[1], f[2].name))
            for run, start, path in files:
                if newest_live is not None and path == newest_live[2]:
                    continue
                out.append((camera_id, path, run, start))
        return out

    def scan(self, active: Mapping[int, str]) -> list[Indexed]:
        """Index every finished file; ``active`` maps a camera to the run its live ffmpeg is writing.

        The files are read, hashed and flushed to disk in worker threads (hashing and ``fsync`` release the
        interpreter) and indexed as they are ready, each camera's in order. A camera with a file still in the
        spool afterwards (storage trouble, an unknown camera) is looked at again next time.
        """
        done: list[Indexed] = []
        blocked: set[int] = set()
        pending = self.pending(active)
        try:
            for (camera_id, path, run, start), facts in self._ready(pending):
                if camera_id in blocked:
                    continue
                try:
                    item = self.process(camera_id, path, run, start, facts)
                except StorageError as exc:
                    blocked.add(camera_id)
                    self.indexer.storage_trouble(camera_id, str(exc))
                    continue
                if item is not None:
                    done.append(item)
        except BaseException:
            self.watch.again(c for c, _p, _r, _s in pending)
            raise
        self.watch.again({c for c, path, _r, _s in pending if path.exists()})
        return done

    def _ready(self, pending: list[Pending]) -> Iterator[tuple[Pending, Facts | None]]:
        """The pending files with their facts, read in worker threads (see :func:`in_ready_order`)."""
        if len(pending) < 2:
            yield from ((item, None) for item in pending)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PREPARE_THREADS, thread_name_prefix="kgys-segment")
        fsync = self.fsync
        for _camera_id, item, facts in in_ready_order(self._pool, ((p[0], p) for p in pending),
                                                      lambda p: facts_of(p[1], fsync)):
            yield item, facts

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.watch.close()
        self.journal.close()

    def process(self, camera_id: int, path: Path, run: str, name_start: datetime,
                facts: Facts | None = None) -> Indexed | None:
        """Check, hash, store and index one finished file (or quarantine it)."""
        facts = facts or facts_of(path, fsync=False)
        st, info, sha = facts.stat, facts.info, facts.sha256
        if info is None:
            log.info("removing empty spool file %s", path)
            path.unlink()
            return None
        closed_at = datetime.fromtimestamp(st.st_mtime, UTC)
        verdict = check(info, st.st_size, self.limits)
        site_id = self.indexer.site(camera_id)
        if site_id is None:
            log.warning("spool file %s belongs to no known camera; left in place", path)
            return None
        if not verdict.ok:
            self.indexer.quarantine(Quarantined(camera_id, site_id, path, name_start, st.st_size, sha,
                                                verdict.reason, verdict.detail))
            return None
        last = self.indexer.last(camera_id)
        start, end = rules.segment_times(
            name_start=name_start, closed_at=closed_at, duration=info.duration,
            prev_end=last.end if last else None, same_run=bool(last and last.run == run), run_start=run_started(run))
        seg = Verified(camera_id=camera_id, site_id=site_id, path=path, run=run, start=start, end=end,
                       duration=info.duration, size=st.st_size, sha256=sha, codec=info.codec or "",
                       width=info.width, height=info.height)
        key = self.indexer.key_for(seg)
        row_id, indexed_at = self.indexer.store(seg)
        self.measuring.indexed(camera_id, key, closed_at, new_run=not last or last.run != run)
        return Indexed(camera_id, row_id, run, start, end, closed_at, indexed_at)

    def measure_next(self) -> bool:
        """Measure the stream of one camera whose measurement is due (see :class:`Measuring`)."""
        return self.measuring.measure_next()
