"""Reads and writes of the sites domain. Every query is filtered by the actor's scope here, so no
view, API call, export or search can reach a site outside it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, case, false, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.db import page_of
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed
from kgys.said import _
from kgys.sites import rollout
from kgys.sites.models import Commission, RolloutEvent, Site
from kgys.sites.schemas import RolloutChange, SiteCreate, SiteFilter, SiteOut, SitePatch

log = logging.getLogger(__name__)
NO_JURISDICTION = _("no jurisdiction with code '%(code)s'")
NO_DISTRICT = _("no district with code '%(code)s'")
DISTRICT_OUTSIDE = _("district '%(code)s' is outside your scope")
NO_PLACE = _("no province or district with code '%(code)s'")


def scope_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL condition selecting exactly the sites within the actor's scope."""
    return actor.scope.clause(Site.jurisdiction_path, Site.id)


def jurisdiction_scope_clause(actor: Actor) -> ColumnElement[bool]:
    """SQL condition selecting jurisdiction nodes the actor may see (its subtrees and their ancestors)."""
    scope = actor.scope
    if scope.is_global:
        return true()
    parts: list[ColumnElement[bool]] = []
    for p in scope.paths:
        parts.append(Jurisdiction.path.startswith(p, autoescape=True))
        ancestors = [p[: i + 1] for i, ch in enumerate(p) if ch == "/" and 0 < i < len(p) - 1]
        if ancestors:
            parts.append(Jurisdiction.path.in_(ancestors))
    if scope.site_ids:
        parts.append(Jurisdiction.id.in_(select(Site.jurisdiction_id).where(Site.id.in_(sorted(scope.site_ids)))))
    return or_(*parts) if parts else false()


def to_out(site: Site) -> SiteOut:
    """API form of a site."""
    j = site.jurisdiction
    parts = [p for p in j.path.split("/") if p]
    province = parts[1] if len(parts) > 1 else ""
    return SiteOut(
        code=site.code, name=site.name, type=site.type, address=site.address, latitude=site.latitude,
        longitude=site.longitude, district=j.code, province=province, student_count=site.student_count,
        priority=site.priority, contact_name=site.contact_name, contact_phone=site.contact_phone,
        contact_email=site.contact_email, rollout_status=site.rollout_status, rollout_since=site.rollout_since,
        compliance_status=site.compliance_status, updated_at=site.updated_at, version=site.version,
    )


# Turkish capitals that SQLite's lower() leaves alone, and the dotted/dotless i written every which way.
_FOLD = (("İ", "i"), ("I", "i"), ("ı", "i"), ("Ç", "ç"), ("Ğ", "ğ"), ("Ö", "ö"), ("Ş", "ş"), ("Ü", "ü"))


def fold(text: str) -> str:
    """Search form of a text: lower case, with every kind of i as 'i' ("İLKOKULU" finds "ilkokulu")."""
    for upper, lower in _FOLD:
        text = text.replace(upper, lower)
    return text.lower()


def search_text(name: str | None, code: str | None, address: str | None) -> str:
    """A site's stored search form: name, code and address folded, one per line (a query never spans two)."""
    return "\n".join(fold(v or "") for v in (name, code, address))


def _refresh_search_text(site: Site) -> None:
    """Set the search form from the site's fields; assigned only when it differs, so no change is recorded."""
    value = search_text(site.name, site.code, site.address)
    if site.search_text != value:
        site.search_text = value


def list_conditions(actor: Actor, f: SiteFilter, *, session: Session, today: date,
                    overdue_limits: dict[str, int]) -> list[ColumnElement[bool]]:
    """The WHERE conditions of the site list: the actor's scope and the filters ``f``."""
    where = [scope_clause(actor)]
    if f.q:
        where.append(Site.search_text.contains(fold(f.q.strip()), autoescape=True))
    if f.type:
        where.append(Site.type == f.type.value)
    if f.jurisdiction:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == f.jurisdiction))
        if node is None:
            raise ValidationFailed([FieldError.said("jurisdiction", NO_JURISDICTION, code=f.jurisdiction)])
        where.append(Site.jurisdiction_path.startswith(node.path, autoescape=True))
    if f.rollout_status:
        where.append(Site.rollout_status == f.rollout_status.value)
    if f.compliance_status:
        where.append(Site.compliance_status == f.compliance_status)
    if f.priority:
        where.append(Site.priority == f.priority)
    if f.overdue:
        conds = [(Site.rollout_status == status) & (Site.rollout_since < date.fromordinal(today.toordinal() - days))
                 for status, days in overdue_limits.items()]
        where.append(or_(*conds) if conds else false())
    return where


