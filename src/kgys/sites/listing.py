"""The site list as the API sends it, read as plain rows: two statements (the page and the count) and no ORM
objects, because it is the registry's most asked-for read. Scope and filters are the ones of
:func:`kgys.sites.service.list_sites` (:func:`~kgys.sites.service.list_conditions`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.sites import service
from kgys.sites.models import Site
from kgys.sites.schemas import SiteFilter

# SiteOut's fields that are columns of the site itself; district and province come from its district.
OUT_COLUMNS = (Site.code, Site.name, Site.type, Site.address, Site.latitude, Site.longitude, Site.student_count,
               Site.priority, Site.contact_name, Site.contact_phone, Site.contact_email, Site.rollout_status,
               Site.rollout_since, Site.compliance_status, Site.updated_at, Site.version)


def province_of(path: str) -> str:
    """The province code in a district's path (``/TR/TR-34/TR-34-01/`` → ``TR-34``)."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else ""


def site_rows(
    *, session: Session, actor: Actor, filters: SiteFilter, page: int = 1, per_page: int = 50,
    overdue_limits: dict[str, int] | None = None, today: date | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of :func:`~kgys.sites.service.list_sites` as dicts of :class:`~kgys.sites.schemas.SiteOut`'s
    fields, in the same order, and the total."""
    actor.require(Perm.SITES_READ)
    where = service.list_conditions(actor, filters, session=session, today=today or date.today(),
                                    overdue_limits=overdue_limits or {})
    conn = session.connection()  # plain statements: no ORM entity, so no ORM step on the way
    total = conn.scalar(select(func.count()).select_from(Site).where(*where)) or 0
    stmt = (select(*OUT_COLUMNS, Jurisdiction.code.label("district"), Jurisdiction.path)
            .join(Jurisdiction, Site.jurisdiction_id == Jurisdiction.id).where(*where)
            .order_by(Site.priority, Site.name, Site.id).offset((page - 1) * per_page).limit(per_page))
    result = conn.execute(stmt)
    keys = [*result.keys()][:-1]  # every column but the path, which gives the province
    return [{**dict(zip(keys, row, strict=False)), "province": province_of(row[-1])} for row in result], int(total)
