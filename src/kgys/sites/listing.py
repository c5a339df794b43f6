"""The site list as the API sends it, read as plain rows: two statements (the page and the count) and no ORM
objects, because it is the registry's most asked-for read. Scope and filters are the ones of
:func:`kgys.sites.service.list_sites` (:func:`~kgys.sites.service.list_conditions`).

The page's columns are the tables' own (``Site.__table__.c``), not the ORM's attributes, and the statement's
unfiltered part is built once (:func:`_page_base`): SQLAlchemy then finds the compiled statement in its cache
and matches its result columns by identity, where ORM attributes would cost an expression built and compared
for each column of each execution.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.sites import service
from kgys.sites.models import Site
from kgys.sites.schemas import SiteFilter

# SiteOut's fields, in its order: the site's own columns, and its district's code and path (the path gives the
# province, see province_of).
_SITE = Site.__table__.c
_DISTRICT = Jurisdiction.__table__.c
OUT_COLUMNS = (_SITE.code, _SITE.name, _SITE.type, _SITE.address, _SITE.latitude, _SITE.longitude,
               _DISTRICT.code.label("district"), _DISTRICT.path.label("province"), _SITE.student_count,
               _SITE.priority, _SITE.contact_name, _SITE.contact_phone, _SITE.contact_email, _SITE.rollout_status,
               _SITE.rollout_since, _SITE.compliance_status, _SITE.updated_at, _SITE.version)
OUT_KEYS = tuple(c.key for c in OUT_COLUMNS)
_PROVINCE = OUT_KEYS.index("province")


def province_of(path: str) -> str:
    """The province code in a district's path (``/TR/TR-34/TR-34-01/`` → ``TR-34``)."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) > 1 else ""


@functools.cache
def _page_base() -> Select[*tuple[Any, ...]]:
    """The page's columns, join and order, built once (the filters and the page are added per request)."""
    return (select(*OUT_COLUMNS).join_from(Site.__table__, Jurisdiction.__table__,
                                          _SITE.jurisdiction_id == _DISTRICT.id)
            .order_by(_SITE.priority, _SITE.name, _SITE.id))


def site_rows(
    *, session: Session, actor: Actor, filters: SiteFilter, page: int = 1, per_page: int = 50,
    overdue_limits: dict[str, int] | None = None, today: date | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of :func:`~kgys.sites.service.list_sites` as dicts of :class:`~kgys.sites.schemas.SiteOut`'s
    fields (in its order, with its types), and the total."""
    actor.require(Perm.SITES_READ)
    where = service.list_conditions(actor, filters, session=session, today=today or date.today(),
                                    overdue_limits=overdue_limits or {})
    conn = session.connection()  # plain statements: no ORM entity, so no ORM step on the way
    total = conn.scalar(select(func.count()).select_from(Site).where(*where)) or 0
    rows = conn.execute(_page_base().where(*where).offset((page - 1) * per_page).limit(per_page)).all()
    out = []
    for row in rows:
        values = dict(zip(OUT_KEYS, row, strict=True))
        values["province"] = province_of(row[_PROVINCE])
        out.append(values)
    return out, int(total)
