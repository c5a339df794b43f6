"""Reading recording alerts: the alarms the recorder, the maintainer and the periodic jobs raise.

An alert belongs to a site through its own site or its camera's. A reader whose scope is not country-wide
sees only the alerts of sites within that scope; alerts of the whole installation (the recorder down, the
disk filling up) carry no site and are seen by country-wide readers only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.cameras.models import Camera
from kgys.db import page_of
from kgys.recording.models import RecordingAlert
from kgys.sites import service as site_service
from kgys.sites.models import Site


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
