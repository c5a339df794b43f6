"""Reads and writes of footage exports: the request, the claim a worker takes, progress, the outcome, and the
housekeeping (stale claims queued again, expired zips). Every change of state by a worker is a conditional
UPDATE on the export's state and claim counter (``attempt``), so that two workers never build the same export
and a worker that lost its claim (its export was queued again meanwhile) writes nothing any more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.exports.models import FootageExport
from kgys.said import _

STATES = ("queued", "running", "done", "failed", "expired")
MAX_CAMERAS = 16
CAMERAS_IN_EXPORT = _("at most %(most)s cameras in one export")
RANGE_MINUTES = _("the range may be at most %(minutes)s minutes long")
AT_MOST = _("at most %(max_length)s characters")
REASON_MIN, REASON_MAX = 3, 500
LISTED = 200


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one export: its id and the claim counter its writes are conditional on."""

    export_id: int
    attempt: int


def check_request(*, cameras: list[int], start: datetime, end: datetime, reason: str | None,
                  max_span: timedelta) -> str:
    """The trimmed reason once the request is sound: 1 to 16 distinct cameras, ``to`` after ``from`` and at most
    ``max_span`` later, a reason of 3 to 500 characters. ValidationFailed naming every wrong field. Pure."""
    problems: list[FieldError] = []
    if not cameras:
        problems.append(FieldError("cameras", "choose at least one camera"))
    elif len(set(cameras)) > MAX_CAMERAS:
        problems.append(FieldError.said("cameras", CAMERAS_IN_EXPORT, most=MAX_CAMERAS))
    if end <= start:
        problems.append(FieldError("to", "must be after from"))
    elif end - start > max_span:
        problems.append(FieldError.said("to", RANGE_MINUTES,
                                              minutes=int(max_span.total_seconds() // 60)))
    text = (reason or "").strip()
    if len(text) < REASON_MIN:
        problems.append(FieldError("reason", "state why you export this footage (at least 3 characters)"))
    elif len(text) > REASON_MAX:
        problems.append(FieldError.said("reason", AT_MOST, max_length=REASON_MAX))
    if problems:
        raise ValidationFailed(problems)
    return text


def create(*, session: Session, user_id: int, username: str, cameras: list[int], start: datetime, end: datetime,
           reason: str, now: datetime) -> FootageExport:
    """A queued export (flushed, so that it has its id)."""
    row = FootageExport(requested_by=user_id, requested_by_name=username, cameras=list(dict.fromkeys(cameras)),
                        start=start, end=end, reason=reason, state="queued", progress=0.0, attempt=0,
                        created_at=now)
    session.add(row)
    session.flush()
    return row


def get(*, session: Session, export_id: int) -> FootageExport:
    """One export by id; NotFound when there is none."""
    row = session.get(FootageExport, export_id)
    if row is None:
        raise NotFound(f"no export {export_id}", export_id=export_id)
    return row


def get_mine(*, session: Session, export_id: int, user_id: int) -> FootageExport:
    """One of the user's own exports; another user's is answered as if it did not exist."""
    row = session.get(FootageExport, export_id)
    if row is None or row.requested_by != user_id:
        raise NotFound(f"no export {export_id}", export_id=export_id)
    return row


def list_mine(*, session: Session, user_id: int) -> list[FootageExport]:
    """The user's exports, newest first (the last 200)."""
    return list(session.scalars(select(FootageExport).where(FootageExport.requested_by == user_id)
                                .order_by(FootageExport.id.desc()).limit(LISTED)))


def next_queued(*, session: Session) -> int | None:
    """The oldest queued export's id, if any."""
    return session.scalar(select(FootageExport.id).where(FootageExport.state == "queued")
                          .order_by(FootageExport.id).limit(1))


def claim(*, session: Session, export_id: int, now: datetime) -> Claim | None:
    """Take a queued export for building; None when another worker took it first (a conditional UPDATE)."""
    row = session.get(FootageExport, export_id)
    if row is None or row.state != "queued":
        return None
    attempt = row.attempt + 1
    done = session.execute(update(FootageExport).where(
        FootageExport.id == export_id, FootageExport.state == "queued", FootageExport.attempt == row.attempt
    ).values(state="running", attempt=attempt, progress=0.0, started_at=now, heartbeat_at=now, error_code=None,
             error_params=None).execution_options(synchronize_session=False))
    return Claim(export_id, attempt) if _one(done) else None


def _one(result: Any) -> bool:
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _held(c: Claim) -> tuple[Any, ...]:
    return (FootageExport.id == c.export_id, FootageExport.state == "running", FootageExport.attempt == c.attempt)


def report(*, session: Session, claim: Claim, progress: float, now: datetime) -> bool:
    """Store the progress (0–1) and the heartbeat; False when the claim no longer holds."""
    value = min(1.0, max(0.0, progress))
    return _one(session.execute(update(FootageExport).where(*_held(claim)).values(
        progress=value, heartbeat_at=now).execution_options(synchronize_session=False)))


def finish(*, session: Session, claim: Claim, size: int, sha256: str, now: datetime, keep: timedelta) -> bool:
    """Mark the export done with its zip's size and hash, to expire after ``keep``; False when the claim no
    longer holds."""
    return _one(session.execute(update(FootageExport).where(*_held(claim)).values(
        state="done", progress=1.0, bytes=size, sha256=sha256, finished_at=now, heartbeat_at=now,
        expires_at=now + keep).execution_options(synchronize_session=False)))


def fail(*, session: Session, claim: Claim, code: str, params: dict[str, Any], now: datetime) -> bool:
    """Mark the export failed with an error code and its parameters; False when the claim no longer holds."""
    return _one(session.execute(update(FootageExport).where(*_held(claim)).values(
        state="failed", error_code=code, error_params=params, finished_at=now,
        heartbeat_at=now).execution_options(synchronize_session=False)))


def requeue_stale(*, session: Session, now: datetime, stale: timedelta) -> list[int]:
    """Queue again the running exports whose worker has not reported since ``now - stale`` (killed, say)."""
    limit = now - stale
    ids = list(session.scalars(select(FootageExport.id).where(FootageExport.state == "running",
                                                               FootageExport.heartbeat_at < limit)))
    requeued = []
    for export_id in ids:
        done = session.execute(update(FootageExport).where(
            FootageExport.id == export_id, FootageExport.state == "running", FootageExport.heartbeat_at < limit
        ).values(state="queued", progress=0.0).execution_options(synchronize_session=False))
        if _one(done):
            requeued.append(export_id)
    return requeued


def due_to_expire(*, session: Session, now: datetime) -> list[int]:
    """The finished exports whose time is up."""
    return list(session.scalars(select(FootageExport.id).where(FootageExport.state == "done",
                                                               FootageExport.expires_at <= now)))


def mark_expired(*, session: Session, export_id: int) -> bool:
    """Mark a finished export expired (its zip is gone)."""
    return _one(session.execute(update(FootageExport).where(
        FootageExport.id == export_id, FootageExport.state == "done").values(
        state="expired").execution_options(synchronize_session=False)))


def folder(data_dir: Path) -> Path:
    """Where the exports' zips are kept: ``DATA_DIR/exports``."""
    return data_dir / "exports"


def zip_path(data_dir: Path, export_id: int) -> Path:
    """The zip of one export."""
    return folder(data_dir) / f"export-{export_id}.zip"


def work_dir(data_dir: Path, export_id: int) -> Path:
    """The folder an export is built in (removed once it is done or failed)."""
    return folder(data_dir) / f"work-{export_id}"
