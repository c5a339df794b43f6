"""Per-site retention policies: how many days a site's footage is kept, and the minimum under disk pressure.

A site without its own row follows the recording node's default (``recording.role``: a school edge
keeps 30 days, the centre 10). Setting a policy is an administrator's act with a stated reason; every
change goes to the audit log through the :class:`~kgys.audit.mechanism.Audited` mechanism. Reads are
scoped: an actor sees the policies of the sites in their jurisdiction only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm, Role
from kgys.audit import mechanism
from kgys.errors import FieldError, PermissionDenied, ValidationFailed
from kgys.recording.models import RetentionPolicy
from kgys.recording.retention import Policy
from kgys.sites import service as site_service
from kgys.sites.models import Site

log = logging.getLogger(__name__)

MAX_DAYS = 3650
MAX_REASON = 2000


@dataclass(frozen=True)
class SitePolicy:
    """The policy in force at one site, and whether it is the site's own or the default."""

    site_code: str
    site_name: str
    days: float
    min_days: float
    own: bool


def may_manage(actor: Actor) -> bool:
    """Whether the actor may set retention policies (administrators only: the period is a legal matter)."""
    return actor.role == Role.ADMIN.value


def validate(*, days: int, min_days: int | None, reason: str) -> tuple[int, int, str]:
    """Checked (days, minimum, reason); the minimum defaults to ``days``. Raises ValidationFailed. Pure."""
    errors: list[FieldError] = []
    if not 1 <= days <= MAX_DAYS:
        errors.append(FieldError("days", f"must be from 1 to {MAX_DAYS}", value=str(days)))
    minimum = days if min_days is None else min_days
    if not 1 <= minimum <= MAX_DAYS:
        errors.append(FieldError("min_days", f"must be from 1 to {MAX_DAYS}", value=str(minimum)))
    elif 1 <= days <= MAX_DAYS and minimum > days:
        errors.append(FieldError("min_days", f"cannot exceed days ({days})", value=str(minimum)))
    text = reason.strip()
    if not text:
        errors.append(FieldError("reason", "is required"))
    elif len(text) > MAX_REASON:
        errors.append(FieldError("reason", f"at most {MAX_REASON} characters"))
    if errors:
        raise ValidationFailed(errors)
    return days, minimum, text


def _view(site: Site, row: RetentionPolicy | None, default: Policy) -> SitePolicy:
    if row is not None:
        return SitePolicy(site.code, site.name, float(row.days), float(row.min_days), True)
    return SitePolicy(site.code, site.name, default.keep.total_seconds() / 86400,
                      default.minimum.total_seconds() / 86400, False)


def get_policy(*, session: Session, actor: Actor, code: str, default: Policy) -> SitePolicy:
    """The policy in force at site ``code``, within the actor's scope."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    row = session.scalar(select(RetentionPolicy).where(RetentionPolicy.site_id == site.id))
    return _view(site, row, default)


def list_policies(*, session: Session, actor: Actor, default: Policy) -> list[SitePolicy]:
    """Every site with a policy of its own that the actor may see, by site code."""
    actor.require(Perm.CAMERAS_READ)
    rows = session.execute(select(RetentionPolicy, Site).join(Site, Site.id == RetentionPolicy.site_id)
                           .where(site_service.scope_clause(actor)).order_by(Site.code)).all()
    return [_view(site, row, default) for row, site in rows]


def set_policy(*, session: Session, actor: Actor, code: str, days: int, min_days: int | None, reason: str,
               default: Policy) -> SitePolicy:
    """Give site ``code`` its own policy (or change it); audited with ``reason``."""
    if not may_manage(actor):
        raise PermissionDenied(f"role '{actor.role}' may not set retention policies", perm="retention.manage")
    days, minimum, text = validate(days=days, min_days=min_days, reason=reason)
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    row = session.scalar(select(RetentionPolicy).where(RetentionPolicy.site_id == site.id))
    with mechanism.acting_as(session, actor, reason=text):
        if row is None:
            row = RetentionPolicy(site_id=site.id, days=days, min_days=minimum)
            session.add(row)
        else:
            row.days, row.min_days = days, minimum
        session.flush()
    log.info("retention policy of site %s set to %s days (minimum %s) by %s", code, days, minimum, actor.username)
    return _view(site, row, default)


def clear_policy(*, session: Session, actor: Actor, code: str, reason: str, default: Policy) -> SitePolicy:
    """Remove site ``code``'s own policy so the default applies again; audited with ``reason``."""
    if not may_manage(actor):
        raise PermissionDenied(f"role '{actor.role}' may not set retention policies", perm="retention.manage")
    text = reason.strip()
    if not text:
        raise ValidationFailed([FieldError("reason", "is required")])
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    row = session.scalar(select(RetentionPolicy).where(RetentionPolicy.site_id == site.id))
    if row is not None:
        with mechanism.acting_as(session, actor, reason=text):
            session.delete(row)
            session.flush()
    return _view(site, None, default)