def list_sites(
    *, session: Session, actor: Actor, filters: SiteFilter, page: int = 1, per_page: int = 50,
    overdue_limits: dict[str, int] | None = None, today: date | None = None,
) -> tuple[Sequence[Site], int]:
    """One page of the sites within scope that match ``filters``, by priority then name, and the total."""
    actor.require(Perm.SITES_READ)
    where = list_conditions(actor, filters, session=session, today=today or date.today(),
                            overdue_limits=overdue_limits or {})
    stmt = select(Site).where(*where).order_by(Site.priority, Site.name, Site.id)
    result, total = page_of(session, stmt, page=page, per_page=per_page)
    return list(result.scalars().all()), total


def get_site(*, session: Session, actor: Actor, code: str, perm: Perm = Perm.SITES_READ) -> Site:
    """The site with institution code ``code``; NotFound when absent or outside scope."""
    actor.require(perm)
    site = session.scalar(select(Site).where(Site.code == code, scope_clause(actor)))
    if site is None:
        raise NotFound(f"no site '{code}'", code=code)
    return site


def get_site_by_id(*, session: Session, actor: Actor, site_id: int, perm: Perm = Perm.SITES_READ) -> Site:
    """The site with database id ``site_id``, within scope."""
    actor.require(perm)
    site = session.scalar(select(Site).where(Site.id == site_id, scope_clause(actor)))
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def set_compliance(*, session: Session, site: Site, status: str) -> bool:
    """Store the compliance status cameras judged a site to have; whether it changed (audited: name the actor)."""
    if site.compliance_status == status:
        return False
    site.compliance_status = status
    session.flush()
    return True


def district_for(*, session: Session, actor: Actor, code: str, field: str = "district") -> Jurisdiction:
    """A district the actor may place sites in."""
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if node is None or node.kind != "district":
        raise ValidationFailed([FieldError.said(field, NO_DISTRICT, value=code, code=code)])
    if not actor.scope.covers_path(node.path):
        raise ValidationFailed([FieldError.said(field, DISTRICT_OUTSIDE, value=code, code=code)])
    return node


def create_site(*, session: Session, actor: Actor, data: SiteCreate) -> Site:
    """Register a new site in a district within scope."""
    actor.require(Perm.SITES_CREATE)
    district = district_for(session=session, actor=actor, code=data.district)
    if session.scalar(select(Site.id).where(Site.code == data.code)) is not None:
        raise Conflict(f"a site with code '{data.code}' already exists", field="code")
    values = data.model_dump(exclude={"code", "district"})
    values["type"] = data.type.value
    values["contact_email"] = data.contact_email or ""
    site = Site(code=data.code, jurisdiction_id=district.id, jurisdiction_path=district.path,
                jurisdiction=district, rollout_status="none", rollout_since=date.today(), **values)
    site.search_text = search_text(site.name, site.code, site.address)
    session.add(site)
    session.flush()
    return site


# text fields a PATCH may clear by sending null (stored as empty text)
CLEARABLE_TEXT = frozenset({"address", "contact_name", "contact_phone", "contact_email"})


def update_site(*, session: Session, actor: Actor, code: str, patch: SitePatch) -> Site:
    """Change a site's editable fields; refuses a stale ``version``."""
    site = get_site(session=session, actor=actor, code=code, perm=Perm.SITES_EDIT)
    if patch.version != site.version:
        raise Conflict(f"site '{code}' was changed by someone else (version {site.version}, "
                       f"yours {patch.version}); reload and try again", version=site.version)
    for key, value in patch.model_dump(exclude={"version"}, exclude_unset=True).items():
        if key == "type" and value is not None:
            value = value.value if hasattr(value, "value") else value
        if key in CLEARABLE_TEXT:  # null clears a text field
            value = value or ""
        if key in {"name", "type", "priority"} and value is None:
            raise ValidationFailed([FieldError(key, "may not be empty")])
        setattr(site, key, value)
    _refresh_search_text(site)
    _flush_or_conflict(session, code)
    return site


