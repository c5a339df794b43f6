"""Per-site retention policies as a caller sees them: the site found within the caller's scope by sites
(:mod:`kgys.sites.service`), the policy read and written by :mod:`kgys.recording.policy`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.errors import FieldError, ValidationFailed
from kgys.recording import policy
from kgys.recording.models import RetentionPolicy
from kgys.recording.policy import SitePolicy
from kgys.recording.retention import Policy
from kgys.sites import service as site_service
from kgys.sites.models import Site


def get_policy(*, session: Session, actor: Actor, code: str, default: Policy) -> SitePolicy:
    """The policy in force at site ``code``, within the actor's scope."""
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    return policy.view(site, policy.own_row(session=session, site=site), default)


def list_policies(*, session: Session, actor: Actor, default: Policy) -> list[SitePolicy]:
    """Every site with a policy of its own that the actor may see, by site code."""
    actor.require(Perm.CAMERAS_READ)
    rows = session.execute(select(RetentionPolicy, Site).join(Site, Site.id == RetentionPolicy.site_id)
                           .where(site_service.scope_clause(actor)).order_by(Site.code)).all()
    return [policy.view(site, row, default) for row, site in rows]


def set_policy(*, session: Session, actor: Actor, code: str, days: int, min_days: int | None, reason: str,
               default: Policy) -> SitePolicy:
    """Give site ``code`` its own policy (or change it); audited with ``reason``."""
    policy.require_manage(actor)
    days, minimum, text = policy.validate(days=days, min_days=min_days, reason=reason)
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    return policy.write_policy(session=session, actor=actor, site=site, days=days, minimum=minimum, reason=text,
                               default=default)


def clear_policy(*, session: Session, actor: Actor, code: str, reason: str, default: Policy) -> SitePolicy:
    """Remove site ``code``'s own policy so the default applies again; audited with ``reason``."""
    policy.require_manage(actor)
    text = reason.strip()
    if not text:
        raise ValidationFailed([FieldError("reason", "is required")])
    site = site_service.get_site(session=session, actor=actor, code=code, perm=Perm.CAMERAS_READ)
    return policy.remove_policy(session=session, actor=actor, site=site, reason=text, default=default)
