"""Work of the sites domain that builds on another part: the audit log as a reader within a scope sees it.

The audit log (:mod:`kgys.audit`) is a mechanism every domain uses and it knows no domain; the site scope
of its entries — which entries a scoped reader may see, and each entry's site code — is applied here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.models import AuditEntry
from kgys.audit.service import EntryFilter
from kgys.db import page_of
from kgys.sites import service as site_service
from kgys.sites.models import Site


def _scoped(session: Session, actor: Actor, site: str | None, match: EntryFilter) -> Select[AuditEntry, str]:
    """Entries matching ``match`` that the actor may read, each with its site's code, newest first.

    A user whose scope is not global sees only entries about sites within that scope; ``site`` (a site code)
    narrows to one site, NotFound when it is outside the scope."""
    stmt = (select(AuditEntry, Site.code).outerjoin(Site, Site.id == AuditEntry.site_id)
            .where(*audit_service.entries_filter(actor=actor, match=match)))
    if not actor.scope.is_global:
        stmt = stmt.where(AuditEntry.site_id.in_(select(Site.id).where(site_service.scope_clause(actor))))
    if site:
        found = site_service.get_site(session=session, actor=actor, code=site, perm=Perm.AUDIT_READ)
        stmt = stmt.where(AuditEntry.site_id == found.id)
    return stmt.order_by(AuditEntry.seq.desc())


def audit_entries(
    *,
    session: Session,
    actor: Actor,
    page: int = 1,
    per_page: int = 50,
    action: str | None = None,
    username: str | None = None,
    site: str | None = None,
    match: EntryFilter | None = None,
) -> tuple[list[tuple[AuditEntry, str | None]], int]:
    """One page of entries the actor may read, newest first, each with its site's code; and the total.

    ``match`` (or only ``action`` and ``username``) says which entries; a user whose scope is not global sees only
    entries about sites within that scope; ``site`` (a site code) narrows to one site, NotFound when it is
    outside the scope.
    """
    m = match if match is not None else EntryFilter(action=action, username=username)
    rows, total = page_of(session, _scoped(session, actor, site, m), page=page, per_page=per_page)
    return [(entry, code) for entry, code in rows], total


def each_audit_entry(*, session: Session, actor: Actor, site: str | None, match: EntryFilter,
                     batch: int = 1000) -> Iterator[tuple[AuditEntry, str | None]]:
    """Every entry :func:`audit_entries` would page through for the same filters, newest first, read ``batch``
    rows at a time (an export of any size)."""
    stmt = _scoped(session, actor, site, match).execution_options(yield_per=batch)
    yield from ((entry, code) for entry, code in session.execute(stmt))


def record_export(*, session: Session, actor: Actor, site: str | None, match: EntryFilter, fmt: str,
                  filters: dict[str, Any]) -> EntryFilter:
    """Audit an export of the entries ``match`` and ``site`` select (NotFound for a site outside the scope) and
    return the filter of exactly what is exported: the entries up to the newest one now, not this entry.

    The entry names the format and the filters as the reader gave them; it belongs to the site filtered on, if
    any (so that readers of that site see it), else to no site (country-wide readers see it)."""
    site_id = None
    if site:
        site_id = site_service.get_site(session=session, actor=actor, code=site, perm=Perm.AUDIT_READ).id
    audit_service.entries_filter(actor=actor, match=match)  # the permission check, before anything is written
    through = audit_service.head_seq(session)
    audit_service.record_access(session, actor=actor, action=AuditAction.AUDIT_EXPORT, object_type="audit_log",
                                object_id=fmt, site_id=site_id, reason=None,
                                details={"format": fmt, "filters": filters, "through_seq": through})
    return replace(match, through_seq=through if match.through_seq is None else min(through, match.through_seq))
