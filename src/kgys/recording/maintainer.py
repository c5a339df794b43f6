"""The maintainer: turns finished spool files into stored, hashed, chained and indexed segments.

For each finished file of a camera, oldest first: check it (size, MPEG-TS structure, H.264/H.265 video,
keyframe at start, duration, plausible bit rate), hash it (SHA-256), chain it to the camera's previous
segment, move it into storage and write its row, in one transaction per file. A file that fails a check
is moved to the quarantine directory, recorded and reported, never silently dropped. A file is finished
when ffmpeg has moved on to a newer file or the ffmpeg that wrote it is no longer running. Only a segment
written by an ffmpeg started after a gap opened can close that gap.
"""

from __future__ import annotations

import hashlib
import logging
import mmap
import os
import shutil
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session, sessionmaker

from kgys.cameras.models import Camera
from kgys.db import reading, transaction, utcnow
from kgys.errors import KgysError
from kgys.recording import alerts, index
from kgys.recording import gaps as rules
from kgys.recording.ffmpeg import SEGMENT_SUFFIX, parse_segment_name, run_name, run_started
from kgys.recording.models import GENESIS, QuarantinedSegment
from kgys.recording.probe import ProbeError
from kgys.recording.spoolwatch import SpoolWatch
from kgys.recording.storage import Storage, StorageError, segment_key
from kgys.recording.tsinfo import READ_BYTES, TsInfo, inspect, measure

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
JOURNAL = "storing"  # in the spool: the segment being stored while its row is not committed yet
JOURNAL_RECORD = 4096  # one fixed-size record, rewritten in place: no file is created or removed per segment


@dataclass(frozen=True)
class Facts:
    """What reading a finished spool file tells: its size and times, its check facts, its hash."""

    stat: os.stat_result
    info: TsInfo | None  # None for an empty file
    sha256: str


Pending = tuple[int, Path, str, datetime]  # camera, spool file, run, start from the name


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


@dataclass
class _Last:
    sha256: str
    end: datetime
    run: str


