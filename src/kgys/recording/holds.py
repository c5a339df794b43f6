"""Legal holds: footage of a camera and time range kept for an investigation.

A hold names the reason, the legal basis (the order or file number), who placed it and, optionally, the
date it lapses. It protects every segment it touches, even partly, from retention and from disk pressure.
Releasing a hold keeps its row with who released it and when. Every change is written to the audit log
with the reason and legal basis, through the :class:`~kgys.audit.mechanism.Audited` mechanism.

Functions here take the site, camera or hold already found within the caller's scope; finding them by
site code, camera name or number is :mod:`kgys.recording.flows.holds`. When a hold is in force is
:mod:`kgys.recording.holdrule`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import mechanism
from kgys.cameras.models import Camera
from kgys.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from kgys.recording import holdrule
from kgys.recording.models import LegalHold
from kgys.recording.retention import HoldInfo
from kgys.recording.schemas import HoldState
from kgys.said import _
from kgys.sites.models import Site

log = logging.getLogger(__name__)

MAX_TEXT = 2000
AT_MOST = _("at most %(max_length)s characters")
# the service names the range start and end; the API, the forms and the command line call them from and to
FACE_FIELDS = {"start": "from", "end": "to"}

HoldRow = tuple[LegalHold, Site, Camera]


def may_manage(actor: Actor) -> bool:
    """Whether the actor's role may place and release legal holds."""
    return actor.can(Perm.HOLDS_MANAGE)


def require_manage(actor: Actor) -> None:
    """PermissionDenied unless the actor may place and release legal holds."""
    if not may_manage(actor):
        raise PermissionDenied(f"role '{actor.role}' may not place or release legal holds", perm="holds.manage")


def require_read(actor: Actor) -> None:
    """PermissionDenied unless the actor may see legal holds."""
    if not actor.can(Perm.HOLDS_READ):
        raise PermissionDenied(f"role '{actor.role}' may not see legal holds", perm="holds.read")


def clean_text(field: str, value: str, errors: list[FieldError]) -> str:
    """``value`` stripped; a problem added to ``errors`` when it is empty or too long."""
    cleaned = value.strip()
    if not cleaned:
        errors.append(FieldError(field, "is required"))
    elif len(cleaned) > MAX_TEXT:
        errors.append(FieldError.said(field, AT_MOST, max_length=MAX_TEXT))
    return cleaned


def check_aware(field: str, value: datetime, errors: list[FieldError]) -> None:
    """A problem added to ``errors`` when ``value`` has no time zone."""
    if value.tzinfo is None:
        errors.append(FieldError(field, "needs a time zone (e.g. 2025-03-01T10:00:00+03:00)", value=value.isoformat()))


def check_new(*, start: datetime, end: datetime, reason: str, legal_basis: str, until: datetime | None,
              now: datetime) -> tuple[str, str]:
    """The reason and legal basis of a new hold, trimmed; ValidationFailed naming every field at fault."""
    errors: list[FieldError] = []
    reason = clean_text("reason", reason, errors)
    legal_basis = clean_text("legal_basis", legal_basis, errors)
    check_aware("start", start, errors)
    check_aware("end", end, errors)
    if until is not None:
        check_aware("until", until, errors)
    if not errors:
        if end < start:
            errors.append(FieldError("end", "is before the start"))
        if until is not None and until <= now:
            errors.append(FieldError("until", "must be in the future", value=until.isoformat()))
    if errors:
        raise ValidationFailed(errors)
    return reason, legal_basis


def create(*, session: Session, actor: Actor, site: Site, camera: Camera, start: datetime, end: datetime,
           reason: str, legal_basis: str, until: datetime | None, now: datetime) -> LegalHold:
    """Place a checked hold on ``camera`` of ``site`` (both already found within the actor's scope); audited."""
    hold = LegalHold(camera_id=camera.id, site_id=site.id, start=start, end=end, reason=reason,
                     legal_basis=legal_basis, created_by=actor.username[:64], created_by_id=actor.id,
                     created_at=now, until=until)
    with mechanism.acting_as(session, actor, reason=reason, legal_basis=legal_basis):
        session.add(hold)
        session.flush()
    log.info("legal hold %s placed on camera %s (%s – %s) by %s", hold.id, camera.id, start, end, actor.username)
    return hold


def check_release(*, reason: str) -> str:
    """The reason a hold is released for, trimmed; ValidationFailed when missing or too long."""
    errors: list[FieldError] = []
    text = clean_text("reason", reason, errors)
    if errors:
        raise ValidationFailed(errors)
    return text


def release(*, session: Session, actor: Actor, hold: LegalHold, reason: str, now: datetime) -> LegalHold:
    """End ``hold`` (already found within the actor's scope); Conflict when it was released before. Audited."""
    if hold.released_at is not None:
        raise Conflict(f"legal hold {hold.id} was already released on {hold.released_at:%Y-%m-%d %H:%M} UTC "
                       f"by {hold.released_by}", hold_id=hold.id)
    with mechanism.acting_as(session, actor, reason=reason, legal_basis=hold.legal_basis):
        hold.released_at = now
        hold.released_by = actor.username[:64]
        session.flush()
    log.info("legal hold %s released by %s", hold.id, actor.username)
    return hold


def is_active(hold: LegalHold, now: datetime) -> bool:
    """Whether the hold protects footage at ``now``."""
    return holdrule.in_force(hold, now)


def hold_state(hold: LegalHold, now: datetime) -> HoldState:
    """Whether a hold is in force, was released, or has lapsed."""
    return holdrule.state(hold, now)


def to_info(hold: LegalHold) -> HoldInfo:
    """The plain form retention decides on."""
    return HoldInfo(id=hold.id, camera_id=hold.camera_id, start=hold.start, end=hold.end, until=hold.until,
                    released_at=hold.released_at)


def active_for_cameras(*, session: Session, camera_ids: Iterable[int], now: datetime) -> list[HoldInfo]:
    """Every hold active at ``now`` on any of the cameras (for the retention job; not scoped)."""
    ids = sorted(set(camera_ids))
    if not ids:
        return []
    rows = session.scalars(select(LegalHold).where(LegalHold.camera_id.in_(ids), holdrule.in_force_clause(now)))
    return [to_info(h) for h in rows]


# ---- placing and finding holds from the API, the pages and the command line --------------------------------
def face_errors(errors: Sequence[FieldError]) -> list[FieldError]:
    """The service's field errors under the names the API, the forms and the command line use."""
    return [replace(e, field=FACE_FIELDS.get(e.field, e.field)) for e in errors]
