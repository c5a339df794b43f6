"""The JSON API of sites, cameras, dashboard, map, jurisdictions and audit, as a client uses it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.audit.models import AuditEntry
from kgys.audit.signing import public_pem
from kgys.runtime import Runtime
from kgys.sites.models import Commission
from tests import factories
from tests.web.conftest import browser_login
from tests.web.test_import_api import page_csrf

API = "/api/v1"
TokenFor = Callable[[User], dict[str, str]]
SECRET = "Kamera-Parola-19"


def _recorder(**kw: object) -> dict[str, object]:
    body: dict[str, object] = {"name": "NVR-1", "channels": 16, "supported_storage_tb": 16,
                               "installed_storage_tb": 12, "remote_viewing": True, "continuous_recording": True,
                               "retention_days": 30}
    body.update(kw)
    return body


def _camera(name: str, **kw: object) -> dict[str, object]:
    body: dict[str, object] = {"name": name, "recorder": "NVR-1", "megapixels": 2.0, "width": 1920,
                               "height": 1080, "poe": True, "night_vision": True, "position": "entrance",
                               "bitrate_kbps": 4096}
    body.update(kw)
    return body


@pytest.fixture
def member(session: Session, token_for: TokenFor) -> dict[str, str]:
    """A commission member of district TR-99-A (tree built)."""
    factories.tree(session)
    return token_for(factories.user(session, "commission_member", scope=["TR-99-A"]))


def test_register_a_site_and_follow_its_rollout(client: TestClient, session: Session, member: dict[str, str]
                                                ) -> None:
    r = client.post(f"{API}/sites", headers=member, json={
        "code": "758492", "name": "Gazi İlkokulu", "type": "primary_school", "district": "TR-99-A",
        "latitude": 39.93, "longitude": 32.85, "student_count": 640, "priority": 1,
        "contact_email": "gazi@meb.k12.tr"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert (site["district"], site["province"], site["rollout_status"], site["compliance_status"]) == (
        "TR-99-A", "TR-99", "none", "no_system")
    assert client.get(f"{API}/sites/758492", headers=member).json()["name"] == "Gazi İlkokulu"

    r = client.patch(f"{API}/sites/758492", headers=member, json={"version": site["version"], "priority": 2,
                                                                   "contact_name": "Ayşe Yılmaz"})
    assert r.status_code == 200, r.text
    assert (r.json()["priority"], r.json()["contact_name"], r.json()["version"]) == (2, "Ayşe Yılmaz", 2)

    r = client.post(f"{API}/sites/758492/rollout", headers=member, json={"status": "planned", "note": "2025 planı"})
    assert r.status_code == 201, r.text
    assert (r.json()["from_status"], r.json()["to_status"], r.json()["note"]) == ("none", "planned", "2025 planı")
    r = client.post(f"{API}/sites/758492/rollout", headers=member, json={"status": "installed"})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "status"
    history = client.get(f"{API}/sites/758492/rollout", headers=member).json()
    assert [(h["from_status"], h["to_status"]) for h in history] == [("none", "planned")]
    assert history[0]["username"].startswith("commission_member")
    assert client.get(f"{API}/sites/758492", headers=member).json()["rollout_status"] == "planned"

    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.site_id.is_not(None))
                              .order_by(AuditEntry.seq)).all()
    assert actions == ["site.create", "site.update", "rollout.create", "site.update"]


def test_list_filters_and_pages(client: TestClient, session: Session, member: dict[str, str]) -> None:
    for i in range(5):
        factories.site(session, "TR-99-A", name=f"Okul {i}", priority=1 + i % 2)
    factories.site(session, "TR-99-A", name="Güneş Anaokulu", type="kindergarten", priority=1)
    factories.site(session, "TR-99-B", name="Başka İlçe Okulu")
    session.commit()
    r = client.get(f"{API}/sites?per_page=4&page=2", headers=member).json()
    assert (r["total"], r["page"], r["per_page"], len(r["items"])) == (6, 2, 4, 2)
    assert [s["name"] for s in client.get(f"{API}/sites?type=kindergarten", headers=member).json()["items"]] == [
        "Güneş Anaokulu"]
    assert client.get(f"{API}/sites?priority=1", headers=member).json()["total"] == 4
    assert client.get(f"{API}/sites?q=güneş", headers=member).json()["total"] == 1
    assert client.get(f"{API}/sites?jurisdiction=TR-99-B", headers=member).json()["total"] == 0
    assert client.get(f"{API}/sites?compliance_status=no_system&rollout_status=none",
                      headers=member).json()["total"] == 6


def test_overdue_uses_the_configured_targets(client: TestClient, session: Session, rt: Runtime,
                                             member: dict[str, str]) -> None:
    late = factories.site(session, "TR-99-A", name="Geç Kalan Okul")
    on_time = factories.site(session, "TR-99-A", name="Zamanında Okul")
    allowed = rt.settings.rollout.max_days["none"]
    late.rollout_since = date.today() - timedelta(days=allowed + 5)
    on_time.rollout_since = date.today() - timedelta(days=allowed)
    session.commit()
    items = client.get(f"{API}/sites?overdue=true", headers=member).json()["items"]
    assert [s["code"] for s in items] == [late.code]
    dash = client.get(f"{API}/dashboard", headers=member).json()
    assert [(o["code"], o["days_overdue"]) for o in dash["overdue"]] == [(late.code, 5)]


def test_system_shows_credentials_masked_only(client: TestClient, session: Session, token_for: TokenFor) -> None:
    factories.tree(session)
    site = factories.site(session, "TR-99-A")
    head = token_for(factories.user(session, "school_admin", scope=["TR-99-A"]))
    r = client.post(f"{API}/sites/{site.code}/recorders", headers=head,
                    json=_recorder(credentials={"username": "admin", "password": SECRET}))
    assert r.status_code == 201, r.text
    assert r.json()["credentials"] == "a***n / ••••••"
    r = client.post(f"{API}/sites/{site.code}/cameras", headers=head,
                    json=_camera("Giriş", stream_url="rtsp://10.1.2.3:554/stream1",
                                 credentials={"username": "izleyici", "password": SECRET}))
    assert r.status_code == 201, r.text
    assert r.json()["recorder"] == "NVR-1"
    system = client.get(f"{API}/sites/{site.code}/system", headers=head)
    assert system.status_code == 200
    assert SECRET not in system.text
    body = system.json()
    assert [c["credentials"] for c in body["cameras"]] == ["i******i / ••••••"]
    assert body["cameras"][0]["stream_url"] == "rtsp://10.1.2.3:554/stream1"
    raw = session.execute(text("SELECT credentials FROM cameras")).scalar_one()
    assert SECRET not in raw


def test_compliance_follows_changes_to_the_system(client: TestClient, session: Session, token_for: TokenFor
                                                  ) -> None:
    factories.tree(session)
    site = factories.site(session, "TR-99-A")
    head = token_for(factories.user(session, "school_admin", scope=["TR-99-A"]))
    url = f"{API}/sites/{site.code}"
    assert client.get(f"{url}/compliance", headers=head).json()["status"] == "no_system"
    rec = client.post(f"{url}/recorders", headers=head, json=_recorder(installed_storage_tb=8)).json()
    cams = [client.post(f"{url}/cameras", headers=head,
                        json=_camera(f"K{i}", position="perimeter" if i else "entrance")).json()
            for i in range(16)]
    report = client.get(f"{url}/compliance", headers=head).json()
    assert report["status"] == "non_compliant"
    assert (report["storage_days"], report["max_kbps_per_camera_for_30_days"]) == (11.3, 1543)
    [failed] = [c for c in report["checks"] if not c["passed"]]
    assert failed["code"] == "recorder.storage_days"
    assert failed["params"] == {"days": 11.3, "installed_tb": 8.0, "max_kbps_per_camera": 1543}
    assert client.get(url, headers=head).json()["compliance_status"] == "non_compliant"

    r = client.put(f"{url}/recorders/{rec['id']}", headers=head,
                   json=_recorder(supported_storage_tb=24, installed_storage_tb=24))
    assert r.status_code == 200, r.text
    assert client.get(url, headers=head).json()["compliance_status"] == "compliant"
    r = client.put(f"{url}/cameras/{cams[0]['id']}", headers=head, json=_camera("K0", night_vision=False))
    assert r.status_code == 200 and r.json()["night_vision"] is False
    assert client.get(url, headers=head).json()["compliance_status"] == "non_compliant"
    assert client.delete(f"{url}/cameras/{cams[0]['id']}", headers=head).status_code == 204
    assert client.get(url, headers=head).json()["compliance_status"] == "non_compliant"  # front now uncovered
    assert client.delete(f"{url}/cameras/{cams[0]['id']}", headers=head).status_code == 404
    for cam in cams[1:]:
        assert client.delete(f"{url}/cameras/{cam['id']}", headers=head).status_code == 204
    assert client.delete(f"{url}/recorders/{rec['id']}", headers=head).status_code == 204
    assert client.get(url, headers=head).json()["compliance_status"] == "no_system"


def test_commission_dashboard_map_and_jurisdictions(client: TestClient, session: Session, rt: Runtime,
                                                    member: dict[str, str]) -> None:
    a = factories.site(session, "TR-99-A", name="Kuzey Okulu")
    factories.compliant_system(session, rt.box, a.code)
    b = factories.site(session, "TR-99-A", name="Güney Okulu", latitude=None)
    session.add(Commission(jurisdiction_id=a.jurisdiction_id, chair="Kaymakam Ali Demir",
                           police_member="Emniyet Müdürü"))
    session.commit()
    com = client.get(f"{API}/sites/{a.code}/commission", headers=member).json()
    assert (com["jurisdiction"], com["kind"], com["chair"]) == ("TR-99-A", "district", "Kaymakam Ali Demir")

    dash = client.get(f"{API}/dashboard?jurisdiction=TR-99-A", headers=member).json()
    assert (dash["jurisdiction"], dash["total"]) == ("TR-99-A", 2)
    assert dash["by_compliance"] == {"compliant": 1, "non_compliant": 0, "no_system": 1}
    assert [s["code"] for s in dash["no_system"]] == [b.code]
    r = client.get(f"{API}/dashboard?jurisdiction=TR-00", headers=member)
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "jurisdiction"

    points = client.get(f"{API}/map", headers=member).json()
    assert points == [{"code": a.code, "name": "Kuzey Okulu", "lat": 39.9, "lon": 32.8, "compliance": "compliant",
                       "rollout": "none", "priority": 2}]
    assert client.get(f"{API}/map?jurisdiction=TR-00", headers=member).status_code == 422

    kinds = client.get(f"{API}/jurisdictions?kind=district", headers=member).json()
    assert [j["code"] for j in kinds] == ["TR-99-A"]
    assert client.get(f"{API}/jurisdictions?kind=village", headers=member).status_code == 422


def test_a_country_wide_admin_adds_a_district(client: TestClient, session: Session, token_for: TokenFor) -> None:
    factories.tree(session)
    admin = token_for(factories.user(session, "admin", scope=["TR"]))
    r = client.post(f"{API}/jurisdictions", headers=admin,
                    json={"code": "TR-98-D", "name": "Yeni İlçe", "kind": "district", "parent": "TR-98"})
    assert r.status_code == 201, r.text
    assert r.json()["path"] == "/TR/TR-98/TR-98-D/"
    r = client.post(f"{API}/sites", headers=admin, json={"code": "YENI-1", "name": "Yeni İlçe Okulu",
                                                         "type": "college", "district": "TR-98-D"})
    assert r.status_code == 201 and r.json()["province"] == "TR-98"
    r = client.post(f"{API}/jurisdictions", headers=admin,
                    json={"code": "TR-98-D", "name": "Yine", "kind": "district", "parent": "TR-98"})
    assert r.status_code == 409


def test_audit_list_is_scoped_and_filtered(client: TestClient, session: Session, rt: Runtime,
                                           token_for: TokenFor) -> None:
    factories.tree(session)
    mine = factories.site(session, "TR-99-A", name="Bizim Okul")
    theirs = factories.site(session, "TR-98-C", name="Uzak Okul")
    factories.compliant_system(session, rt.box, mine.code)
    factories.compliant_system(session, rt.box, theirs.code)
    scoped = token_for(factories.user(session, "supervisor", scope=["TR-99-A"]))
    country = token_for(factories.user(session, "auditor", scope=["TR"]))

    page = client.get(f"{API}/audit?per_page=500", headers=scoped).json()
    assert sorted(e["action"] for e in page["items"]) == [
        "camera.create", "camera.create", "recorder.create", "site.create", "site.update", "site.update"]
    assert page["total"] == 6
    assert {e["site"] for e in page["items"]} == {mine.code}
    assert "Uzak Okul" not in str(page) and theirs.code not in str(page)
    assert [e["seq"] for e in page["items"]] == sorted((e["seq"] for e in page["items"]), reverse=True)

    everything = client.get(f"{API}/audit?per_page=500", headers=country).json()
    assert {e["action"] for e in everything["items"]} >= {"site.create", "user.create", "token.issue"}
    cams = client.get(f"{API}/audit?action=camera&site={theirs.code}", headers=country).json()
    assert [e["action"] for e in cams["items"]] == ["camera.create", "camera.create"]
    assert {e["site"] for e in cams["items"]} == {theirs.code}
    assert client.get(f"{API}/audit?action=camera.create", headers=country).json()["total"] == 4
    assert client.get(f"{API}/audit?action=camera.cre", headers=country).json()["total"] == 0
    setup = client.get(f"{API}/audit?actor=test-setup&per_page=2", headers=country).json()
    assert setup["total"] == session.scalar(select(func.count()).where(AuditEntry.actor == "test-setup")) > 2
    assert [e["actor"] for e in setup["items"]] == ["test-setup", "test-setup"]
    assert client.get(f"{API}/audit?site={theirs.code}", headers=scoped).status_code == 404
    assert client.get(f"{API}/audit?per_page=501", headers=scoped).status_code == 422


def test_audit_verify_and_public_key(client: TestClient, session: Session, rt: Runtime, token_for: TokenFor
                                     ) -> None:
    factories.tree(session)
    factories.site(session, "TR-99-A")
    auditor = token_for(factories.user(session, "auditor", scope=["TR"]))
    local = token_for(factories.user(session, "auditor", scope=["TR-99-A"]))
    r = client.get(f"{API}/audit/verify", headers=auditor)
    assert r.status_code == 200
    report = r.json()
    assert report["ok"] is True and report["problems"] == []
    assert report["entries"] == report["last_seq"] == report["unsigned_tail"] >= 4
    assert client.get(f"{API}/audit/verify", headers=local).status_code == 403

    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_entries_no_update"))
    conn.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 2"))
    session.commit()
    report = client.get(f"{API}/audit/verify", headers=auditor).json()
    assert report["ok"] is False
    assert report["problems"] == [{"seq": 2, "kind": "altered",
                                   "message": "entry 2 does not match its hash: altered or forged"}]

    key = client.get(f"{API}/audit/public-key")
    assert key.status_code == 200
    assert key.text == public_pem(rt.signer.public) and key.text.startswith("-----BEGIN PUBLIC KEY-----")


def test_not_signed_in_is_401(client: TestClient, session: Session) -> None:
    factories.tree(session)
    site = factories.site(session, "TR-99-A")
    session.commit()
    r = client.get(f"{API}/sites/{site.code}")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.get(f"{API}/sites", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


@pytest.mark.parametrize("path", ["/sites", "/sites/NO-SUCH-SITE", "/audit"])
def test_the_most_read_lists_tell_an_unsigned_caller_nothing_but_which_parameters_are_malformed(
        client: TestClient, path: str) -> None:
    # The site list, a site and the audit log read their caller on the handler's thread (deps.Caller): their
    # parameters are checked first. A site's existence is never told to an unsigned caller.
    assert client.get(f"{API}{path}").status_code == 401
    assert client.get(f"{API}{path}", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    r = client.get(f"{API}{path}?page=0&per_page=9999")
    assert r.status_code == (401 if path == "/sites/NO-SUCH-SITE" else 422), r.text


def test_a_patch_with_null_clears_a_text_field(client: TestClient, session: Session, member: dict[str, str]) -> None:
    factories.site(session, "TR-99-A", code="NULL-1", address="Okul Sk. 1", contact_name="Müdür",
                   contact_phone="+90 312 000 00 00")
    session.commit()
    site = client.get(f"{API}/sites/NULL-1", headers=member).json()
    r = client.patch(f"{API}/sites/NULL-1", headers=member, json={
        "version": site["version"], "address": None, "contact_name": None, "contact_phone": None})
    assert r.status_code == 200, r.text
    assert (r.json()["address"], r.json()["contact_name"], r.json()["contact_phone"]) == ("", "", "")


def test_a_site_edit_reads_its_caller_on_the_handler_thread_and_still_checks_a_browser_session_for_csrf(
        client: TestClient, session: Session) -> None:
    # The site edit and the legal holds read their caller on the handler's thread too (deps.Caller): a good body
    # without a caller is 401, a malformed one 422; a browser session needs the page's CSRF token, as before.
    factories.tree(session)
    factories.site(session, "TR-99-A", code="EDIT-1")
    user = factories.user(session, "commission_member", scope=["TR-99-A"])
    session.commit()
    assert client.patch(f"{API}/sites/EDIT-1", json={"version": 1, "priority": 2}).status_code == 401
    assert client.patch(f"{API}/sites/EDIT-1", json={"priority": "high"}).status_code == 422
    assert client.post(f"{API}/holds/1/release", json={"reason": "bitti"}).status_code == 401
    browser_login(client, user)
    version = client.get(f"{API}/sites/EDIT-1").json()["version"]
    r = client.patch(f"{API}/sites/EDIT-1", json={"version": version, "priority": 2})
    assert r.status_code == 403 and "CSRF" in r.text
    csrf = page_csrf(client.get("/sites").text)
    r = client.patch(f"{API}/sites/EDIT-1", json={"version": version, "priority": 2}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["priority"] == 2
