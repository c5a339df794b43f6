"""Work of the sites domain that builds on another part: the audit log as a reader within a scope sees it.

The audit log (:mod:`kgys.audit`) is a mechanism every domain uses and it knows no domain; the site scope
of its entries — which entries a scoped reader may see, and each entry's site code — is applied here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.models import AuditEntry
from kgys.db import page_of
from kgys.sites import service as site_service
from kgys.sites.models import Site


def audit_entries(
    *,
    session: Session,
    actor: Actor,
    page: int = 1,
    per_page: int = 50,
    action: str | None = None,
    username: str | None = None,
    site: str | None = None,
) -> tuple[list[tuple[AuditEntry, str | None]], int]:
    """One page of entries the actor may read, newest first, each with its site's code; and the total.

    A user whose scope is not global sees only entries about sites within that scope; ``site`` (a site
    code) narrows to one site, NotFound when it is outside the scope.
    """
    stmt = (select(AuditEntry, Site.code).outerjoin(Site, Site.id == AuditEntry.site_id)
            .where(*audit_service.entries_filter(actor=actor, action=action, username=username)))
    if not actor.scope.is_global:
        stmt = stmt.where(AuditEntry.site_id.in_(select(Site.id).where(site_service.scope_clause(actor))))
    if site:
        found = site_service.get_site(session=session, actor=actor, code=site, perm=Perm.AUDIT_READ)
        stmt = stmt.where(AuditEntry.site_id == found.id)
    rows, total = page_of(session, stmt.order_by(AuditEntry.seq.desc()), page=page, per_page=per_page)
    return [(entry, code) for entry, code in rows], total