def _flush_or_conflict(session: Session, code: str) -> None:
    """Flush; a row another transaction changed meanwhile is a Conflict, not a crash."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(f"site '{code}' was changed by someone else meanwhile; reload and try again") from exc


def change_rollout(*, session: Session, actor: Actor, code: str, change: RolloutChange,
                   today: date | None = None) -> RolloutEvent:
    """Move a site to another roll-out step, dated and audited."""
    site = get_site(session=session, actor=actor, code=code, perm=Perm.ROLLOUT_EDIT)
    today = today or date.today()
    effective = change.effective_on or today
    problem = rollout.transition_error(site.rollout_status, change.status.value)
    if problem:
        raise ValidationFailed([FieldError("status", problem)])
    if effective > today:
        raise ValidationFailed([FieldError("effective_on", "cannot be in the future")])
    if effective < site.rollout_since:
        raise ValidationFailed([FieldError("effective_on",
                                           f"cannot be before the previous step ({site.rollout_since})")])
    ev = RolloutEvent(site_id=site.id, from_status=site.rollout_status, to_status=change.status.value,
                      effective_on=effective, user_id=actor.id, username=actor.username, note=change.note)
    site.rollout_status = change.status.value
    site.rollout_since = effective
    session.add(ev)
    _flush_or_conflict(session, code)
    return ev


def rollout_history(*, session: Session, actor: Actor, code: str) -> Sequence[RolloutEvent]:
    """A site's roll-out steps, newest first."""
    site = get_site(session=session, actor=actor, code=code)
    return session.scalars(select(RolloutEvent).where(RolloutEvent.site_id == site.id)
                           .order_by(RolloutEvent.effective_on.desc(), RolloutEvent.id.desc())).all()


def commission_for(*, session: Session, site: Site) -> Commission | None:
    """The commission responsible for a site: its district's, else its province's."""
    path_codes = [p for p in site.jurisdiction_path.split("/") if p]
    for code in reversed(path_codes):
        com = session.scalar(select(Commission).join(Jurisdiction, Commission.jurisdiction_id == Jurisdiction.id)
                             .where(Jurisdiction.code == code))
        if com is not None:
            return com
    return None


def site_commission(*, session: Session, actor: Actor, code: str) -> Commission | None:
    """The commission responsible for the site ``code`` (within scope), or None."""
    return commission_for(session=session, site=get_site(session=session, actor=actor, code=code))


def list_jurisdictions(*, session: Session, actor: Actor, kind: str | None = None) -> Sequence[Jurisdiction]:
    """Jurisdiction nodes the actor may see, in tree order."""
    stmt = select(Jurisdiction).where(jurisdiction_scope_clause(actor))
    if kind:
        stmt = stmt.where(Jurisdiction.kind == kind)
    return session.scalars(stmt.order_by(Jurisdiction.path)).all()


def dashboard(*, session: Session, actor: Actor, jurisdiction: str | None, max_days: dict[str, int],
              today: date | None = None, list_limit: int = 50) -> dict[str, Any]:
    """Roll-out figures within scope (optionally one province or district)."""
    actor.require(Perm.DASHBOARD_READ)
    today = today or date.today()
    where: list[ColumnElement[bool]] = [scope_clause(actor)]
    if jurisdiction:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction))
        if node is None:
            raise ValidationFailed([FieldError.said("jurisdiction", NO_JURISDICTION, code=jurisdiction)])
        where.append(Site.jurisdiction_path.startswith(node.path, autoescape=True))

    by_rollout: dict[str, int] = {st.value: 0 for st in rollout.RolloutStatus}
    by_priority: dict[int, int] = {}
    by_compliance: dict[str, int] = {"compliant": 0, "non_compliant": 0, "no_system": 0}
    by_type: dict[str, int] = {}
    # one pass over the sites for all four breakdowns
    for status, prio, comp, kind, n in session.execute(
            select(Site.rollout_status, Site.priority, Site.compliance_status, Site.type, func.count())
            .where(*where).group_by(Site.rollout_status, Site.priority, Site.compliance_status, Site.type)):
        n = int(n)
        by_rollout[str(status)] = by_rollout.get(str(status), 0) + n
        by_priority[prio] = by_priority.get(prio, 0) + n
        by_compliance[str(comp)] = by_compliance.get(str(comp), 0) + n
        by_type[str(kind)] = by_type.get(str(kind), 0) + n
    total = sum(by_rollout.values())
    no_system = session.scalars(select(Site).where(*where, Site.compliance_status == "no_system")
                                .order_by(Site.priority, Site.name).limit(list_limit)).all()
    # one comparison against a per-status cutoff (an OR of per-status terms sends SQLite through each
    # status's index and a sort of nearly every site)
    cutoff = case({status: date.fromordinal(today.toordinal() - days) for status, days in max_days.items()},
                  value=Site.rollout_status) if max_days else None
    overdue_rows = session.scalars(select(Site).where(*where, Site.rollout_since < cutoff if cutoff is not None
                                                      else false())
                                   .order_by(Site.priority, Site.rollout_since).limit(list_limit)).all()
    overdue = [
        {"code": s.code, "name": s.name, "status": s.rollout_status, "since": s.rollout_since.isoformat(),
         "priority": s.priority,
         "days_overdue": rollout.overdue_days(s.rollout_status, s.rollout_since, today, max_days)}
        for s in overdue_rows
    ]
    district_rows = session.execute(
        select(Jurisdiction.code, Jurisdiction.name, Site.compliance_status, func.count())
        .join(Site, Site.jurisdiction_id == Jurisdiction.id).where(*where)
        .group_by(Jurisdiction.code, Jurisdiction.name, Site.compliance_status)
        .order_by(Jurisdiction.name)
    ).all()
    districts: dict[str, dict[str, Any]] = {}
    for code, name, status, n in district_rows:
        d = districts.setdefault(code, {"code": code, "name": name, "total": 0, "compliant": 0,
                                        "non_compliant": 0, "no_system": 0})
        d["total"] += int(n)
        d[status] = d.get(status, 0) + int(n)
    return {
        "jurisdiction": jurisdiction, "total": total, "by_rollout": by_rollout,
        "by_priority": {str(k): v for k, v in sorted(by_priority.items())},
        "by_compliance": by_compliance, "by_type": by_type,
        "no_system": [to_out(s) for s in no_system], "overdue": overdue,
        "districts": list(districts.values()),
    }


