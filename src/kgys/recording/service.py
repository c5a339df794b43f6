"""Reads of the recording domain: a camera's segments and gaps in a range, coverage per camera-hour,
health, and verification of the hash chain against the stored files. Functions here take a camera already
found within the caller's scope; finding it is :mod:`kgys.recording.flows.reads`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kgys.cameras.models import CameraHealth
from kgys.errors import FieldError, KgysError, ValidationFailed
from kgys.recording import gaps as rules
from kgys.recording.models import (
    GENESIS,
    Destruction,
    Gap,
    PendingDestruction,
    Segment,
)
from kgys.recording.storage import Storage

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def check_range(start: datetime, end: datetime) -> None:
    """ValidationFailed unless ``end`` is after ``start``."""
    if end <= start:
        raise ValidationFailed([FieldError("end", "must be after start")])


def segments(*, session: Session, camera_id: int, start: datetime, end: datetime) -> list[Segment]:
    """The camera's segments that overlap [start, end), oldest first."""
    check_range(start, end)
    return list(session.scalars(
        select(Segment).where(Segment.camera_id == camera_id, Segment.start < end, Segment.end > start)
        .order_by(Segment.start)).all())


def gaps(*, session: Session, camera_id: int, start: datetime, end: datetime) -> list[Gap]:
    """The camera's gaps that overlap [start, end) (open gaps reach to now), oldest first."""
    check_range(start, end)
    return list(session.scalars(
        select(Gap).where(Gap.camera_id == camera_id, Gap.start < end, or_(Gap.end.is_(None), Gap.end > start))
        .order_by(Gap.start)).all())


def coverage(*, session: Session, camera_id: int, start: datetime,
             end: datetime) -> list[tuple[datetime, float]]:
    """Per UTC hour of [start, end): the fraction of time the camera has recorded footage for."""
    rows = segments(session=session, camera_id=camera_id, start=start, end=end)
    return rules.coverage_by_hour([(s.start, s.end) for s in rows], start, end)


def health(*, session: Session, camera_id: int) -> CameraHealth | None:
    """The camera's recording state and measured stream properties."""
    return session.get(CameraHealth, camera_id)


@dataclass(frozen=True)
class ChainItem:
    """What chain verification knows of one segment."""

    id: int
    start: datetime
    sha256: str
    prev_sha256: str
    actual_sha256: str | None  # None: the file could not be read


@dataclass(frozen=True)
class ChainProblem:
    """One way a segment fails verification."""

    segment_id: int
    start: datetime
    kind: str  # missing_file | hash_mismatch | chain_break
    detail: str


@dataclass
class ChainReport:
    """The result of verifying a camera's segments in a range."""

    camera_id: int
    checked: int = 0
    bytes: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every segment's file and link verified."""
        return not self.problems


def chain_problems(items: Sequence[ChainItem], anchor: str | None,
                   destroyed: Sequence[rules.Interval] = ()) -> list[ChainProblem]:
    """Problems in a camera's segments in indexing order. Pure.

    ``anchor`` is the hash of the segment indexed just before the first item (``None`` when there is
    none left). A link to a segment that is no longer there is not a break when a destruction record
    covers the time between the two segments (deleted under retention); otherwise it is.
    """
    out: list[ChainProblem] = []
    prev_sha, prev_start = anchor, None
    for it in items:
        if it.actual_sha256 is None:
            out.append(ChainProblem(it.id, it.start, "missing_file", "the stored file cannot be read"))
        elif it.actual_sha256 != it.sha256:
            out.append(ChainProblem(it.id, it.start, "hash_mismatch",
                                    f"file hashes to {it.actual_sha256[:16]}…, index says {it.sha256[:16]}…"))
        if it.prev_sha256 != (prev_sha or GENESIS) and not (prev_sha is None and it.prev_sha256 == GENESIS):
            explained = any(d_end > (prev_start or d_start) and d_start < it.start for d_start, d_end in destroyed)
            if not explained:
                out.append(ChainProblem(it.id, it.start, "chain_break",
                                        f"links to {it.prev_sha256[:16]}…, the segment before is "
                                        f"{(prev_sha or 'none')[:16]}…"))
        prev_sha, prev_start = it.sha256, it.start
    return out


def _file_sha(storage: Storage, key: str) -> tuple[str | None, int]:
    h = hashlib.sha256()
    size = 0
    try:
        while True:
            chunk = storage.get_range(key, size, CHUNK)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
    except KgysError:
        return None, 0
    return h.hexdigest(), size


def verify(*, session: Session, storage: Storage, camera_id: int, start: datetime,
           end: datetime) -> ChainReport:
    """Recompute every stored segment's hash in [start, end) and check each link of the chain."""
    rows = segments(session=session, camera_id=camera_id, start=start, end=end)
    report = ChainReport(camera_id=camera_id)
    if not rows:
        return report
    rows.sort(key=lambda r: r.id)
    anchor = session.scalars(select(Segment.sha256).where(and_(Segment.camera_id == camera_id,
                                                               Segment.id < rows[0].id))
                             .order_by(Segment.id.desc()).limit(1)).first()
    destroyed: list[tuple[datetime, datetime]] = []
    for table in (Destruction, PendingDestruction):  # sealed records and deletions not sealed yet
        destroyed += [(a, b) for a, b in session.execute(select(table.start, table.end).where(
            table.camera_id == camera_id, table.start < end))]
    items = []
    for row in rows:
        actual, size = _file_sha(storage, row.path)
        report.bytes += size
        items.append(ChainItem(row.id, row.start, row.sha256, row.prev_sha256, actual))
    report.checked = len(items)
    report.problems = chain_problems(items, anchor, destroyed)
    return report
