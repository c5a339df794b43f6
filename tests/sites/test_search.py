"""The stored search form of a site: kept by the service, used by the list, never audited on its own."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kgys.sites import service
from kgys.sites.models import Site
from kgys.sites.schemas import SiteFilter, SitePatch
from tests import factories


def _found(session: Session, q: str) -> set[str]:
    rows, total = service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(q=q))
    assert total == len(rows)
    return {s.code for s in rows}


def test_search_text_follows_name_code_and_address(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session, name="IŞIK İlkokulu", address="Çınar Sok. No 3")
    stored = session.execute(text("SELECT search_text FROM sites WHERE id = :i"), {"i": site.id}).scalar_one()
    assert stored == f"işik ilkokulu\n{site.code.lower()}\nçinar sok. no 3"
    assert _found(session, "ışık") == {site.code}
    assert _found(session, "ÇINAR") == {site.code}
    service.update_site(session=session, actor=factories.admin(), code=site.code,
                        patch=SitePatch(version=site.version, name="Gazi Ortaokulu"))
    assert _found(session, "ışık") == set()
    assert _found(session, "gazi") == {site.code}


def test_a_query_does_not_match_across_fields(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session, name="Merkez Okulu", address="Atatürk Cad.")
    assert _found(session, "okulu") == {site.code}
    assert _found(session, "okulu atatürk") == set()


def test_search_text_is_left_out_of_audit_entries(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session, name="Kuzey Okulu")
    service.update_site(session=session, actor=factories.admin(), code=site.code,
                        patch=SitePatch(version=site.version, name="Güney Okulu"))
    rows = session.execute(text("SELECT action, details FROM audit_entries WHERE object_id = :c ORDER BY seq"),
                           {"c": site.code}).all()
    assert [r.action for r in rows] == ["site.create", "site.update"]
    details = json.loads(rows[1].details)
    assert details["fields"] == ["name"]
    assert "search_text" not in rows[0].details


def test_an_update_that_changes_nothing_searchable_records_only_its_field(session: Session) -> None:
    factories.tree(session)
    site = factories.site(session)
    before = session.scalar(select(Site.search_text).where(Site.id == site.id))
    service.update_site(session=session, actor=factories.admin(), code=site.code,
                        patch=SitePatch(version=site.version, priority=1))
    assert session.scalar(select(Site.search_text).where(Site.id == site.id)) == before
    last = session.execute(text("SELECT details FROM audit_entries ORDER BY seq DESC LIMIT 1")).scalar_one()
    assert json.loads(last)["fields"] == ["priority"]


def test_dashboard_counts_come_from_one_grouping(session: Session) -> None:
    factories.tree(session)
    factories.site(session, priority=1, type="kindergarten")
    factories.site(session, priority=2)
    factories.site(session, district="TR-98-C", priority=2)
    d = service.dashboard(session=session, actor=factories.admin(), jurisdiction=None, max_days={})
    assert d["total"] == 3
    assert d["by_priority"] == {"1": 1, "2": 2}
    assert d["by_type"] == {"kindergarten": 1, "primary_school": 2}
    assert d["by_compliance"] == {"compliant": 0, "non_compliant": 0, "no_system": 3}
    assert d["by_rollout"]["none"] == 3 and sum(d["by_rollout"].values()) == 3
    assert {x["code"]: x["total"] for x in d["districts"]} == {"TR-99-A": 2, "TR-98-C": 1}


def test_map_rows_and_count_agree_with_map_points(session: Session) -> None:
    factories.tree(session)
    a = factories.site(session)
    factories.site(session, latitude=None, longitude=None)
    rows = service.map_rows(session=session, actor=factories.admin())
    assert rows == [(a.code, a.name, 39.9, 32.8, "no_system", "none", 2)]
    assert service.map_count(session=session, actor=factories.admin()) == 1
    points = service.map_points(session=session, actor=factories.admin())
    assert points == [dict(zip(service.MAP_FIELDS, rows[0], strict=True))]
