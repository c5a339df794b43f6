"""The API's site list read as plain rows: the same sites, fields, types and JSON as the ORM list through the
response model, which it skips."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope
from kgys.sites import listing, service
from kgys.sites.schemas import SiteFilter, SiteOut
from kgys.web.paging import Page, page_json
from tests import factories


def _reader(scope: Scope) -> Actor:
    return Actor(id=None, username="reader", role="operator", scope=scope)


def test_rows_are_the_response_model_as_it_would_serialise_them(session: Session) -> None:
    factories.tree(session)
    factories.site(session, name="Çağlayan İlkokulu", district="TR-99-A", priority=1, student_count=None,
                   latitude=None, longitude=None, contact_email="müdür@example.org")
    factories.site(session, name="Şehit Öğretmen Ortaokulu", district="TR-99-B", latitude=41.0, longitude=29.125)
    factories.site(session, name="Zafer Anaokulu", district="TR-98-C", priority=5, student_count=312)
    provinces = []
    for page, per_page in ((1, 50), (1, 2), (2, 2)):
        for actor in (_reader(Scope(is_global=True)), _reader(Scope(paths=("/TR/TR-99/",)))):
            rows, total = listing.site_rows(session=session, actor=actor, filters=SiteFilter(), page=page,
                                            per_page=per_page)
            sites, total_orm = service.list_sites(session=session, actor=actor, filters=SiteFilter(), page=page,
                                                  per_page=per_page)
            expected = Page[SiteOut](items=[service.to_out(s) for s in sites], total=total_orm, page=page,
                                     per_page=per_page)
            assert [tuple(r) for r in rows] == [tuple(SiteOut.model_fields)] * len(rows)
            assert [SiteOut.model_validate(r) for r in rows] == expected.items
            body = page_json(rows, total=total, page=page, per_page=per_page)
            assert body == expected.model_dump_json().encode()
            provinces += [item["province"] for item in json.loads(body)["items"]]
    assert sorted(set(provinces)) == ["TR-98", "TR-99"]


def test_scope_and_filters_stay_in_sql(session: Session) -> None:
    factories.tree(session)
    inside = factories.site(session, district="TR-99-B", type="high_school")
    factories.site(session, district="TR-99-B", type="primary_school")
    factories.site(session, district="TR-98-C", type="high_school")
    rows, total = listing.site_rows(session=session, actor=_reader(Scope(paths=("/TR/TR-99/",))),
                                    filters=SiteFilter.model_validate({"type": "high_school"}))
    assert (total, [r["code"] for r in rows]) == (1, [inside.code])
    rows, total = listing.site_rows(session=session, actor=_reader(Scope(site_ids=frozenset({inside.id}))),
                                    filters=SiteFilter())
    assert (total, [r["code"] for r in rows]) == (1, [inside.code])
    assert listing.site_rows(session=session, actor=_reader(Scope()), filters=SiteFilter()) == ([], 0)
