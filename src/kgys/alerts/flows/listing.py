"""The alerts of a site named by its institution code: the site is looked up by the sites domain, within scope."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.alerts import service
from kgys.alerts.service import AlertRow
from kgys.sites import service as site_service


def list_alerts(*, session: Session, actor: Actor, site_code: str | None = None, state: str = "open",
                source: str | None = None, page: int = 1, per_page: int = 50) -> tuple[list[AlertRow], int]:
    """One page of the alerts the actor may see (of the site with ``site_code``, NotFound when it is not within
    scope), newest first; and how many there are in all."""
    actor.require(Perm.ALERTS_READ)
    site = None
    if site_code is not None:
        site = site_service.get_site(session=session, actor=actor, code=site_code, perm=Perm.ALERTS_READ)
    return service.list_alerts(session=session, actor=actor, site=site, state=state, source=source, page=page,
                               per_page=per_page)
