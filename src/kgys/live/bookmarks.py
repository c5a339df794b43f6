"""Bookmarks on recordings: a moment or a stretch of a camera's recording marked with a note.

Functions here take the camera already found within the caller's scope (that is
:mod:`kgys.live.flows.review`). Creating and deleting a bookmark is written to the audit log by the mechanism
(:class:`~kgys.audit.mechanism.Audited`). Its author deletes it; so may a role that supervises
(``alerts.supervise``: supervisors and administrators); to anyone else another user's bookmark is not there to
delete (404).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.errors import FieldError, NotFound, ValidationFailed
from kgys.live import refusals
from kgys.live.models import Bookmark

NOTE_MAX = 500
MAX_SPAN = timedelta(hours=24)
LIST_MAX = 1000


def check(*, start: datetime, end: datetime | None, note: str) -> str:
    """The note, trimmed, once the time (``at``) and the optional end (``to``) make sense; ValidationFailed naming
    the field otherwise."""
    errors: list[FieldError] = []
    for field, value in (("at", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            errors.append(FieldError(field, "give the time with its offset or Z"))
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        errors.append(FieldError.said("note", refusals.AT_MOST, max_length=NOTE_MAX))
    if end is not None and not errors:
        if end <= start:
            errors.append(FieldError("to", "must be after at"))
        elif end - start > MAX_SPAN:
            errors.append(FieldError("to", "a bookmark spans at most 24 hours"))
    if errors:
        raise ValidationFailed(errors)
    return text


def create(*, session: Session, actor: Actor, camera_id: int, site_id: int, start: datetime, end: datetime | None,
           note: str, now: datetime) -> Bookmark:
    """Place a bookmark on the camera's recording (the camera is in the actor's scope)."""
    text = check(start=start, end=end, note=note)
    row = Bookmark(camera_id=camera_id, site_id=site_id, start=start, end=end, note=text, created_by=actor.id,
                   created_at=now)
    session.add(row)
    session.flush()
    return row


def listing(*, session: Session, camera_ids: Sequence[int], start: datetime, end: datetime) -> list[Bookmark]:
    """The bookmarks of the cameras that touch [start, end), oldest first."""
    if not camera_ids:
        return []
    rows = session.scalars(select(Bookmark).where(
        Bookmark.camera_id.in_(sorted(set(camera_ids))), Bookmark.start < end,
        or_(Bookmark.start >= start, Bookmark.end > start)).order_by(Bookmark.start, Bookmark.id).limit(LIST_MAX))
    return list(rows)


def get(*, session: Session, bookmark_id: int) -> Bookmark:
    """One bookmark by number (the caller checks its camera against the scope)."""
    row = session.get(Bookmark, bookmark_id)
    if row is None:
        raise NotFound(f"no bookmark {bookmark_id}")
    return row


def may_delete(actor: Actor, row: Bookmark) -> bool:
    """Whether the actor may delete the bookmark: their own, or any when they supervise."""
    return (actor.id is not None and row.created_by == actor.id) or actor.can(Perm.ALERTS_SUPERVISE)


def delete(*, session: Session, actor: Actor, row: Bookmark) -> None:
    """Delete a bookmark (audited by the mechanism)."""
    if not may_delete(actor, row):
        raise NotFound(f"no bookmark {row.id} of yours (only its author or a supervisor may delete it)")
    session.delete(row)
    session.flush()
