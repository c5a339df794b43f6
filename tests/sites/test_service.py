"""The sites service: scope filtering, audited writes, roll-out, dashboard, map and jurisdictions."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor, Scope
from kgys.accounts.jurisdictions import create_jurisdiction as create_node
from kgys.accounts.models import Jurisdiction
from kgys.accounts.schemas import JurisdictionCreate
from kgys.audit.mechanism import set_actor
from kgys.audit.models import AuditEntry
from kgys.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kgys.runtime import Runtime
from kgys.sites import service
from kgys.sites.models import Commission, Site
from kgys.sites.rollout import RolloutStatus
from kgys.sites.schemas import RolloutChange, SiteCreate, SiteFilter, SitePatch
from tests import factories

MAX_DAYS = {"none": 30, "planned": 60, "tendered": 60, "contracted": 90, "installed": 30, "integrated": 30}


def actor(role: str = "commission_member", *paths: str, site_ids: frozenset[int] = frozenset()) -> Actor:
    """An actor of ``role`` whose scope is the given jurisdiction paths (and single sites)."""
    return Actor(id=None, username=f"{role}-test", role=role,
                 scope=Scope(paths=tuple(paths), site_ids=site_ids))


DISTRICT_A = "/TR/TR-99/TR-99-A/"
PROVINCE_99 = "/TR/TR-99/"


@pytest.fixture
def sites(session: Session) -> dict[str, Site]:
    """Two sites in TR-99-A, one in TR-99-B, one in TR-98-C."""
    factories.tree(session)
    return {
        "a1": factories.site(session, "TR-99-A", name="Atatürk İlkokulu", priority=1),
        "a2": factories.site(session, "TR-99-A", name="Cumhuriyet Anaokulu", type="kindergarten", priority=3),
        "b": factories.site(session, "TR-99-B", name="Sahil Lisesi", type="high_school"),
        "c": factories.site(session, "TR-98-C", name="Dağ Ortaokulu", type="middle_school"),
    }


def codes(rows: object) -> set[str]:
    return {s.code for s in rows}  # type: ignore[attr-defined]


def audit_rows(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_lists_only_sites_within_scope(session: Session, sites: dict[str, Site]) -> None:
    def listed(a: Actor) -> set[str]:
        rows, total = service.list_sites(session=session, actor=a, filters=SiteFilter())
        assert total == len(rows)
        return codes(rows)

    assert listed(actor("operator", DISTRICT_A)) == {sites["a1"].code, sites["a2"].code}
    assert listed(actor("operator", PROVINCE_99)) == {sites["a1"].code, sites["a2"].code, sites["b"].code}
    assert listed(actor("operator", site_ids=frozenset({sites["c"].id}))) == {sites["c"].code}
    assert listed(actor("operator")) == set()
    assert listed(factories.admin()) == {s.code for s in sites.values()}


def test_a_path_prefix_does_not_match_a_longer_code(session: Session, sites: dict[str, Site]) -> None:
    """Scope /TR/TR-9/ must not cover /TR/TR-99/…: paths end with a slash."""
    rows, _ = service.list_sites(session=session, actor=actor("operator", "/TR/TR-9/"), filters=SiteFilter())
    assert rows == []


def test_a_site_outside_scope_is_not_found(session: Session, sites: dict[str, Site]) -> None:
    scoped = actor("operator", DISTRICT_A)
    assert service.get_site(session=session, actor=scoped, code=sites["a1"].code).id == sites["a1"].id
    with pytest.raises(NotFound):
        service.get_site(session=session, actor=scoped, code=sites["b"].code)
    with pytest.raises(NotFound):
        service.rollout_history(session=session, actor=scoped, code=sites["c"].code)
    with pytest.raises(NotFound):
        service.site_commission(session=session, actor=scoped, code=sites["c"].code)


def test_a_role_without_the_permission_is_refused(session: Session, sites: dict[str, Site]) -> None:
    with pytest.raises(PermissionDenied):
        service.update_site(session=session, actor=actor("operator", DISTRICT_A), code=sites["a1"].code,
                            patch=SitePatch(version=1, name="x"))
    with pytest.raises(PermissionDenied):
        service.dashboard(session=session, actor=actor("dispatcher", DISTRICT_A), jurisdiction=None,
                          max_days=MAX_DAYS)


def test_filters(session: Session, sites: dict[str, Site]) -> None:
    everyone = factories.admin()

    def found(**kw: object) -> set[str]:
        return codes(service.list_sites(session=session, actor=everyone, filters=SiteFilter(**kw))[0])

    assert found(q="atatürk") == {sites["a1"].code}
    assert found(q=sites["b"].code.lower()) == {sites["b"].code}
    assert found(type="kindergarten") == {sites["a2"].code}
    assert found(jurisdiction="TR-99") == {sites["a1"].code, sites["a2"].code, sites["b"].code}
    assert found(jurisdiction="TR-98-C") == {sites["c"].code}
    assert found(priority=1) == {sites["a1"].code}
    assert found(compliance_status="no_system") == {s.code for s in sites.values()}
    assert found(rollout_status="planned") == set()
    with pytest.raises(ValidationFailed) as err:
        found(jurisdiction="TR-00")
    assert err.value.errors[0].field == "jurisdiction"


def test_pages_are_ordered_by_priority_then_name(session: Session, sites: dict[str, Site]) -> None:
    first, total = service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(), per_page=2)
    second, _ = service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(), page=2,
                                   per_page=2)
    assert total == 4
    assert [s.name for s in first] == ["Atatürk İlkokulu", "Dağ Ortaokulu"]
    assert [s.name for s in second] == ["Sahil Lisesi", "Cumhuriyet Anaokulu"]


def test_overdue_filter_uses_the_targets(session: Session, sites: dict[str, Site]) -> None:
    today = date(2025, 6, 1)
    sites["a1"].rollout_since = today - timedelta(days=31)  # 'none' allows 30
    sites["a2"].rollout_since = today - timedelta(days=30)
    sites["b"].rollout_status, sites["b"].rollout_since = "verified", today - timedelta(days=999)
    sites["c"].rollout_status, sites["c"].rollout_since = "contracted", today - timedelta(days=91)
    session.flush()
    rows, _ = service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(overdue=True),
                                 overdue_limits=MAX_DAYS, today=today)
    assert codes(rows) == {sites["a1"].code, sites["c"].code}


def test_create_is_audited(session: Session, sites: dict[str, Site]) -> None:
    creator = actor("commission_member", DISTRICT_A)
    set_actor(session, creator)
    site = service.create_site(session=session, actor=creator, data=SiteCreate(
        code="KURUM-1", name="Yeni Okul", type="high_school", district="TR-99-A", contact_email="okul@meb.gov.tr"))
    assert site.rollout_status == "none" and site.compliance_status == "no_system"
    assert site.jurisdiction_path == DISTRICT_A
    [entry] = [e for e in audit_rows(session, "site.create") if e.object_id == "KURUM-1"]
    assert entry.site_id == site.id
    assert entry.actor == creator.username


def test_create_outside_scope_or_twice_is_refused(session: Session, sites: dict[str, Site]) -> None:
    creator = actor("commission_member", DISTRICT_A)
    data = {"code": "KURUM-2", "name": "Okul", "type": "high_school"}
    with pytest.raises(ValidationFailed) as err:
        service.create_site(session=session, actor=creator, data=SiteCreate(**data, district="TR-99-B"))
    assert err.value.errors[0].field == "district" and "outside your scope" in err.value.errors[0].message
    with pytest.raises(ValidationFailed) as err:
        service.create_site(session=session, actor=creator, data=SiteCreate(**data, district="TR-99"))
    assert "no district" in err.value.errors[0].message
    with pytest.raises(Conflict):
        service.create_site(session=session, actor=creator, data=SiteCreate(**{**data, "code": sites["a1"].code},
                                                                            district="TR-99-A"))
    assert session.scalar(select(Site.id).where(Site.code == "KURUM-2")) is None


def test_update_is_audited_and_refuses_a_stale_version(session: Session, sites: dict[str, Site]) -> None:
    editor = actor("school_admin", DISTRICT_A)
    code = sites["a1"].code
    site = service.update_site(session=session, actor=editor, code=code,
                               patch=SitePatch(version=1, name="Atatürk İlkokulu (yeni bina)", student_count=420))
    assert site.version == 2
    entry = audit_rows(session, "site.update")[-1]
    assert entry.object_id == code
    details = json.loads(entry.details)
    assert {"name", "student_count"} <= set(details["fields"])
    assert details["changes"]["name"] == {"from": "Atatürk İlkokulu", "to": "Atatürk İlkokulu (yeni bina)"}
    with pytest.raises(Conflict, match="version 2, yours 1"):
        service.update_site(session=session, actor=editor, code=code, patch=SitePatch(version=1, name="Eski"))
    with pytest.raises(ValidationFailed) as err:
        service.update_site(session=session, actor=editor, code=code, patch=SitePatch(version=2, name=None))
    assert err.value.errors[0].field == "name"


def test_rollout_moves_one_step_dated_and_audited(session: Session, sites: dict[str, Site]) -> None:
    member = actor("commission_member", DISTRICT_A)
    code = sites["a1"].code
    today = date(2030, 1, 10)
    sites["a1"].rollout_since = date(2030, 1, 1)
    session.flush()
    ev = service.change_rollout(session=session, actor=member, code=code, today=today,
                                change=RolloutChange(status=RolloutStatus.PLANNED, effective_on=date(2030, 1, 5),
                                                     note="İl planına alındı"))
    assert (ev.from_status, ev.to_status, ev.effective_on) == ("none", "planned", date(2030, 1, 5))
    assert (sites["a1"].rollout_status, sites["a1"].rollout_since) == ("planned", date(2030, 1, 5))
    assert audit_rows(session, "rollout.create")[-1].site_id == sites["a1"].id
    site_update = json.loads(audit_rows(session, "site.update")[-1].details)
    assert site_update["changes"]["rollout_status"] == {"from": "none", "to": "planned"}

    def refused(change: RolloutChange) -> str:
        with pytest.raises(ValidationFailed) as err:
            service.change_rollout(session=session, actor=member, code=code, change=change, today=today)
        return err.value.errors[0].field

    assert refused(RolloutChange(status=RolloutStatus.VERIFIED)) == "status"
    assert refused(RolloutChange(status=RolloutStatus.TENDERED, effective_on=date(2030, 1, 11))) == "effective_on"
    assert refused(RolloutChange(status=RolloutStatus.TENDERED, effective_on=date(2030, 1, 4))) == "effective_on"
    service.change_rollout(session=session, actor=member, code=code, today=today,
                           change=RolloutChange(status=RolloutStatus.TENDERED))
    history = service.rollout_history(session=session, actor=actor("operator", DISTRICT_A), code=code)
    assert [(e.from_status, e.to_status) for e in history] == [("planned", "tendered"), ("none", "planned")]


def test_rollout_needs_the_permission(session: Session, sites: dict[str, Site]) -> None:
    with pytest.raises(PermissionDenied):
        service.change_rollout(session=session, actor=actor("school_admin", DISTRICT_A), code=sites["a1"].code,
                               change=RolloutChange(status=RolloutStatus.PLANNED))


def test_dashboard_counts_only_what_is_in_scope(rt: Runtime, session: Session, sites: dict[str, Site]) -> None:
    factories.compliant_system(session, rt.box, sites["a1"].code)
    today = date.today()
    sites["a2"].rollout_since = today - timedelta(days=45)
    session.flush()
    data = service.dashboard(session=session, actor=actor("commission_member", DISTRICT_A), jurisdiction=None,
                             max_days=MAX_DAYS, today=today)
    assert data["total"] == 2
    assert data["by_compliance"] == {"compliant": 1, "non_compliant": 0, "no_system": 1}
    assert data["by_rollout"]["none"] == 2 and data["by_rollout"]["verified"] == 0
    assert data["by_type"] == {"primary_school": 1, "kindergarten": 1}
    assert [s.code for s in data["no_system"]] == [sites["a2"].code]
    assert [(o["code"], o["days_overdue"]) for o in data["overdue"]] == [(sites["a2"].code, 15)]
    assert data["districts"] == [{"code": "TR-99-A", "name": "Merkez", "total": 2, "compliant": 1,
                                  "non_compliant": 0, "no_system": 1}]
    whole = service.dashboard(session=session, actor=factories.admin(), jurisdiction="TR-99", max_days=MAX_DAYS)
    assert whole["total"] == 3
    with pytest.raises(ValidationFailed):
        service.dashboard(session=session, actor=factories.admin(), jurisdiction="TR-00", max_days=MAX_DAYS)


def test_map_points_within_scope(session: Session, sites: dict[str, Site]) -> None:
    sites["a2"].latitude = None
    session.flush()
    points = service.map_points(session=session, actor=actor("operator", PROVINCE_99))
    assert {p["code"] for p in points} == {sites["a1"].code, sites["b"].code}
    assert {p["code"] for p in service.map_points(session=session, actor=factories.admin(),
                                                  jurisdiction="TR-98")} == {sites["c"].code}
    with pytest.raises(ValidationFailed):
        service.map_points(session=session, actor=factories.admin(), jurisdiction="TR-00")


def test_jurisdictions_visible_are_the_subtree_and_its_ancestors(session: Session, sites: dict[str, Site]) -> None:
    def visible(a: Actor, kind: str | None = None) -> list[str]:
        return [j.code for j in service.list_jurisdictions(session=session, actor=a, kind=kind)]

    assert visible(actor("operator", DISTRICT_A)) == ["TR", "TR-99", "TR-99-A"]
    assert visible(actor("operator", PROVINCE_99)) == ["TR", "TR-99", "TR-99-A", "TR-99-B"]
    assert visible(actor("operator", site_ids=frozenset({sites["c"].id}))) == ["TR-98-C"]
    assert visible(factories.admin(), "province") == ["TR-98", "TR-99"]


def test_create_jurisdiction(session: Session, sites: dict[str, Site]) -> None:
    node = create_node(session=session, actor=actor("admin", PROVINCE_99), data=JurisdictionCreate(
        code="TR-99-D", name="Yayla", kind="district", parent="TR-99"))
    assert node.path == "/TR/TR-99/TR-99-D/"
    assert audit_rows(session, "jurisdiction.create")[-1].object_id == "TR-99-D"
    with pytest.raises(PermissionDenied):
        create_node(session=session, actor=actor("admin", DISTRICT_A), data=JurisdictionCreate(
            code="TR-99-E", name="Ova", kind="district", parent="TR-99"))
    with pytest.raises(ValidationFailed) as err:
        create_node(session=session, actor=factories.admin(), data=JurisdictionCreate(
            code="TR-99-E", name="Ova", kind="district", parent="TR-99-A"))
    assert err.value.errors[0].field == "parent"
    with pytest.raises(Conflict):
        create_node(session=session, actor=factories.admin(), data=JurisdictionCreate(
            code="TR-99-D", name="Yayla", kind="district", parent="TR-99"))
    with pytest.raises(PermissionDenied):
        create_node(session=session, actor=actor("commission_member", PROVINCE_99),
                                                  data=JurisdictionCreate(code="TR-99-F", name="F", kind="district",
                                                            parent="TR-99"))


def test_commission_of_the_district_else_the_province(session: Session, sites: dict[str, Site]) -> None:
    ids = {j.code: j.id for j in session.scalars(select(Jurisdiction))}
    session.add_all([Commission(jurisdiction_id=ids["TR-99"], chair="Vali Yardımcısı"),
                     Commission(jurisdiction_id=ids["TR-99-A"], chair="Kaymakam")])
    session.flush()
    everyone = factories.admin()
    a = service.site_commission(session=session, actor=everyone, code=sites["a1"].code)
    b = service.site_commission(session=session, actor=everyone, code=sites["b"].code)
    assert a is not None and a.chair == "Kaymakam"
    assert b is not None and b.chair == "Vali Yardımcısı"
    assert service.site_commission(session=session, actor=everyone, code=sites["c"].code) is None


def test_a_failed_write_leaves_no_audit_entry(session: Session, sites: dict[str, Site]) -> None:
    before = session.execute(text("SELECT count(*) FROM audit_entries")).scalar()
    with pytest.raises(Conflict):
        service.update_site(session=session, actor=factories.admin(), code=sites["a1"].code,
                            patch=SitePatch(version=99, name="x"))
    assert session.execute(text("SELECT count(*) FROM audit_entries")).scalar() == before


def test_a_concurrent_change_is_a_conflict(session: Session, sites: dict[str, Site]) -> None:
    """Someone else saved the site after it was read: the write is refused, not crashed."""
    site = sites["a1"]
    session.execute(text("UPDATE sites SET version = version + 1, name = 'Başkasının adı' WHERE id = :i"),
                    {"i": site.id})
    with pytest.raises(Conflict, match="changed by someone else"):
        service.update_site(session=session, actor=factories.admin(), code=site.code,
                            patch=SitePatch(version=site.version, name="Benim adım"))


def test_search_text_is_not_a_pattern(session: Session, sites: dict[str, Site]) -> None:
    def found(q: str) -> int:
        return service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(q=q))[1]

    assert found("%") == 0
    assert found("_") == 0


def test_search_ignores_turkish_case(session: Session, sites: dict[str, Site]) -> None:
    factories.site(session, "TR-99-A", name="GÜNEŞ LİSESİ", address="ŞEHİT ÖMER CADDESİ")
    factories.site(session, "TR-99-A", name="Işık Ortaokulu")

    def found(q: str) -> set[str]:
        rows, _ = service.list_sites(session=session, actor=factories.admin(), filters=SiteFilter(q=q))
        return {s.name for s in rows}

    assert found("ilkokulu") == found("İLKOKULU") == found("ILKOKULU") == {"Atatürk İlkokulu"}
    assert found("güneş lisesi") == found("Güneş") == {"GÜNEŞ LİSESİ"}
    assert found("şehit ömer") == {"GÜNEŞ LİSESİ"}
    assert found("ışık") == found("IŞIK") == found("işık") == {"Işık Ortaokulu"}



def test_commission_set_is_audited_and_scoped(session: Session) -> None:
    from kgys.accounts import service as account_service

    factories.tree(session)
    actor = factories.admin()
    set_actor(session, actor)
    com = service.set_commission(session=session, actor=actor, jurisdiction="TR-99-A",
                                 chair="Kaymakam Ayşe Yılmaz", police_member="İlçe Emniyet Müdürü")
    site = factories.site(session, district="TR-99-A")
    assert service.commission_for(session=session, site=site) == com
    n = session.execute(text("SELECT count(*) FROM audit_entries WHERE action='commission.create'")).scalar()
    assert n == 1
    local = account_service.actor_for(factories.user(session, "admin", scope=["TR-99-A"]))
    with pytest.raises(NotFound):
        service.set_commission(session=session, actor=local, jurisdiction="TR-98-C", chair="X")
    with pytest.raises(ValidationFailed, match="chair"):
        service.set_commission(session=session, actor=actor, jurisdiction="TR-99-B", chair=" ")
