"""Recording alerts: the one way alarms are raised and resolved, and reading them.

:func:`raise_alert` is how the recorder, the maintainer, retention and the periodic jobs raise an alarm:
a kind, a severity, a subject (a camera, a site, or the whole installation), what happened, and whether
an open alert of the same kind and subject is refreshed instead of a second one being opened (its dedup
key). :func:`resolve_alerts` closes them.

An alert belongs to a site through its own site or its camera's. A reader whose scope is not country-wide
sees only the alerts of sites within that scope; alerts of the whole installation (the recorder down, the
disk filling up) carry no site and are seen by country-wide readers only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras.models import Camera
from kgys.db import page_of, utcnow
from kgys.recording.models import RecordingAlert
from kgys.sites import service as site_service
from kgys.sites.models import Site

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    """What an alert is about (the stored value)."""

    RECORDING_STOPPED = "recording_stopped"
    SEGMENT_QUARANTINED = "segment_quarantined"
    STORAGE_ERROR = "storage_error"
    RECORDER_DOWN = "recorder_down"
    STORAGE_PRESSURE = "storage_pressure"
    STORAGE_FULL_HELD = "storage_full_held"
    STORAGE_FORECAST = "storage_forecast"
    STORAGE_DELETE_FAILED = "storage_delete_failed"


class Severity(StrEnum):
    """How urgent an alert is (the stored value)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Subject:
    """What an alert is raised about: a camera (with its site), a site, or — both None — the installation."""

    camera_id: int | None = None
    site_id: int | None = None


INSTALLATION = Subject()


def _of(subject: Subject) -> ColumnElement[bool]:
    """The alerts about ``subject``: a camera's (whatever site it is filed under), else a site's or the
    installation's."""
    cam, site = RecordingAlert.camera_id, RecordingAlert.site_id
    if subject.camera_id is not None:
        return cam == subject.camera_id
    return and_(cam.is_(None), site.is_(None) if subject.site_id is None else site == subject.site_id)


def raise_alert(session: Session, *, kind: AlertKind, severity: Severity, subject: Subject, details: str,
                dedup: bool = False, now: datetime | None = None) -> RecordingAlert:
    """Store an alert for operators. With ``dedup`` the dedup key is the kind and the subject: an alert of
    that key still open is refreshed (severity, details) instead of a second one being opened."""
    alert = session.scalar(select(RecordingAlert).where(
        RecordingAlert.kind == kind, RecordingAlert.resolved_at.is_(None), _of(subject)).limit(1)) if dedup else None
    if alert is None:
        alert = RecordingAlert(kind=kind, severity=severity, message=details, camera_id=subject.camera_id,
                               site_id=subject.site_id, created_at=now or utcnow())
        session.add(alert)
        log.warning("alert %s (%s) camera=%s site=%s: %s", kind, severity, subject.camera_id, subject.site_id,
                    details)
    else:
        alert.severity, alert.message = severity, details
    session.flush()
    return alert


def resolve_alerts(session: Session, *, kinds: Iterable[AlertKind], subject: Subject,
                   at: datetime | None = None) -> int:
    """Close the subject's open alerts of these kinds; how many were open."""
    wanted = list(kinds)
    if not wanted:
        return 0
    found = session.scalars(select(RecordingAlert).where(
        RecordingAlert.kind.in_(wanted), RecordingAlert.resolved_at.is_(None), _of(subject))).all()
    for alert in found:
        alert.resolved_at = at or utcnow()
    session.flush()
    return len(found)


@dataclass(frozen=True)
class AlertRow:
    """An alert with the site and camera it is about (None for alerts of the whole installation)."""

    alert: RecordingAlert
    site: Site | None
    camera: Camera | None


def list_alerts(
    *,
    session: Session,
    actor: Actor,
    site_code: str | None = None,
    include_resolved: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AlertRow], int]:
    """One page of the alerts the actor may see, newest first, open ones only unless ``include_resolved``;
    and how many there are in all."""
    actor.require(Perm.CAMERAS_READ)
    site_id = func.coalesce(RecordingAlert.site_id, Camera.site_id)
    stmt = (select(RecordingAlert, Site, Camera)
            .outerjoin(Camera, Camera.id == RecordingAlert.camera_id)
            .outerjoin(Site, Site.id == site_id)
            .where(site_service.scope_clause(actor)))
    if site_code is not None:
        site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.CAMERAS_READ)
        stmt = stmt.where(Site.id == site.id)
    if not include_resolved:
        stmt = stmt.where(RecordingAlert.resolved_at.is_(None))
    rows, total = page_of(session, stmt.order_by(RecordingAlert.created_at.desc(), RecordingAlert.id.desc()),
                          page=page, per_page=per_page)
    return [AlertRow(alert, site, cam) for alert, site, cam in rows], total
