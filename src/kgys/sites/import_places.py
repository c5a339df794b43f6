"""Which district a row of a site list means, and registering from the shipped list the ones still missing.

A row names its district by code or by name, and may name its province (by code, plate code or name).
Registered jurisdictions are searched first. What is not registered is looked up in Türkiye's list
(:mod:`kgys.sites.gazetteer`): before any row is applied, ``add_missing`` registers every province and
district the file names that the list knows, so ``Kadıköy`` or ``ANKARA / ÇANKAYA`` import into a new
installation without typing districts in first. A district name found in several provinces (``Merkez``)
needs the province column.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.sites import gazetteer
from kgys.sites.flows import jurisdictions as jurisdiction_flows
from kgys.sites.import_columns import fold
from kgys.sites.import_messages import Problem, _
from kgys.sites.import_parse import Row


class PlaceProblem(Exception):
    """A row's province or district cannot be told; ``column`` and ``problem`` say why."""

    def __init__(self, column: str, problem: Problem) -> None:
        super().__init__(problem.render())
        self.column = column
        self.problem = problem


def _match(nodes: Sequence[Jurisdiction], kind: str, text: str, within: Jurisdiction | None) -> list[Jurisdiction]:
    """Registered nodes of ``kind`` (inside ``within``) whose code or name is ``text``."""
    by_code = [n for n in nodes if n.kind == kind and n.code == text]
    if by_code:
        return by_code
    wanted = fold(text)
    found = [n for n in nodes if n.kind == kind and (within is None or n.path.startswith(within.path))
             and (fold(n.name) == wanted or fold(n.code) == wanted)]
    if not found and kind == "province":
        listed = gazetteer.province(text)
        if listed is not None:
            node = jurisdiction_flows.find_listed_province(nodes, listed)
            found = [node] if node is not None else []
    return found


def province_of(nodes: Sequence[Jurisdiction], text: str) -> Jurisdiction:
    """The registered province a cell names; PlaceProblem when none or several."""
    found = _match(nodes, "province", text, None)
    if len(found) == 1:
        return found[0]
    if not found:
        raise PlaceProblem("province", _("no province with code or name '%(value)s'", value=text))
    raise PlaceProblem("province", _("province name '%(value)s' is ambiguous (%(codes)s); use the code",
                                     value=text, codes=", ".join(sorted(n.code for n in found))))


def district_of(nodes: Sequence[Jurisdiction], actor: Actor, row: Row) -> Jurisdiction:
    """The registered district a row names, within the actor's scope; PlaceProblem when it cannot be told."""
    text = row.values.get("district", "")
    if not text:
        raise PlaceProblem("district", _("a value is required"))
    province = province_of(nodes, row.values["province"]) if row.values.get("province") else None
    found = _match(nodes, "district", text, province)
    if province is not None and found and not found[0].path.startswith(province.path):
        raise PlaceProblem("district", _("district '%(value)s' is not in province '%(province)s'", value=text,
                                         province=province.code))
    if not found:
        listed = gazetteer.provinces_with_district(text) if province is None else []
        if province is None and len(listed) > 1:
            raise PlaceProblem("district", _("district name '%(value)s' exists in several provinces (%(names)s); "
                                             "add a province column", value=text,
                                             names=", ".join(p.name for p in listed[:5])))
        where = province.name if province is not None else ""
        if where:
            raise PlaceProblem("district", _("no district with code or name '%(value)s' in province "
                                             "'%(province)s'", value=text, province=where))
        raise PlaceProblem("district", _("no district with code or name '%(value)s'", value=text))
    if len(found) > 1:
        raise PlaceProblem("district", _("district name '%(value)s' is ambiguous (%(codes)s); use the code or add "
                                         "a province column", value=text,
                                         codes=", ".join(sorted(n.code for n in found))))
    if not actor.scope.covers_path(found[0].path):
        raise PlaceProblem("district", _("district '%(value)s' is outside your scope", value=found[0].code))
    return found[0]


def _listed(nodes: Sequence[Jurisdiction], row: Row) -> tuple[gazetteer.Province, str] | None:
    """The province and district of the shipped list a row names, when they are not registered yet."""
    district = row.values.get("district", "")
    province_text = row.values.get("province", "")
    if not district:
        return None
    try:
        province = province_of(nodes, province_text) if province_text else None
    except PlaceProblem:
        province = None
    if _match(nodes, "district", district, province):
        return None
    if province_text:
        listed = gazetteer.province(province_text if province is None else province.name)
        if listed is None and province is not None:
            listed = gazetteer.province(province_text)
        candidates = [listed] if listed is not None else []
    else:
        candidates = gazetteer.provinces_with_district(district)
    if len(candidates) != 1:
        return None
    name = candidates[0].district(district)
    return (candidates[0], name) if name is not None else None


def add_missing(*, session: Session, actor: Actor, nodes: list[Jurisdiction], rows: Sequence[Row]) -> list[str]:
    """Register the listed provinces and districts the rows name but the tree lacks; their codes.

    Does nothing for a user who may not edit jurisdictions: those rows then report their district as
    unknown. ``nodes`` is extended with what was made.
    """
    if not actor.can(Perm.JURISDICTIONS_EDIT):
        return []
    wanted: dict[int, tuple[gazetteer.Province, list[str]]] = {}
    for row in rows:
        found = _listed(nodes, row)
        if found is not None:
            province, district = found
            names = wanted.setdefault(province.plate, (province, []))[1]
            if district not in names:
                names.append(district)
    made: list[Jurisdiction] = []
    for province, districts in wanted.values():
        made += jurisdiction_flows.add_listed(session=session, actor=actor, province=province,
                                                districts=districts)
    nodes.extend(n for n in made if n.kind in ("province", "district"))
    return [n.code for n in made]