class Maintainer:
    """Processes each camera's spool directory."""

    def __init__(self, *, sessions: sessionmaker[Session], storage: Storage, spool_dir: Path,
                 quarantine_dir: Path, limits: Limits, measure_every: float = 600.0, fsync: bool = False,
                 watch: bool = True, full_scan_seconds: float = 30.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.storage = storage
        self.spool_dir = spool_dir
        self.quarantine_dir = quarantine_dir
        self.limits = limits
        self.measure_every = measure_every
        self.fsync = fsync
        self._measured: dict[int, datetime] = {}
        self._to_measure: dict[int, str] = {}  # camera -> storage key of the segment to measure
        self._pool: ThreadPoolExecutor | None = None
        self.clock = clock
        self._last: dict[int, _Last | None] = {}
        self._sites: dict[int, int] = {}
        self._storage_alerted: set[int] = set()
        self._active: dict[int, str] = {}
        self._journal_fd: int | None = None
        self.watch = SpoolWatch(spool_dir, suffix=SEGMENT_SUFFIX, full_every=full_scan_seconds, enabled=watch)

    def last_end(self, camera_id: int) -> datetime | None:
        """End of the camera's newest indexed segment."""
        last = self._load_last(camera_id)
        return last.end if last else None

    def _load_last(self, camera_id: int) -> _Last | None:
        if camera_id not in self._last:
            with reading(self.sessions) as s:
                seg = index.last_segment(s, camera_id)
                self._last[camera_id] = _Last(seg.sha256, seg.end, "") if seg else None
        return self._last[camera_id]

    def site_of(self, session: Session, camera_id: int) -> int | None:
        """The site of a camera (cached)."""
        if camera_id not in self._sites:
            cam = session.get(Camera, camera_id)
            if cam is None:
                return None
            self._sites[camera_id] = cam.site_id
        return self._sites[camera_id]

    def _camera_dirs(self, active: Mapping[int, str]) -> list[int]:
        """The cameras whose spool directories may hold something new: those the watch reports, those whose
        ffmpeg ended or changed run since the last scan; every camera directory on a full listing."""
        changed = self.watch.changed()
        if changed is None:
            self._recover()
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
                    self._storage_trouble(camera_id, str(exc))
                    continue
                if item is not None:
                    done.append(item)
        except BaseException:
            self.watch.again(c for c, _p, _r, _s in pending)
            raise
        self.watch.again({c for c, path, _r, _s in pending if path.exists()})
        return done

    def _ready(self, pending: list[Pending]) -> Iterator[tuple[Pending, Facts | None]]:
        """The pending files with their facts, found in worker threads: each camera's files in order, the
        cameras in the order their next file is ready, so that one slow flush to disk holds back only its
        own camera. A file whose facts could not be read comes with None (processed, and its error
        handled, on its own)."""
        if len(pending) < 2:
            yield from ((item, None) for item in pending)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=PREPARE_THREADS, thread_name_prefix="kgys-segment")
        queues: dict[int, deque[tuple[Pending, Future[Facts]]]] = {}
        for item in pending:
            queues.setdefault(item[0], deque()).append((item, self._pool.submit(facts_of, item[1], self.fsync)))
        while queues:
            heads = {q[0][1]: camera_id for camera_id, q in queues.items()}
            finished, _ = wait(heads, return_when=FIRST_COMPLETED)
            for camera_id in sorted(heads[f] for f in finished):
                item, fut = queues[camera_id].popleft()
                if not queues[camera_id]:
                    del queues[camera_id]
                try:
                    facts: Facts | None = fut.result()
                except OSError:
                    facts = None
                yield item, facts

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.watch.close()
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None

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
        site_id = self._sites.get(camera_id)
        if site_id is None:
            with reading(self.sessions) as session:
                site_id = self.site_of(session, camera_id)
        if site_id is None:
            log.warning("spool file %s belongs to no known camera; left in place", path)
            return None
        if not verdict.ok:
            self._quarantine(camera_id, site_id, path, name_start, st.st_size, sha, verdict)
            return None
        last = self._load_last(camera_id)
        start, end = rules.segment_times(
            name_start=name_start, closed_at=closed_at, duration=info.duration,
            prev_end=last.end if last else None, same_run=bool(last and last.run == run), run_start=run_started(run))
        key = segment_key(site_id=site_id, camera_id=camera_id, start=start, filename=path.name)
        prev = last.sha256 if last else GENESIS
        measured = self._measured.get(camera_id)
        if measured is None or (closed_at - measured).total_seconds() >= self.measure_every or not last \
                or last.run != run:
            self._measured[camera_id] = closed_at
            self._to_measure[camera_id] = key
        self._note(path, key)  # read by _recover if this process dies before the commit
        try:
            indexed_at = self.clock()
            with transaction(self.sessions) as session:
                gap = index.open_gap_start(session, camera_id)
                if gap is not None and start >= gap.start and run >= run_name(gap.created_at):
                    index.close_gap(session, camera_id=camera_id, end=start)
                row_id = index.record_segment(session, dict(
                    camera_id=camera_id, site_id=site_id, start=start, end=end, duration=info.duration,
                    bytes=st.st_size, sha256=sha, prev_sha256=prev, path=key, codec=info.codec or "",
                    width=info.width, height=info.height, indexed_at=indexed_at))
                self.storage.put(key, path)
        except StorageError:
            self._note(None, "")
            raise
        except Exception:
            self._restore(key, path)
            self._note(None, "")
            raise
        self._note(None, "")
        self._last[camera_id] = _Last(sha, end, run)
        if camera_id in self._storage_alerted:
            self._storage_alerted.discard(camera_id)
            with transaction(self.sessions) as session:
                alerts.resolve_alerts(session, kinds=[alerts.AlertKind.STORAGE_ERROR],
                                      subject=alerts.Subject(camera_id=camera_id))
        return Indexed(camera_id, row_id, run, start, end, closed_at, indexed_at)

    def _journal(self) -> int:
        if self._journal_fd is None:
            self._journal_fd = os.open(self.spool_dir / JOURNAL, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._journal_fd

    def _note(self, path: Path | None, key: str) -> None:
        """Write (or with None, clear) the journal: the spool file being moved to storage under ``key``."""
        text = f"{path.relative_to(self.spool_dir)}\n{key}\n" if path is not None else ""
        record = text.encode().ljust(JOURNAL_RECORD)
        if len(record) > JOURNAL_RECORD:
            raise StorageError(f"storage key too long for the journal: {key!r}", key=key)
        os.pwrite(self._journal(), record, 0)

    def _recover(self) -> None:
        """Finish what a maintainer that died while storing a segment left: the journal names the spool file
        and the storage key it was being moved to. If the file reached storage but its row was never
        committed, it is moved back into the spool, to be indexed like any other file."""
        if not self.spool_dir.is_dir():
            return
        lines = os.pread(self._journal(), JOURNAL_RECORD, 0).decode("utf-8", "replace").split("\n")
        if len(lines) < 2 or not lines[0].strip():
            return
        spool_file, key = self.spool_dir / lines[0].strip(), lines[1].strip()
        if key and not spool_file.exists():
            with reading(self.sessions) as session:
                indexed = index.segment_by_path(session, key) is not None
            if not indexed:
                log.warning("segment %s was stored but never indexed (the maintainer stopped); indexing it now", key)
                self._restore(key, spool_file)
        self._note(None, "")

    def _restore(self, key: str, path: Path) -> None:
        """Put a stored file back into the spool after its row could not be committed."""
        if path.exists():
            return
        try:
            path.write_bytes(self.storage.get_range(key))
            self.storage.delete(key)
        except KgysError:
            log.exception("could not return %s to the spool", key)

    def measure_next(self) -> bool:
        """Measure the stream of one camera whose measurement is due, on the segment that made it due.

        Kept off the indexing path (a whole segment is parsed): the recorder calls it once a poll, after
        indexing, so a start with many cameras measures them one after another without delaying any index.
        Returns whether a measurement was stored.
        """
        if not self._to_measure:
            return False
        camera_id = next(iter(self._to_measure))
        key = self._to_measure.pop(camera_id)
        try:
            stream = measure(self.storage.get_range(key))
        except (ProbeError, KgysError) as exc:
            log.warning("camera %s: measuring the stream on %s failed: %s", camera_id, key, exc.message)
            return False
        with transaction(self.sessions) as session:
            index.set_measured(session, camera_id=camera_id, info=stream)
        return True

    def _quarantine(self, camera_id: int, site_id: int, path: Path, start: datetime, size: int, sha: str,
                    verdict: Verdict) -> None:
        target_dir = self.quarantine_dir / str(camera_id)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        shutil.move(path, target)
        log.warning("quarantined %s: %s %s", path.name, verdict.reason, verdict.detail)
        with transaction(self.sessions) as session:
            index.add_quarantine(session, QuarantinedSegment(
                camera_id=camera_id, site_id=site_id, start=start, bytes=size, sha256=sha, path=str(target),
                reason=verdict.reason, detail=verdict.detail))

    def _storage_trouble(self, camera_id: int, message: str) -> None:
        if camera_id in self._storage_alerted:
            return
        self._storage_alerted.add(camera_id)
        with transaction(self.sessions) as session:
            site_id = self.site_of(session, camera_id)
            alerts.raise_alert(session, kind=alerts.AlertKind.STORAGE_ERROR, severity=alerts.Severity.CRITICAL,
                               subject=alerts.Subject(camera_id=camera_id, site_id=site_id),
                               details=f"segments stay in the spool: {message}")
