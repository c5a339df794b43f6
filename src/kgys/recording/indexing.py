"""Indexing: verified segments moved into storage and recorded, each chained to its camera's previous one.

:class:`Indexer` stores a segment the maintainer has checked: its row (chained by hash to the camera's
previous segment, closing the camera's open gap when a later ffmpeg run wrote it) and the move of its file
into storage commit together or not at all, with the :class:`~kgys.recording.journal.Journal` covering
the moment in between. A segment that failed its check is moved to the quarantine directory and recorded
there. Storage trouble raises one alert per camera until a segment of that camera is stored again.

It keeps, per camera, the newest indexed segment (hash, end, run) and the camera's site, so storing a
segment reads nothing from the database but the camera's open gap.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kgys.cameras.models import Camera
from kgys.db import reading, transaction, utcnow
from kgys.errors import KgysError
from kgys.media.segments import run_name
from kgys.recording import alerts, index
from kgys.recording.journal import Journal
from kgys.recording.models import GENESIS, QuarantinedSegment
from kgys.recording.storage import Storage, StorageError, segment_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LastSegment:
    """A camera's newest indexed segment, as far as the next one needs it."""

    sha256: str
    end: datetime
    run: str  # the ffmpeg run that wrote it; empty when it was read back from the database


@dataclass(frozen=True)
class Verified:
    """A checked segment file ready to be stored: where it is, what it is, and its times."""

    camera_id: int
    site_id: int
    path: Path
    run: str
    start: datetime
    end: datetime
    duration: float
    size: int
    sha256: str
    codec: str
    width: int
    height: int


@dataclass(frozen=True)
class Quarantined:
    """A segment file that failed its check: where it is, its facts, and why it failed."""

    camera_id: int
    site_id: int
    path: Path
    start: datetime
    size: int
    sha256: str
    reason: str
    detail: str


class Indexer:
    """Stores verified segments and records them (see the module text)."""

    def __init__(self, *, sessions: sessionmaker[Session], storage: Storage, journal: Journal,
                 quarantine_dir: Path, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.storage = storage
        self.journal = journal
        self.quarantine_dir = quarantine_dir
        self.clock = clock
        self._last: dict[int, LastSegment | None] = {}
        self._sites: dict[int, int] = {}
        self._storage_alerted: set[int] = set()

    def last(self, camera_id: int) -> LastSegment | None:
        """The camera's newest indexed segment (read once from the database, then kept)."""
        if camera_id not in self._last:
            with reading(self.sessions) as s:
                seg = index.last_segment(s, camera_id)
                self._last[camera_id] = LastSegment(seg.sha256, seg.end, "") if seg else None
        return self._last[camera_id]

    def site_of(self, session: Session, camera_id: int) -> int | None:
        """The site of a camera (kept once read), None for an unknown camera."""
        if camera_id not in self._sites:
            cam = session.get(Camera, camera_id)
            if cam is None:
                return None
            self._sites[camera_id] = cam.site_id
        return self._sites[camera_id]

    def site(self, camera_id: int) -> int | None:
        """The site of a camera, reading it in a session of its own when not known yet."""
        if camera_id in self._sites:
            return self._sites[camera_id]
        with reading(self.sessions) as session:
            return self.site_of(session, camera_id)

    def key_for(self, seg: Verified) -> str:
        """The storage key a verified segment is stored under."""
        return segment_key(site_id=seg.site_id, camera_id=seg.camera_id, start=seg.start, filename=seg.path.name)

    def store(self, seg: Verified) -> tuple[int, datetime]:
        """Move a verified segment into storage and record it; its row id and when it was indexed.

        Raises :class:`StorageError` (the file stays in the spool) when storage refuses it; any other
        failure puts a file already moved back into the spool before it is raised.
        """
        last = self.last(seg.camera_id)
        key = self.key_for(seg)
        self.journal.note(seg.path, key)  # read by recover() if this process dies before the commit
        try:
            indexed_at = self.clock()
            with transaction(self.sessions) as session:
                gap = index.open_gap_start(session, seg.camera_id)
                if gap is not None and seg.start >= gap.start and seg.run >= run_name(gap.created_at):
                    index.close_gap(session, camera_id=seg.camera_id, end=seg.start)
                row_id = index.record_segment(session, dict(
                    camera_id=seg.camera_id, site_id=seg.site_id, start=seg.start, end=seg.end,
                    duration=seg.duration, bytes=seg.size, sha256=seg.sha256,
                    prev_sha256=last.sha256 if last else GENESIS, path=key, codec=seg.codec,
                    width=seg.width, height=seg.height, indexed_at=indexed_at))
                self.storage.put(key, seg.path)
        except StorageError:
            self.journal.clear()
            raise
        except Exception:
            self._restore(key, seg.path)
            self.journal.clear()
            raise
        self.journal.clear()
        self._last[seg.camera_id] = LastSegment(seg.sha256, seg.end, seg.run)
        if seg.camera_id in self._storage_alerted:
            self._storage_alerted.discard(seg.camera_id)
            with transaction(self.sessions) as session:
                alerts.resolve_alerts(session, kinds=[alerts.AlertKind.STORAGE_ERROR],
                                      subject=alerts.Subject(camera_id=seg.camera_id))
        return row_id, indexed_at

    def recover(self) -> None:
        """Finish what a maintainer that died while storing a segment left in the journal: a file that
        reached storage but whose row was never committed goes back into the spool, to be indexed like any
        other file."""
        entry = self.journal.entry()
        if entry is None:
            return
        spool_file, key = entry
        if key and not spool_file.exists():
            with reading(self.sessions) as session:
                indexed = index.segment_by_path(session, key) is not None
            if not indexed:
                log.warning("segment %s was stored but never indexed (the maintainer stopped); indexing it now", key)
                self._restore(key, spool_file)
        self.journal.clear()

    def _restore(self, key: str, path: Path) -> None:
        """Put a stored file back into the spool after its row could not be committed."""
        if path.exists():
            return
        try:
            path.write_bytes(self.storage.get_range(key))
            self.storage.delete(key)
        except KgysError:
            log.exception("could not return %s to the spool", key)

    def quarantine(self, bad: Quarantined) -> Path:
        """Move a segment that failed its check into the quarantine directory and record it there."""
        target_dir = self.quarantine_dir / str(bad.camera_id)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / bad.path.name
        shutil.move(bad.path, target)
        log.warning("quarantined %s: %s %s", bad.path.name, bad.reason, bad.detail)
        with transaction(self.sessions) as session:
            index.add_quarantine(session, QuarantinedSegment(
                camera_id=bad.camera_id, site_id=bad.site_id, start=bad.start, bytes=bad.size, sha256=bad.sha256,
                path=str(target), reason=bad.reason, detail=bad.detail))
        return target

    def storage_trouble(self, camera_id: int, message: str) -> bool:
        """Raise the camera's storage alert, once until a segment of it is stored again; whether it was raised."""
        if camera_id in self._storage_alerted:
            return False
        self._storage_alerted.add(camera_id)
        with transaction(self.sessions) as session:
            site_id = self.site_of(session, camera_id)
            alerts.raise_alert(session, kind=alerts.AlertKind.STORAGE_ERROR, severity=alerts.Severity.CRITICAL,
                               subject=alerts.Subject(camera_id=camera_id, site_id=site_id),
                               said=alerts.IN_SPOOL, params={"message": message})
        return True
