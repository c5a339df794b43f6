"""Reads and writes of a release's build: the claim a worker takes, its progress, each step, the outcome, the
housekeeping (stale claims queued again, expired packages), and the one-time download links.

Every change of state by a worker is a conditional UPDATE on the release's state and claim counter (``attempt``),
as for footage exports (:mod:`kgys.exports.service`): two workers never build the same release, and a worker that
lost its claim writes nothing any more. A link is used by a conditional UPDATE on its ``used_at`` too, so that of
two downloads with one link exactly one gets the package. Services flush, never commit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kgys.errors import NotFound
from kgys.evidence.models import Release, ReleaseClip, ReleaseLink

RUNNING = ("cutting", "detecting", "rendering", "packaging")
STATES = ("queued", *RUNNING[:2], "awaiting_review", *RUNNING[2:], "ready", "downloaded", "expired", "failed")


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one release: its id, the claim counter its writes are conditional on, and whether the
    redaction was already reviewed (the second pass: render and package)."""

    release_id: int
    attempt: int
    reviewed: bool


def _one(result: Any) -> bool:
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _held(c: Claim) -> tuple[Any, ...]:
    return (Release.id == c.release_id, Release.attempt == c.attempt, Release.state.in_(RUNNING))


def _set(session: Session, where: tuple[Any, ...], **values: Any) -> bool:
    return _one(session.execute(update(Release).where(*where).values(**values)
                                .execution_options(synchronize_session=False)))


def get(*, session: Session, request_id: int, release_id: int) -> Release:
    """One release of a request, read afresh; NotFound when the request has none of that number."""
    row = session.scalar(select(Release).where(Release.id == release_id, Release.request_id == request_id)
                         .execution_options(populate_existing=True))
    if row is None:
        raise NotFound(f"footage request {request_id} has no release {release_id}", release_id=release_id)
    return row


def listing(*, session: Session, request_id: int) -> list[Release]:
    """The releases of a request, newest first."""
    return list(session.scalars(select(Release).where(Release.request_id == request_id)
                                .order_by(Release.id.desc()).execution_options(populate_existing=True)))


def clips(*, session: Session, release_id: int) -> list[ReleaseClip]:
    """The clips cut for a release, in order."""
    return list(session.scalars(select(ReleaseClip).where(ReleaseClip.release_id == release_id)
                                .order_by(ReleaseClip.position)))


def next_queued(*, session: Session) -> int | None:
    """The oldest queued release's id, if any."""
    return session.scalar(select(Release.id).where(Release.state == "queued").order_by(Release.id).limit(1))


def claim(*, session: Session, release_id: int, now: datetime) -> Claim | None:
    """Take a queued release for building (cutting its clips, or rendering them once reviewed); None when another
    worker took it first."""
    row = session.execute(select(Release.state, Release.attempt, Release.reviewed_at)
                          .where(Release.id == release_id)).first()
    if row is None or row[0] != "queued":
        return None
    reviewed = row[2] is not None
    ok = _set(session, (Release.id == release_id, Release.state == "queued", Release.attempt == row[1]),
              state="rendering" if reviewed else "cutting", attempt=row[1] + 1, progress=0.0, heartbeat_at=now,
              error_code=None, error_params=None)
    return Claim(release_id, row[1] + 1, reviewed) if ok else None


def report(*, session: Session, claim: Claim, progress: float, now: datetime) -> bool:
    """Store the progress (0–1) of the current step and the heartbeat; False when the claim no longer holds."""
    return _set(session, _held(claim), progress=min(1.0, max(0.0, progress)), heartbeat_at=now)


def step(*, session: Session, claim: Claim, state: str, now: datetime) -> bool:
    """Move a claimed release to the next step (a running state, or ``awaiting_review`` which lets the claim go);
    False when the claim no longer holds."""
    assert state in RUNNING or state == "awaiting_review"
    return _set(session, _held(claim), state=state, progress=0.0, heartbeat_at=now)


def finish(*, session: Session, claim: Claim, sha256: str, size: int, now: datetime, keep: timedelta) -> bool:
    """Mark the release ready with its package's hash and size, to expire after ``keep``; False when the claim no
    longer holds."""
    return _set(session, _held(claim), state="ready", progress=1.0, package_sha256=sha256, package_bytes=size,
                finished_at=now, heartbeat_at=now, expires_at=now + keep)


