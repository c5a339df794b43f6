"""Periodic work of the cameras domain: compliance from measured streams.

Sites whose cameras were measured since the last pass get their stored compliance status recomputed: a
camera that sends less than its declared specs makes its site non-compliant. Run by the one scheduler of
``kgys worker jobs`` (:mod:`kgys.scheduler`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kgys.accounts.actor import Actor, system_actor
from kgys.audit import mechanism
from kgys.cameras.flows import systems as camera_flows
from kgys.cameras.models import Camera, CameraHealth
from kgys.db import retrying
from kgys.scheduler import Task
from kgys.sites.models import Site

log = logging.getLogger(__name__)

COMPLIANCE_EVERY_SECONDS = 60.0
REASON = "measured stream properties"


def refresh_measured_compliance(session: Session, *, since: datetime | None, actor: Actor) -> int:
    """Recompute the stored compliance status of sites with cameras measured after ``since`` (all if None);
    how many changed."""
    stmt = select(Site).join(Camera, Camera.site_id == Site.id).join(CameraHealth, CameraHealth.camera_id == Camera.id)
    stmt = stmt.where(CameraHealth.measured_at.is_not(None))
    if since is not None:
        stmt = stmt.where(CameraHealth.measured_at > since)
    sites = session.scalars(stmt.distinct()).all()
    changed = 0
    with mechanism.acting_as(session, actor, reason=REASON):
        for site in sites:
            before = site.compliance_status
            after = camera_flows.refresh_compliance(session=session, site=site)
            if after != before:
                changed += 1
                log.info("site %s compliance %s → %s after measuring its streams", site.code, before, after)
    return changed


class MeasuredCompliance:
    """The measured-compliance task: each pass looks at what was measured since the last pass that committed."""

    def __init__(self, sessions: sessionmaker[Session], actor: Actor | None = None) -> None:
        self.sessions = sessions
        self.actor = actor or system_actor("jobs")
        self.since: datetime | None = None

    def __call__(self, now: datetime) -> int:
        """One pass in a unit of work of its own; the next pass starts from ``now`` once this one committed."""
        since = self.since
        changed = retrying(self.sessions, lambda session: refresh_measured_compliance(
            session, since=since, actor=self.actor))
        self.since = now
        return changed


def tasks(*, sessions: sessionmaker[Session], every: float = COMPLIANCE_EVERY_SECONDS) -> list[Task]:
    """The cameras tasks of the jobs worker."""
    return [Task("cameras.measured_compliance", every, outside=MeasuredCompliance(sessions))]
