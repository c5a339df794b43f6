"""Provinces and districts from the list kgys ships (:mod:`kgys.sites.gazetteer`), created on demand.

Every node is made by accounts, the domain that owns the tree (:mod:`kgys.accounts.jurisdictions`: permission,
scope, audit entry), so a district added by an import is the same as one typed in by hand.
Services here take keyword-only arguments and an explicit session, and flush.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import jurisdictions as account_jurisdictions
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.accounts.schemas import JurisdictionCreate
from kgys.errors import FieldError, ValidationFailed
from kgys.said import _
from kgys.sites import gazetteer
from kgys.sites.import_columns import fold

log = logging.getLogger(__name__)
NOT_A_DISTRICT = _("'%(name)s' is not a district of %(province)s")


def _country(session: Session, actor: Actor, made: list[Jurisdiction]) -> Jurisdiction:
    """Türkiye's node: the one with code TR, made when the tree is still empty."""
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == gazetteer.COUNTRY_CODE))
    if node is not None:
        return node
    if session.scalar(select(Jurisdiction.id).where(Jurisdiction.kind == "country")) is not None:
        raise ValidationFailed([FieldError("province", "the jurisdiction tree has no country with code "
                                                       f"'{gazetteer.COUNTRY_CODE}'; Türkiye's provinces go under it")])
    node = account_jurisdictions.create_country(session=session, actor=actor, code=gazetteer.COUNTRY_CODE,
                                                name=gazetteer.COUNTRY_NAME)
    made.append(node)
    return node


def find_listed_province(nodes: Iterable[Jurisdiction], province: gazetteer.Province) -> Jurisdiction | None:
    """The registered province that is ``province`` of the list: same code, or same name."""
    wanted = fold(province.name)
    return next((n for n in nodes if n.kind == "province" and (n.code == province.code or fold(n.name) == wanted)),
                None)


def add_listed(*, session: Session, actor: Actor, province: gazetteer.Province,
               districts: Iterable[str] | None = None) -> list[Jurisdiction]:
    """Register ``province`` and those of its ``districts`` (default: all) not registered yet; the nodes made.

    The country node ``TR`` is made first when the tree is empty. Districts already registered under the
    province — by the list's code or by name — are left as they are.
    """
    actor.require(Perm.JURISDICTIONS_EDIT)
    made: list[Jurisdiction] = []
    provinces = session.scalars(select(Jurisdiction).where(Jurisdiction.kind == "province")).all()
    node = find_listed_province(provinces, province)
    if node is None:
        country = _country(session, actor, made)
        node = account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=province.code, name=province.name, kind="province", parent=country.code))
        made.append(node)
    existing = session.scalars(select(Jurisdiction).where(Jurisdiction.kind == "district",
                                                          Jurisdiction.path.startswith(node.path))).all()
    have = {fold(d.name) for d in existing} | {d.code for d in existing}
    for name in province.districts if districts is None else districts:
        listed = province.district(name)
        if listed is None:
            raise ValidationFailed([FieldError.said("district", NOT_A_DISTRICT, name=name, province=province.name)])
        code = province.district_code(listed)
        if fold(listed) in have or code in have:
            continue
        made.append(account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=listed, kind="district", parent=node.code)))
        have |= {fold(listed), code}
    log.info("added %s jurisdiction(s) of %s from the shipped list", len(made), province.name)
    return made