def fail(*, session: Session, claim: Claim, code: str, params: dict[str, Any], now: datetime) -> bool:
    """Mark the release failed with an error code and its parameters; False when the claim no longer holds."""
    return _set(session, _held(claim), state="failed", error_code=code, error_params=params, finished_at=now,
                heartbeat_at=now)


def reviewed(*, session: Session, release_id: int, by: str, now: datetime) -> bool:
    """Queue a release awaiting its review again, reviewed by ``by``; False when it was not awaiting review."""
    return _set(session, (Release.id == release_id, Release.state == "awaiting_review"), state="queued",
                reviewed_by_name=by[:64], reviewed_at=now, progress=0.0)


def requeue_stale(*, session: Session, now: datetime, stale: timedelta) -> list[int]:
    """Queue again the releases being built whose worker has not reported since ``now - stale`` (killed, say)."""
    limit = now - stale
    ids = list(session.scalars(select(Release.id).where(Release.state.in_(RUNNING), Release.heartbeat_at < limit)))
    return [i for i in ids if _set(session, (Release.id == i, Release.state.in_(RUNNING),
                                             Release.heartbeat_at < limit), state="queued", progress=0.0)]


def due_to_expire(*, session: Session, now: datetime) -> list[int]:
    """The ready releases whose package's time is up."""
    return list(session.scalars(select(Release.id).where(Release.state == "ready", Release.expires_at <= now)))


def downloaded_before(*, session: Session, when: datetime) -> list[int]:
    """The releases downloaded before ``when`` (their package may go)."""
    return list(session.scalars(select(Release.id).where(Release.state == "downloaded",
                                                         Release.downloaded_at < when)))


def mark_expired(*, session: Session, release_id: int) -> bool:
    """Mark a ready release expired (its package is gone)."""
    return _set(session, (Release.id == release_id, Release.state == "ready"), state="expired")


def folder(data_dir: Path) -> Path:
    """Where releases are built and their packages kept: ``DATA_DIR/evidence/releases``."""
    return data_dir / "evidence" / "releases"


def work_dir(data_dir: Path, release_id: int) -> Path:
    """The folder a release's clips and detections are kept in while it is built."""
    return folder(data_dir) / f"release-{release_id}"


def package_path(data_dir: Path, release_id: int) -> Path:
    """The signed package of one release."""
    return folder(data_dir) / f"package-{release_id}.zip"


def detections_path(data_dir: Path, release_id: int, position: int) -> Path:
    """The detection list of one clip of a release (JSON)."""
    return work_dir(data_dir, release_id) / f"detections-{position:02d}.json"


def clip_path(data_dir: Path, release_id: int, position: int) -> Path:
    """One clip of a release as cut from the recorded segments."""
    return work_dir(data_dir, release_id) / f"clip-{position:02d}.mp4"


def token_hash(token: str) -> str:
    """The SHA-256 a link's token is kept as."""
    return hashlib.sha256(token.encode()).hexdigest()


def add_link(*, session: Session, release_id: int, token: str, by: str, now: datetime,
             keep: timedelta) -> ReleaseLink:
    """A new one-time link to a release's package (only its token's hash kept), valid for ``keep``."""
    row = ReleaseLink(release_id=release_id, token_sha256=token_hash(token), created_by_name=by[:64], created_at=now,
                      expires_at=now + keep)
    session.add(row)
    session.flush()
    return row


def link(*, session: Session, release_id: int, token: str) -> ReleaseLink | None:
    """The link of a release with this token, if any."""
    return session.scalar(select(ReleaseLink).where(ReleaseLink.release_id == release_id,
                                                    ReleaseLink.token_sha256 == token_hash(token)))


def use_link(*, session: Session, link_id: int, by: str, now: datetime) -> bool:
    """Use a link once: False when it was used already or has expired (a conditional UPDATE)."""
    return _one(session.execute(update(ReleaseLink).where(
        ReleaseLink.id == link_id, ReleaseLink.used_at.is_(None), ReleaseLink.expires_at > now
    ).values(used_at=now, used_by_name=by[:64]).execution_options(synchronize_session=False)))


def downloaded(*, session: Session, release_id: int, by: str, now: datetime) -> bool:
    """Mark a ready release downloaded; False when it is not ready (any more)."""
    return _set(session, (Release.id == release_id, Release.state == "ready"), state="downloaded",
                downloaded_at=now, downloaded_by_name=by[:64])


def set_receipt(*, session: Session, release_id: int, receipt: dict[str, Any]) -> None:
    """Keep the hand-over receipt of a downloaded release."""
    _set(session, (Release.id == release_id, Release.state == "downloaded"), receipt=receipt)