MAP_FIELDS = ("code", "name", "lat", "lon", "compliance", "rollout", "priority")


def map_rows(*, session: Session, actor: Actor, jurisdiction: str | None = None,
             limit: int = 20000) -> list[tuple[str, str, float, float, str, str, int]]:
    """Coordinates and state of sites within scope, for the map, as plain tuples in MAP_FIELDS order."""
    actor.require(Perm.SITES_READ)
    stmt = select(Site.code, Site.name, Site.latitude, Site.longitude, Site.compliance_status,
                  Site.rollout_status, Site.priority).where(scope_clause(actor), Site.latitude.is_not(None),
                                                            Site.longitude.is_not(None))
    if jurisdiction:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction))
        if node is None:
            raise ValidationFailed([FieldError.said("jurisdiction", NO_JURISDICTION, code=jurisdiction)])
        stmt = stmt.where(Site.jurisdiction_path.startswith(node.path, autoescape=True))
    return [tuple(r) for r in session.execute(stmt.limit(limit))]  # type: ignore[misc]


def map_count(*, session: Session, actor: Actor, jurisdiction: str | None = None) -> int:
    """How many sites within scope have coordinates (the map's point count)."""
    actor.require(Perm.SITES_READ)
    stmt = select(func.count()).select_from(Site).where(scope_clause(actor), Site.latitude.is_not(None),
                                                         Site.longitude.is_not(None))
    if jurisdiction:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction))
        if node is not None:
            stmt = stmt.where(Site.jurisdiction_path.startswith(node.path, autoescape=True))
    return int(session.scalar(stmt) or 0)


def map_points(*, session: Session, actor: Actor, jurisdiction: str | None = None,
               limit: int = 20000) -> list[dict[str, Any]]:
    """Coordinates and state of sites within scope, for the map."""
    return [dict(zip(MAP_FIELDS, r, strict=True))
            for r in map_rows(session=session, actor=actor, jurisdiction=jurisdiction, limit=limit)]


def set_commission(*, session: Session, actor: Actor, jurisdiction: str, chair: str, police_member: str = "",
                   gendarmerie_member: str = "", education_member: str = "", contact_email: str = "") -> Commission:
    """Create or update the roll-out commission of a province or district (audited)."""
    actor.require(Perm.JURISDICTIONS_EDIT)
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == jurisdiction))
    if node is None or node.kind not in ("province", "district"):
        raise ValidationFailed([FieldError.said("jurisdiction", NO_PLACE, code=jurisdiction)])
    if not actor.scope.covers_path(node.path):
        raise NotFound(f"no province or district with code '{jurisdiction}'")
    values = {"chair": chair, "police_member": police_member, "gendarmerie_member": gendarmerie_member,
              "education_member": education_member, "contact_email": contact_email}
    errors = [FieldError(k, "at most 160 characters") for k, v in values.items() if len(v) > 160]
    if not chair.strip():
        errors.append(FieldError("chair", "the commission needs a chair (deputy governor or district governor)"))
    if errors:
        raise ValidationFailed(errors)
    com = session.scalar(select(Commission).where(Commission.jurisdiction_id == node.id))
    if com is None:
        com = Commission(jurisdiction_id=node.id, jurisdiction=node)
        session.add(com)
    for key, value in values.items():
        if getattr(com, key) != value.strip():
            setattr(com, key, value.strip())
    session.flush()
    return com


def list_commissions(*, session: Session, actor: Actor) -> Sequence[Commission]:
    """Commissions of the jurisdictions the actor may see."""
    return session.scalars(select(Commission).join(Jurisdiction, Commission.jurisdiction_id == Jurisdiction.id)
                           .where(jurisdiction_scope_clause(actor)).order_by(Jurisdiction.path)).all()
