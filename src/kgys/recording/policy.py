"""Per-site retention policies: how many days a site's footage is kept, and the minimum under disk pressure.

A site without its own row follows the recording node's default (``recording.role``: a school edge
keeps 30 days, the centre 10). Setting a policy is an administrator's act with a stated reason; every
change goes to the audit log through the :class:`~kgys.audit.mechanism.Audited` mechanism. Reads are
scoped: an actor sees the policies of the sites in their jurisdiction only. Functions here take a site
already found within the caller's scope; finding it is :mod:`kgys.recording.flows.policy`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Role
from kgys.audit import mechanism
from kgys.errors import FieldError, PermissionDenied, ValidationFailed
from kgys.recording.models import RetentionPolicy
from kgys.recording.retention import Policy
from kgys.said import _
from kgys.sites.models import Site

log = logging.getLogger(__name__)

MAX_DAYS = 3650
MAX_REASON = 2000
FROM_ONE_TO = _("must be from 1 to %(most)s")
NOT_ABOVE_DAYS = _("cannot exceed days (%(days)s)")
AT_MOST = _("at most %(max_length)s characters")


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
        errors.append(FieldError.said("days", FROM_ONE_TO, most=MAX_DAYS, value=str(days)))
    minimum = days if min_days is None else min_days
    if not 1 <= minimum <= MAX_DAYS:
        errors.append(FieldError.said("min_days", FROM_ONE_TO, most=MAX_DAYS, value=str(minimum)))
    elif 1 <= days <= MAX_DAYS and minimum > days:
        errors.append(FieldError.said("min_days", NOT_ABOVE_DAYS, days=days, value=str(minimum)))
    text = reason.strip()
    if not text:
        errors.append(FieldError("reason", "is required"))
    elif len(text) > MAX_REASON:
        errors.append(FieldError.said("reason", AT_MOST, max_length=MAX_REASON))
    if errors:
        raise ValidationFailed(errors)
    return days, minimum, text


def view(site: Site, row: RetentionPolicy | None, default: Policy) -> SitePolicy:
    """The policy in force at ``site``: its own row, or ``default`` when it has none."""
    if row is not None:
        return SitePolicy(site.code, site.name, float(row.days), float(row.min_days), True)
    return SitePolicy(site.code, site.name, default.keep.total_seconds() / 86400,
                      default.minimum.total_seconds() / 86400, False)


def require_manage(actor: Actor) -> None:
    """PermissionDenied unless the actor may set retention policies."""
    if not may_manage(actor):
        raise PermissionDenied(f"role '{actor.role}' may not set retention policies", perm="retention.manage")


def own_row(*, session: Session, site: Site) -> RetentionPolicy | None:
    """The site's own policy row, if it has one."""
    return session.scalar(select(RetentionPolicy).where(RetentionPolicy.site_id == site.id))


def write_policy(*, session: Session, actor: Actor, site: Site, days: int, minimum: int, reason: str,
                 default: Policy) -> SitePolicy:
    """Give ``site`` (already found within scope) its own policy, or change it; audited with ``reason``."""
    row = own_row(session=session, site=site)
    with mechanism.acting_as(session, actor, reason=reason):
        if row is None:
            row = RetentionPolicy(site_id=site.id, days=days, min_days=minimum)
            session.add(row)
        else:
            row.days, row.min_days = days, minimum
        session.flush()
    log.info("retention policy of site %s set to %s days (minimum %s) by %s", site.code, days, minimum,
             actor.username)
    return view(site, row, default)


def remove_policy(*, session: Session, actor: Actor, site: Site, reason: str, default: Policy) -> SitePolicy:
    """Remove ``site``'s own policy (the site already found within scope); audited with ``reason``."""
    row = own_row(session=session, site=site)
    if row is not None:
        with mechanism.acting_as(session, actor, reason=reason):
            session.delete(row)
            session.flush()
    return view(site, None, default)
