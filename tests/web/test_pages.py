"""The server-rendered pages: sites, a site's page and forms, roll-out, compliance, camera forms, dashboard and
the audit log, as a signed-in person sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.audit.models import AuditEntry
from kgys.cameras import compliance as rules
from kgys.cameras.models import Camera, Recorder
from kgys.runtime import Runtime
from kgys.sites.models import RolloutEvent, Site
from tests import factories
from tests.web.conftest import browser_login

# --- a small HTML reader: enough to find elements by id, class or data attribute and read their text ---

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return " ".join(" ".join(c.split()) if isinstance(c, str) else c.text() for c in self.children).strip()

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        out = []
        for n in self.walk():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.attrs.get("class", "").split():
                continue
            if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(n)
        return out

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one {tag} {cls} {attrs}, found {len(found)}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def html(text: str) -> Node:
    b = _Builder()
    b.feed(text)
    return b.root


# --- fixtures ---


@dataclass
class World:
    a1: Site  # TR-99-A, compliant system
    a2: Site  # TR-99-A, no system
    b1: Site  # TR-99-B, no system
    c1: Site  # TR-98-C, other province


@pytest.fixture
def world(session: Session, rt: Runtime) -> World:
    factories.tree(session)
    a1 = factories.site(session, "TR-99-A", name="Merkez İlkokulu", priority=1)
    a2 = factories.site(session, "TR-99-A", name="Yeşil Anaokulu", type="kindergarten", priority=2)
    b1 = factories.site(session, "TR-99-B", name="Sahil Ortaokulu", type="middle_school", priority=3)
    c1 = factories.site(session, "TR-98-C", name="Gizli Dağ Lisesi", type="high_school", priority=1)
    factories.compliant_system(session, rt.box, a1.code)
    session.commit()
    return World(a1, a2, b1, c1)


def signed_in(client: TestClient, session: Session, role: str, scope: list[str], totp: bool = False) -> str:
    box = client.app.state.runtime.box if totp else None  # type: ignore[attr-defined]
    u = factories.user(session, role, scope=scope, box=box)
    session.commit()
    return browser_login(client, u)


# --- pages render for the roles that may see them ---


def test_every_page_renders_for_an_administrator(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "admin", ["TR"], totp=True)
    rec = session.scalar(select(Recorder).where(Recorder.site_id == world.a1.id))
    cam = session.scalar(select(Camera).where(Camera.site_id == world.a1.id))
    assert rec is not None and cam is not None
    code = world.a1.code
    pages = {
        "/sites": "site-table", f"/sites/{code}": "system", f"/sites/{code}/edit": "site-form",
        "/sites/new": "site-form", f"/sites/{code}/compliance": "compliance-status", "/dashboard": "map",
        "/audit": "audit-table", f"/sites/{code}/recorders/new": "device-form",
        f"/sites/{code}/recorders/{rec.id}/edit": "device-form", f"/sites/{code}/cameras/new": "device-form",
        f"/sites/{code}/cameras/{cam.id}/edit": "device-form",
    }
    for path, element in pages.items():
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:500])
        assert html(r.text).all(id=element), (path, element)


def test_site_list_shows_sites_in_scope_with_filters(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    page = html(client.get("/sites").text)
    assert page.one(id="site-total").text() == "3"
    codes = {tr.attrs["data-code"] for tr in page.one(id="site-table").all("tr") if "data-code" in tr.attrs}
    assert codes == {world.a1.code, world.a2.code, world.b1.code}
    form = page.one("form", id="site-filters")
    names = {el.attrs.get("name") for el in form.walk() if el.tag in {"input", "select"}}
    assert {"q", "type", "jurisdiction", "rollout_status", "compliance_status", "priority", "overdue"} <= names

    page = html(client.get("/sites", params={"jurisdiction": "TR-99-A", "compliance_status": "no_system"}).text)
    assert [tr.attrs["data-code"] for tr in page.all("tr") if "data-code" in tr.attrs] == [world.a2.code]
    page = html(client.get("/sites", params={"q": "sahil"}).text)
    assert page.one(id="site-total").text() == "1"
    row = page.one("tr", data_code=world.b1.code)
    assert "Ortaokul" in row.text()  # the type, in Turkish


def test_bad_filter_is_named_not_a_crash(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    r = client.get("/sites", params={"priority": "9", "lang": "en"})
    assert r.status_code == 422
    errors = html(r.text).one(id="form-errors").text()
    assert "Priority" in errors and "at most 5" in errors
    r = client.get("/sites", params={"jurisdiction": "NOPE"})
    assert r.status_code == 422
    assert "NOPE" in html(r.text).one(id="form-errors").text()


def test_site_list_is_paged(client: TestClient, session: Session, world: World) -> None:
    for i in range(52):
        factories.site(session, "TR-99-B", name=f"Sıra Okulu {i:02d}", priority=4)
    session.commit()
    signed_in(client, session, "commission_member", ["TR-99"])
    page = html(client.get("/sites").text)
    assert page.one(id="site-total").text() == "55"
    assert len([tr for tr in page.one(id="site-table").all("tr") if "data-code" in tr.attrs]) == 50
    nxt = page.all("a", rel="next")[0].attrs["href"]
    page2 = html(client.get(nxt).text)
    assert len([tr for tr in page2.one(id="site-table").all("tr") if "data-code" in tr.attrs]) == 5


def test_detail_shows_system_compliance_and_masks_credentials(client: TestClient, session: Session,
                                                              world: World) -> None:
    signed_in(client, session, "school_admin", ["TR-99-A"])
    csrf = client.get(f"/sites/{world.a1.code}").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(f"/sites/{world.a1.code}/recorders/new", data={
        "csrf_token": csrf, "name": "NVR-2", "channels": "16", "supported_storage_tb": "16",
        "installed_storage_tb": "8", "retention_days": "30", "remote_viewing": "1", "continuous_recording": "1",
        "cred_username": "operator7", "cred_password": "s3cret-pass-word"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.get(f"/sites/{world.a1.code}")
    assert r.status_code == 200
    assert "s3cret-pass-word" not in r.text and "operator7" not in r.text
    page = html(r.text)
    assert "o*******7" in page.one(id="recorder-table").text()
    assert page.one(id="compliance").all("li", cls="check-pass", data_code="recorder.present")
    assert page.all(id="add-camera") and page.all(id="add-recorder")
    assert not page.all(id="rollout-form")  # a school administrator does not move the roll-out


def test_roles_without_permission_get_the_403_page(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "operator", ["TR-99"])
    for path in ("/audit", f"/sites/{world.a1.code}/edit", "/sites/new", f"/sites/{world.a1.code}/cameras/new"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert r.headers["content-type"].startswith("text/html")
        assert "<h1>" in r.text
    page = html(client.get(f"/sites/{world.a1.code}").text)
    assert not page.all(id="edit-site") and not page.all(id="rollout-form") and not page.all(id="add-camera")


def test_dispatcher_has_no_dashboard(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "dispatcher", ["TR-99"])
    assert client.get("/dashboard").status_code == 403
    assert client.get("/sites").status_code == 200


def test_out_of_scope_site_is_not_found(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99-A"])
    for path in (f"/sites/{world.c1.code}", f"/sites/{world.c1.code}/edit", f"/sites/{world.c1.code}/compliance",
                 f"/sites/{world.b1.code}"):
        assert client.get(path).status_code == 404, path


def test_no_page_shows_an_out_of_scope_site(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "auditor", ["TR-99-A"])
    hidden = [world.c1.code, world.c1.name, world.b1.code, world.b1.name]
    for path in ("/sites", "/sites?q=Gizli", "/sites?jurisdiction=TR-98", "/dashboard", "/dashboard?jurisdiction=TR-98",
                 f"/sites/{world.a1.code}", "/audit", f"/sites/{world.a1.code}/compliance"):
        r = client.get(path)
        assert r.status_code in (200, 422), path
        for text in hidden:
            assert text not in r.text, (path, text)


def test_signed_out_visitor_is_sent_to_sign_in(client: TestClient, world: World) -> None:
    r = client.get("/sites", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


# --- editing ---


def _csrf(client: TestClient, path: str) -> str:
    return client.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def _edit_form(site: Site, **changes: str) -> dict[str, str]:
    form = {"version": str(site.version), "name": site.name, "type": site.type, "address": site.address,
            "latitude": str(site.latitude), "longitude": str(site.longitude), "student_count": "",
            "priority": str(site.priority), "contact_name": "", "contact_phone": "", "contact_email": ""}
    return form | changes


def test_editing_a_site_saves_and_is_audited(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}/edit")
    form = _edit_form(world.a2, name="Yeşil Vadi Anaokulu", student_count="120", contact_email="mudur@example.org")
    r = client.post(f"/sites/{world.a2.code}/edit", data=form | {"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    site = session.get(Site, world.a2.id)
    assert site is not None and site.name == "Yeşil Vadi Anaokulu" and site.student_count == 120
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "site.update",
                                                    AuditEntry.object_id == world.a2.code))
    assert entry is not None
    assert entry.actor.startswith("commission_member")
    assert "name" in entry.details and "student_count" in entry.details
    page = html(client.get(r.headers["location"]).text)
    assert page.all(id="saved")
    assert "Yeşil Vadi Anaokulu" in page.one("h1").text()


def test_edit_errors_are_shown_next_to_the_field(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}/edit")
    form = _edit_form(world.a2, latitude="123", contact_email="not-an-address", name=" ")
    r = client.post(f"/sites/{world.a2.code}/edit?lang=en", data=form | {"csrf_token": csrf})
    assert r.status_code == 422
    page = html(r.text)
    assert page.all(id="form-errors")
    assert "at most 90" in page.one(id="err-latitude").text()
    assert "e-mail" in page.one(id="err-contact_email").text()
    assert page.one(id="err-name").text() == "Required."
    assert page.one("input", id="f-latitude").attrs["value"] == "123"  # what was typed stays
    session.expire_all()
    assert session.get(Site, world.a2.id).name == world.a2.name  # type: ignore[union-attr]


def test_stale_version_shows_a_conflict(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}/edit")
    stale = _edit_form(world.a2, name="Benim Değişikliğim")
    first = _edit_form(world.a2, name="Önceki Değişiklik")
    assert client.post(f"/sites/{world.a2.code}/edit", data=first | {"csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    r = client.post(f"/sites/{world.a2.code}/edit?lang=en", data=stale | {"csrf_token": csrf})
    assert r.status_code == 409
    assert "Someone else changed this site" in html(r.text).one(id="form-errors").text()
    session.expire_all()
    assert session.get(Site, world.a2.id).name == "Önceki Değişiklik"  # type: ignore[union-attr]


def test_form_without_csrf_token_is_refused(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    r = client.post(f"/sites/{world.a2.code}/edit", data=_edit_form(world.a2, name="Sahte"))
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Site, world.a2.id).name == world.a2.name  # type: ignore[union-attr]


def test_new_site_is_registered_and_duplicate_code_named(client: TestClient, session: Session,
                                                         world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, "/sites/new")
    districts = [o.attrs["value"] for o in html(client.get("/sites/new").text).one("select", id="f-district")
                 .all("option") if o.attrs.get("value")]
    assert districts == ["TR-99-A", "TR-99-B"]
    form = {"csrf_token": csrf, "code": "NEW-001", "district": "TR-99-B", "name": "Yeni Lise", "type": "high_school",
            "priority": "2", "latitude": "", "longitude": "", "student_count": "", "address": "", "contact_name": "",
            "contact_phone": "", "contact_email": ""}
    r = client.post("/sites/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/sites/NEW-001")
    r = client.post("/sites/new?lang=en", data=form | {"code": world.a1.code})
    assert r.status_code == 409
    assert "already exists" in html(r.text).one(id="err-code").text()
    r = client.post("/sites/new", data=form | {"code": "NEW-002", "district": "TR-98-C"})
    assert r.status_code == 422
    assert html(r.text).all(id="err-district")


# --- roll-out ---


def test_rollout_change_is_recorded(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}")
    options = [o.attrs["value"] for o in html(client.get(f"/sites/{world.a2.code}").text)
               .one("select", id="f-status").all("option")]
    assert options == ["planned"]  # from 'none' the only move is one step forward
    r = client.post(f"/sites/{world.a2.code}/rollout", data={"csrf_token": csrf, "status": "planned",
                                                             "effective_on": "", "note": "Keşif yapıldı"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.get(Site, world.a2.id).rollout_status == "planned"  # type: ignore[union-attr]
    ev = session.scalar(select(RolloutEvent).where(RolloutEvent.site_id == world.a2.id))
    assert ev is not None and ev.note == "Keşif yapıldı"
    page = html(client.get(f"/sites/{world.a2.code}").text)
    assert "Keşif yapıldı" in page.one(id="rollout-history").text()


def test_rollout_skipping_a_step_is_refused_with_a_reason(client: TestClient, session: Session,
                                                         world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}")
    r = client.post(f"/sites/{world.a2.code}/rollout", data={"csrf_token": csrf, "status": "installed",
                                                             "effective_on": "", "note": ""})
    assert r.status_code == 422
    assert "one step at a time" in html(r.text).one(id="err-status").text()
    r = client.get(f"/sites/{world.a2.code}/rollout?lang=en")  # a language link on the re-shown form
    assert r.status_code == 200 and html(r.text).all(id="rollout-form")
    r = client.post(f"/sites/{world.a2.code}/rollout", data={"csrf_token": csrf, "status": "planned",
                                                             "effective_on": "2999-01-01", "note": ""})
    assert r.status_code == 422
    assert html(r.text).all(id="err-effective_on")
    session.expire_all()
    assert session.get(Site, world.a2.id).rollout_status == "none"  # type: ignore[union-attr]


# --- compliance ---


def test_compliance_page_lists_each_check_with_its_reason(client: TestClient, session: Session, rt: Runtime,
                                                          world: World) -> None:
    from kgys.audit.mechanism import set_actor
    from kgys.cameras.flows import systems as camera_flows
    from kgys.cameras.schemas import CameraIn

    actor = factories.admin()
    set_actor(session, actor)
    camera_flows.save_camera(session=session, actor=actor, box=rt.box, code=world.a1.code, data=CameraIn(
        name="Eski Kamera", recorder="NVR-1", megapixels=1.0, width=1280, height=720, poe=True, night_vision=False,
        position="yard", bitrate_kbps=2048))
    session.commit()
    signed_in(client, session, "commission_member", ["TR-99"])
    page = html(client.get(f"/sites/{world.a1.code}/compliance", params={"lang": "en"}).text)
    assert page.one(id="compliance-status").attrs["data-status"] == "non_compliant"
    mp = page.one("li", cls="check-fail", data_code="camera.megapixels")
    assert "1 camera below 2 MP: Eski Kamera. Replace it." in mp.text()
    assert page.one("li", cls="check-fail", data_code="camera.night_vision")
    assert page.one("li", cls="check-pass", data_code="camera.poe")
    page_tr = html(client.get(f"/sites/{world.a1.code}/compliance", params={"lang": "tr"}).text)
    assert "Eski Kamera" in page_tr.one("li", data_code="camera.megapixels").text()
    assert "Replace them" not in page_tr.one("li", data_code="camera.megapixels").text()


def test_storage_calculator(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    r = client.get(f"/sites/{world.a1.code}/compliance", params={"channels": "16", "kbps": "4096", "tb": "12"})
    page = html(r.text)
    days = round(rules.storage_days(12, 16 * 4096), 1)
    kbps = round(rules.bitrate_for_days(12, 16, 30))
    assert page.one(id="calc-days").one(cls="figure").text() == str(days)
    assert page.one(id="calc-kbps").one(cls="figure").text() == str(kbps)
    assert "bad" in page.one(id="calc-days").attrs["class"]  # 17 days is short of 30
    r = client.get(f"/sites/{world.a1.code}/compliance", params={"channels": "abc", "tb": "-1"})
    assert r.status_code == 422
    page = html(r.text)
    assert page.all(id="err-channels") and page.all(id="err-tb") and not page.all(id="calc-days")


# --- camera forms ---


def test_camera_forms_add_edit_and_remove(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "school_admin", ["TR-99-A"])
    code = world.a2.code
    csrf = _csrf(client, f"/sites/{code}/recorders/new")
    rec_form = {"csrf_token": csrf, "name": "NVR-A", "vendor": "Örnek", "model": "X16", "channels": "16",
                "supported_storage_tb": "16", "installed_storage_tb": "12", "retention_days": "30",
                "remote_viewing": "1", "continuous_recording": "1", "host": "192.0.2.5",
                "cred_username": "admin", "cred_password": "nvr-password-1"}
    assert client.post(f"/sites/{code}/recorders/new", data=rec_form, follow_redirects=False).status_code == 303
    rec = session.scalar(select(Recorder).where(Recorder.site_id == world.a2.id))
    assert rec is not None and rec.credentials
    stored = rec.credentials

    edit = client.get(f"/sites/{code}/recorders/{rec.id}/edit").text
    assert "nvr-password-1" not in edit
    assert html(edit).one("input", id="f-cred_username").attrs["value"] == ""  # never prefilled
    r = client.post(f"/sites/{code}/recorders/{rec.id}/edit",
                    data=rec_form | {"installed_storage_tb": "16", "cred_username": "", "cred_password": ""},
                    follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    rec = session.get(Recorder, rec.id)
    assert rec is not None and rec.installed_storage_tb == 16 and rec.credentials == stored  # unchanged

    r = client.post(f"/sites/{code}/recorders/{rec.id}/edit?lang=en", data=rec_form | {"cred_password": ""})
    assert r.status_code == 422
    assert "both" in html(r.text).one(id="err-cred_password").text()

    cam_form = {"csrf_token": csrf, "name": "Giriş", "recorder": "NVR-A", "megapixels": "4", "width": "2560",
                "height": "1440", "position": "entrance", "bitrate_kbps": "4096", "codec": "h265",
                "stream_url": "rtsp://192.0.2.6/stream1", "poe": "1", "night_vision": "1", "enabled": "1"}
    assert client.post(f"/sites/{code}/cameras/new", data=cam_form, follow_redirects=False).status_code == 303
    r = client.post(f"/sites/{code}/cameras/new?lang=en", data=cam_form | {"megapixels": "lots"})
    assert r.status_code == 422
    assert html(r.text).one(id="err-megapixels").text() == "Enter a number."
    r = client.post(f"/sites/{code}/cameras/new", data=cam_form)
    assert r.status_code == 409
    assert html(r.text).all(id="err-name")

    cam = session.scalar(select(Camera).where(Camera.site_id == world.a2.id))
    assert cam is not None
    r = client.post(f"/sites/{code}/cameras/{cam.id}/delete", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.scalar(select(Camera).where(Camera.site_id == world.a2.id)) is None
    page = html(client.get(f"/sites/{code}").text)
    assert "NVR-A" in page.one(id="recorder-table").text()
    assert page.one(id="camera-table").all("tr", cls="empty")


def test_camera_forms_of_another_site_are_not_found(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "school_admin", ["TR-99-A"])
    rec = session.scalar(select(Recorder).where(Recorder.site_id == world.a1.id))
    assert rec is not None
    assert client.get(f"/sites/{world.a2.code}/recorders/{rec.id}/edit").status_code == 404
    assert client.get(f"/sites/{world.c1.code}/cameras/new").status_code == 404


# --- dashboard ---


def test_dashboard_counts(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    page = html(client.get("/dashboard").text)

    def stat(name: str) -> str:
        return page.one(data_stat=name).one(cls="stat").text()

    assert (stat("total"), stat("compliant"), stat("non_compliant"), stat("no_system")) == ("3", "1", "0", "2")
    rows = {tr.attrs["data-code"]: tr for tr in page.one(id="district-table").all("tr") if "data-code" in tr.attrs}
    assert set(rows) == {"TR-99-A", "TR-99-B"}
    a = {td.attrs["data-col"]: td.text() for td in rows["TR-99-A"].all("td") if "data-col" in td.attrs}
    assert a == {"total": "2", "compliant": "1", "non_compliant": "0", "no_system": "1"}
    no_system = {tr.attrs["data-code"] for tr in page.one(id="no-system").all("tr") if "data-code" in tr.attrs}
    assert no_system == {world.a2.code, world.b1.code}
    assert page.one(id="by-rollout").one("tr", data_key="none").one(cls="count").text() == "3"
    data = json.loads(page.one("script", id="map-data").text())
    assert {p["code"] for p in data["points"]} == {world.a1.code, world.a2.code, world.b1.code}
    assert page.one(id="map").attrs["data-tiles"] == ""  # no tile server configured: markers on a plain map

    page = html(client.get("/dashboard", params={"jurisdiction": "TR-99-B"}).text)
    assert page.one(data_stat="total").one(cls="stat").text() == "1"


# --- audit log ---


def test_audit_page_is_scoped_and_filterable(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "auditor", ["TR-99-A"])
    page = html(client.get("/audit", params={"action": "site"}).text)
    rows = [tr for tr in page.one(id="audit-table").all("tr") if "data-seq" in tr.attrs]
    assert {tr.attrs["data-action"] for tr in rows} <= {"site.create", "site.update"}
    assert {a.text() for tr in rows for a in tr.all("a")} == {world.a1.code, world.a2.code}
    assert not page.all(id="verify-form")  # only a country-wide reader verifies the whole chain
    page = html(client.get("/audit", params={"site": world.a1.code, "action": "camera.create"}).text)
    assert page.one(id="audit-total").text() == "2"
    r = client.get("/audit", params={"site": world.c1.code})
    assert r.status_code == 422 and html(r.text).all(id="err-site")
    csrf = _csrf(client, "/audit")
    assert client.post("/audit/verify", data={"csrf_token": csrf}).status_code == 403


def test_audit_verify_for_a_country_wide_reader(client: TestClient, session: Session, world: World) -> None:
    signed_in(client, session, "admin", ["TR"], totp=True)
    csrf = _csrf(client, "/audit")
    r = client.post("/audit/verify", data={"csrf_token": csrf})
    assert r.status_code == 200
    result = html(r.text).one(id="verify-result")
    assert result.attrs["data-ok"] == "true"
    lang_link = html(r.text).one("a", data_lang="ru").attrs["href"]  # switching language after the POST
    r = client.get(f"/audit/verify{lang_link}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/audit"


# --- languages ---


@pytest.mark.parametrize(("lang", "heading"), [("tr", "Kurumlar"), ("en", "Sites"), ("ru", "Объекты")])
def test_site_list_in_each_language(client: TestClient, session: Session, world: World, lang: str,
                                    heading: str) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    page = html(client.get("/sites", params={"lang": lang}).text)
    assert page.one("h1").text() == heading
    assert page.one("html").attrs["lang"] == lang
    page = html(client.get("/sites", params={"q": "Merkez"}).text)  # the choice is remembered
    assert page.one("h1").text() == heading
    assert page.one("a", data_lang="en").attrs["href"] == "?q=Merkez&lang=en"  # filters survive a switch


def test_dashboard_map_json_is_scoped(client: TestClient, session: Session) -> None:
    factories.tree(session)
    inside = factories.site(session, district="TR-99-A")
    outside = factories.site(session, district="TR-98-C")
    u = factories.user(session, "commission_member", scope=["TR-99-A"])
    session.commit()
    browser_login(client, u)
    body = client.get("/dashboard/map.json").json()
    codes = {row[body["fields"].index("code")] for row in body["rows"]}
    assert inside.code in codes and outside.code not in codes
    client.cookies.clear()
    assert client.get("/dashboard/map.json", follow_redirects=False).status_code in (303, 401)


def test_control_characters_in_a_form_are_named_in_turkish(client: TestClient, session: Session,
                                                           world: World) -> None:
    signed_in(client, session, "commission_member", ["TR-99"])
    csrf = _csrf(client, f"/sites/{world.a2.code}/edit")
    form = _edit_form(world.a2, name="Okul \u202eIGEL", address="Cd.\x00 5")
    r = client.post(f"/sites/{world.a2.code}/edit?lang=tr", data=form | {"csrf_token": csrf})
    assert r.status_code == 422
    page = html(r.text)
    assert page.one(id="err-name").text() == ("6. konumda görünmeyen bir denetim ya da yazı yönü karakteri "
                                              "(U+202E) var; onu silin")
    assert "U+0000" in page.one(id="err-address").text()
    session.expire_all()
    assert session.get(Site, world.a2.id).name == world.a2.name  # type: ignore[union-attr]
