"""Legal holds and recording alerts over the API and in the web UI: placing, listing, reading and releasing
holds, the field named for bad input, scope and role, the pages' forms with their CSRF token, and the
alerts a user sees by jurisdiction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.alerts.models import Alert
from kgys.audit.models import AuditEntry
from kgys.cameras.models import Camera
from kgys.recording import alerts
from kgys.recording import pages as recording_pages
from kgys.recording.flows import holds as hold_flows
from kgys.recording.models import LegalHold
from kgys.runtime import Runtime
from kgys.sites.models import Site
from kgys.web.app import create_app
from tests import factories
from tests.web.conftest import browser_login
from tests.web.test_pages import html

API = "/api/v1"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)
REASON = "Soruşturma 2026/117: okul önünde yaralama"
BASIS = "Ankara C. Başsavcılığı 2026/117 soruşturma no."


@dataclass
class World:
    """Three sites (TR-99-A, TR-99-B, TR-98-C), each with cameras 'Giriş' and 'Çevre'; users by role."""

    session: Session
    a: Site
    b: Site
    c: Site
    users: dict[str, User]

    def camera(self, site: Site, name: str = "Giriş") -> Camera:
        """A camera of a site, by name."""
        cam = self.session.scalar(select(Camera).where(Camera.site_id == site.id, Camera.name == name))
        assert cam is not None
        return cam

    def hold(self, site: Site, **kw: Any) -> LegalHold:
        """A hold placed by a country-wide administrator."""
        args: dict[str, Any] = {"camera": "Giriş", "start": T0, "end": T0 + 2 * H, "reason": REASON,
                                "legal_basis": BASIS}
        args.update(kw)
        hold = hold_flows.add_hold(session=self.session, actor=factories.admin(), site_code=site.code, **args)
        self.session.commit()
        return hold


@pytest.fixture
def world(session: Session, rt: Runtime) -> World:
    factories.tree(session)
    a = factories.site(session, "TR-99-A", name="Merkez İlkokulu")
    b = factories.site(session, "TR-99-B", name="Sahil Ortaokulu")
    c = factories.site(session, "TR-98-C", name="Gizli Dağ Lisesi")
    for s in (a, b, c):
        factories.compliant_system(session, rt.box, s.code)
    second_factor = ("investigator", "supervisor")
    users = {role: factories.user(session, role, scope=["TR-99-A"], box=rt.box if role in second_factor else None)
             for role in ("investigator", "judicial_liaison", "auditor", "operator", "supervisor")}
    users["admin"] = factories.user(session, "admin", scope=["TR"])
    session.commit()
    return World(session, a, b, c, users)


Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def web(rt: Runtime) -> Iterator[TestClient]:
    """A client of an app whose database work is rolled back after the test."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def auth(world: World, rt: Runtime) -> Headers:
    """Bearer headers for the world's user of a role."""

    def make(role: str) -> dict[str, str]:
        tok = account_service.issue_token(session=world.session, settings=rt.settings.security,
                                          user=world.users[role])
        world.session.commit()
        return {"Authorization": f"Bearer {tok}"}

    return make


def body(site: Site | None = None, **kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"site": site.code if site else None, "camera": "Giriş", "from": "2026-03-01T08:00:00Z",
                            "to": "2026-03-01T12:00:00+03:00", "reason": REASON, "legal_basis": BASIS}
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def holds_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(LegalHold)) or 0)


def fields(response: Any) -> set[str]:
    return {f["field"] for f in response.json()["error"].get("fields", [])}


# --- the API --------------------------------------------------------------------------------------------------


def test_api_places_lists_reads_and_releases_a_hold(web: TestClient, world: World, auth: Headers,
                                                    session: Session) -> None:
    h = auth("investigator")
    r = web.post(f"{API}/holds", json=body(world.a, until="2099-01-01T00:00:00Z"), headers=h)
    assert r.status_code == 201, r.text
    placed = r.json()
    assert placed["site"] == world.a.code and placed["camera"] == "Giriş"
    assert placed["camera_id"] == world.camera(world.a).id
    assert (datetime.fromisoformat(placed["from"]), datetime.fromisoformat(placed["to"])) == (T0, T0 + H)
    assert placed["state"] == "active" and placed["reason"] == REASON and placed["legal_basis"] == BASIS
    assert placed["created_by"] == world.users["investigator"].username
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "legal_hold.create")).all()
    assert (entry.reason, entry.legal_basis, entry.object_id) == (REASON, BASIS, str(placed["id"]))

    assert web.get(f"{API}/holds/{placed['id']}", headers=h).json() == placed
    listed = web.get(f"{API}/holds", headers=h).json()["items"]
    assert [x["id"] for x in listed] == [placed["id"]]
    assert [x["id"] for x in web.get(f"{API}/holds", params={"site": world.a.code, "camera": "Giriş"},
                                        headers=h).json()["items"]] == [placed["id"]]
    other = web.get(f"{API}/holds", params={"camera_id": world.camera(world.a, "Çevre").id}, headers=h).json()
    assert other == {"items": [], "total": 0, "page": 1, "per_page": 50}

    r = web.post(f"{API}/holds/{placed['id']}/release", json={"reason": "takipsizlik kararı"}, headers=h)
    assert r.status_code == 200, r.text
    released = r.json()
    assert released["state"] == "released" and released["released_by"] == world.users["investigator"].username
    assert web.get(f"{API}/holds", params={"active": "true"}, headers=h).json()["items"] == []
    assert [x["state"] for x in web.get(f"{API}/holds", headers=h).json()["items"]] == ["released"]
    again = web.post(f"{API}/holds/{placed['id']}/release", json={"reason": "bir daha"}, headers=h)
    assert again.status_code == 409 and "already released" in again.json()["error"]["message"]
    assert session.scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "legal_hold.update")) == 1


def test_api_places_a_hold_by_camera_number_and_shows_a_lapsed_one(web: TestClient, world: World,
                                                                   auth: Headers) -> None:
    h = auth("judicial_liaison")
    cam = world.camera(world.a, "Çevre")
    r = web.post(f"{API}/holds", json=body(camera=None, camera_id=cam.id), headers=h)
    assert r.status_code == 201, r.text
    assert (r.json()["site"], r.json()["camera"]) == (world.a.code, "Çevre")
    lapsed = world.hold(world.a, until=datetime.now(UTC) + H)
    lapsed.until = datetime.now(UTC) - H
    world.session.commit()
    states = {x["id"]: x["state"] for x in web.get(f"{API}/holds", headers=h).json()["items"]}
    assert states == {r.json()["id"]: "active", lapsed.id: "expired"}
    active = web.get(f"{API}/holds", params={"active": "true", "camera_id": cam.id}, headers=h).json()["items"]
    assert [x["id"] for x in active] == [r.json()["id"]]


def test_holds_come_in_pages_newest_first(web: TestClient, world: World, auth: Headers,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    placed = [world.hold(world.a, reason=f"{REASON} {n}").id for n in range(5)]
    h = auth("investigator")
    first = web.get(f"{API}/holds", params={"per_page": 2}, headers=h).json()
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    pages = [web.get(f"{API}/holds", params={"per_page": 2, "page": n}, headers=h).json()["items"]
             for n in (1, 2, 3, 4)]
    assert [[x["id"] for x in items] for items in pages] == [placed[:2:-1], placed[2:0:-1], placed[:1], []]
    assert web.get(f"{API}/holds", params={"per_page": 501}, headers=h).status_code == 422

    monkeypatch.setattr(recording_pages, "PER_PAGE", 2)
    browser_login(web, world.users["investigator"])
    second = html(web.get("/holds", params={"page": 2, "state": "active"}).text)
    assert [int(r.attrs["data-hold"]) for r in second.all("tr") if "data-hold" in r.attrs] == placed[2:0:-1]
    assert second.one("span", id="hold-total").text() == "5"
    links = {a.attrs["rel"]: a.attrs["href"] for a in second.all("a") if a.attrs.get("rel") in ("prev", "next")}
    assert links == {"prev": "/holds?state=active&page=1", "next": "/holds?state=active&page=3"}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        pytest.param({"reason": None}, "reason", "Field required", id="missing reason"),
        pytest.param({"reason": "  "}, "reason", "is required", id="blank reason"),
        pytest.param({"legal_basis": ""}, "legal_basis", "is required", id="no legal basis"),
        pytest.param({"from": "2026-03-01T12:00:00Z", "to": "2026-03-01T11:00:00Z"}, "to", "before the start",
                     id="from after to"),
        pytest.param({"from": "2026-03-01T08:00:00"}, "from", "time zone", id="naive from"),
        pytest.param({"to": "2026-03-01T09:00:00"}, "to", "time zone", id="naive to"),
        pytest.param({"until": "2020-01-01T00:00:00Z"}, "until", "future", id="until in the past"),
        pytest.param({"from": "yesterday"}, "from", "datetime", id="not a time"),
        pytest.param({"camera": "Arka bahçe"}, "camera", "no camera 'Arka bahçe'", id="unknown camera"),
        pytest.param({"camera": None}, "camera", "is required", id="no camera"),
        pytest.param({"camera": None, "camera_id": 2_000_000_000}, "camera_id", "no camera", id="unknown camera id"),
        pytest.param({"site": "YOK-1"}, "site", "no site 'YOK-1'", id="unknown site"),
        pytest.param({"colour": "red"}, "colour", "Extra inputs", id="unknown field"),
    ],
)
def test_api_bad_input_names_the_field_and_writes_nothing(web: TestClient, world: World,
                                                          auth: Headers, session: Session, change: dict[str, Any],
                                                          field: str, says: str) -> None:
    data = body(world.a) | change
    r = web.post(f"{API}/holds", json={k: v for k, v in data.items() if v is not None},
                    headers=auth("investigator"))
    assert r.status_code == 422, r.text
    assert field in fields(r), r.text
    assert says in r.text
    assert holds_count(session) == 0


def test_api_release_needs_a_reason(web: TestClient, world: World, auth: Headers) -> None:
    hold = world.hold(world.a)
    for sent in ({}, {"reason": " "}):
        r = web.post(f"{API}/holds/{hold.id}/release", json=sent, headers=auth("investigator"))
        assert r.status_code == 422 and fields(r) == {"reason"}, r.text
    assert web.get(f"{API}/holds/{hold.id}", headers=auth("investigator")).json()["state"] == "active"


def test_api_outside_the_scope_is_not_found(web: TestClient, world: World, auth: Headers) -> None:
    h = auth("investigator")
    inside, outside = world.hold(world.a), world.hold(world.c)
    missing = outside.id + 1000
    for path in (f"/holds/{outside.id}", f"/holds/{missing}"):
        assert web.get(f"{API}{path}", headers=h).status_code == 404
        r = web.post(f"{API}{path}/release", json={"reason": "deneme"}, headers=h)
        assert r.status_code == 404, r.text
    assert web.get(f"{API}/holds/{outside.id}", headers=h).json()["error"]["message"] == f"no legal hold {outside.id}"
    r = web.get(f"{API}/holds", params={"site": world.c.code}, headers=h)
    assert r.status_code == 404 and world.c.name not in r.text
    assert web.get(f"{API}/holds", params={"camera_id": world.camera(world.c).id}, headers=h).status_code == 404
    assert [x["id"] for x in web.get(f"{API}/holds", headers=h).json()["items"]] == [inside.id]
    # placing on a camera outside the scope is answered as for one that does not exist
    out = web.post(f"{API}/holds", json=body(world.c), headers=h)
    absent = web.post(f"{API}/holds", json=body(world.c) | {"site": "YOK-9"}, headers=h)
    assert (out.status_code, fields(out)) == (absent.status_code, fields(absent)) == (422, {"site"})
    assert out.text.replace(world.c.code, "YOK-9") == absent.text
    by_id = web.post(f"{API}/holds", json=body(camera=None, camera_id=world.camera(world.c).id), headers=h)
    assert (by_id.status_code, fields(by_id)) == (422, {"camera_id"})
    everyone = web.get(f"{API}/holds", headers=auth("admin")).json()["items"]
    assert {x["id"] for x in everyone} == {inside.id, outside.id}


def test_api_roles(web: TestClient, world: World, auth: Headers) -> None:
    hold = world.hold(world.a)
    auditor, operator = auth("auditor"), auth("operator")
    assert web.get(f"{API}/holds", headers=auditor).status_code == 200
    assert web.get(f"{API}/holds/{hold.id}", headers=auditor).status_code == 200
    r = web.post(f"{API}/holds", json=body(world.a), headers=auditor)
    assert r.status_code == 403 and "holds.manage" in r.text
    r = web.post(f"{API}/holds", json=body(camera=None, camera_id=world.camera(world.a).id), headers=auditor)
    assert r.status_code == 403
    assert web.post(f"{API}/holds/{hold.id}/release", json={"reason": "x y z"}, headers=auditor).status_code == 403
    for method, path in (("GET", "/holds"), ("GET", f"/holds/{hold.id}")):
        assert web.request(method, f"{API}{path}", headers=operator).status_code == 403
    assert web.post(f"{API}/holds", json=body(world.a)).status_code == 401


# --- the pages ------------------------------------------------------------------------------------------------


def _csrf(web: TestClient, path: str) -> str:
    return web.get(path).text.split('name="csrf_token" value="')[1].split('"')[0]


def test_page_form_places_and_releases_a_hold(web: TestClient, world: World, session: Session) -> None:
    # a supervisor plays back operationally and holds from there (an investigator plays back only under a request)
    browser_login(web, world.users["supervisor"])
    cam = world.camera(world.a, "Çevre")
    playback = web.get(f"/cameras/{cam.id}/playback", params={"from": "2026-03-01T08:00:00Z",
                                                                  "to": "2026-03-01T08:30:00Z"})
    assert playback.status_code == 200, playback.text[:300]
    link = html(playback.text).one("a", id="hold-range").attrs["href"]
    page = web.get(link)
    assert page.status_code == 200
    form = html(page.text).one("form", id="hold-form")
    values = {i.attrs["name"]: i.attrs.get("value", "") for i in form.all("input")}
    assert values["site"] == world.a.code and values["camera"] == "Çevre"
    # the playback page's UTC range, in the reader's zone (Europe/Istanbul, UTC+3) in datetime-local pickers
    assert (values["from"], values["to"]) == ("2026-03-01T11:00:00", "2026-03-01T11:30:00")
    assert form.one("input", name="from").attrs["type"] == "datetime-local"

    filled = values | {"reason": REASON, "legal_basis": BASIS}
    no_token = web.post("/holds/new", data={k: v for k, v in filled.items() if k != "csrf_token"},
                           follow_redirects=False)
    assert no_token.status_code == 403 and holds_count(session) == 0
    for wrong, field in (({"reason": ""}, "reason"), ({"to": "2026-03-01T07:00"}, "to"), ({"from": ""}, "from")):
        bad = web.post("/holds/new", data=filled | wrong)
        assert bad.status_code == 422, wrong
        assert [n.attrs["id"] for n in html(bad.text).all(cls="field-error")] == [f"err-{field}"]
        assert html(bad.text).one("input", name="legal_basis").attrs["value"] == BASIS
    assert holds_count(session) == 0
    r = web.post("/holds/new", data=filled, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/holds?saved=placed"), r.text[:500]
    hold = session.scalar(select(LegalHold))
    assert hold is not None and (hold.camera_id, hold.start, hold.end) == (cam.id, T0, T0 + H / 2)

    listing = html(web.get("/holds?lang=en").text)
    row = listing.one("tr", id=f"hold-{hold.id}")
    assert row.attrs["data-state"] == "active"
    assert "2026-03-01 11:00:00" in row.text() and "Çevre" in row.text() and BASIS in row.text()
    csrf = _csrf(web, "/holds")
    r = web.post(f"/holds/{hold.id}/release", data={"csrf_token": csrf, "reason": " "})
    assert r.status_code == 422 and html(r.text).all(id=f"err-release-{hold.id}")
    r = web.post(f"/holds/{hold.id}/release", data={"csrf_token": csrf, "reason": "takipsizlik"},
                    follow_redirects=False)
    assert r.status_code == 303
    assert html(web.get("/holds").text).one("tr", id=f"hold-{hold.id}").attrs["data-state"] == "released"
    again = web.post(f"/holds/{hold.id}/release", data={"csrf_token": csrf, "reason": "bir daha"})
    assert again.status_code == 409 and html(again.text).all(id=f"err-release-{hold.id}")
    assert html(web.get("/holds?state=active").text).all("tr", id=f"hold-{hold.id}") == []


def test_pages_follow_role_and_scope(web: TestClient, world: World) -> None:
    outside = world.hold(world.c)
    browser_login(web, world.users["auditor"])
    page = web.get("/holds")
    assert page.status_code == 200
    nav = {a.attrs["href"] for a in html(page.text).one("nav", cls="mainnav").all("a")}
    assert "/holds" in nav and "/alerts" not in nav
    assert not html(page.text).all(id="new-hold") and world.c.code not in page.text
    assert web.get("/holds/new").status_code == 403
    assert web.get("/alerts").status_code == 403
    assert web.get(f"/holds?site={world.c.code}").status_code == 422
    csrf = _csrf(web, "/holds")
    assert web.post(f"/holds/{outside.id}/release", data={"csrf_token": csrf, "reason": "x y z"}).status_code == 403


def test_new_hold_form_for_a_camera_outside_the_scope_is_not_found(web: TestClient, world: World) -> None:
    browser_login(web, world.users["investigator"])
    assert web.get(f"/holds/new?camera={world.camera(world.c).id}").status_code == 404
    assert web.get(f"/holds/new?camera={world.camera(world.a).id}").status_code == 200


# --- recording alarms in the alert queue ---------------------------------------------------------------------


def _alert(world: World, site: Site | None, kind: str, severity: str, details: str,
           camera: str | None = None) -> Alert:
    subject = alerts.INSTALLATION if site is None else alerts.Subject(
        camera_id=(world.camera(site, camera) if camera else world.camera(site)).id, site_id=site.id)
    return alerts.raise_alert(world.session, kind=alerts.AlertKind(kind), severity=alerts.Severity(severity),
                              subject=subject, details=details)


def _alerts(world: World) -> dict[str, Alert]:
    s = world.session
    found = {
        "a_old": _alert(world, world.a, "segment_quarantined", "warning", "A eski"),
        "a_new": _alert(world, world.a, "recording_stopped", "critical", "A yeni", camera="Çevre"),
        "a_done": _alert(world, world.a, "storage_error", "critical", "A çözüldü"),
        "b": _alert(world, world.b, "recording_stopped", "critical", "B açık"),
        "c": _alert(world, world.c, "recording_stopped", "critical", "C açık"),
        "all": _alert(world, None, "recorder_down", "critical", "kayıt hizmeti çalışmıyor"),
    }
    for n, alert in enumerate(found.values()):
        alert.received_at = alert.raised_at = alert.last_at = T0 + n * H
    found["a_done"].state, found["a_done"].closed_at = "resolved", T0 + 10 * H
    s.commit()
    return found


def test_alerts_are_scoped_by_jurisdiction(web: TestClient, world: World, auth: Headers) -> None:
    made = _alerts(world)
    ids = {v.id: k for k, v in made.items()}
    operator = auth("operator")

    def listed(params: dict[str, str], headers: dict[str, str]) -> list[str]:
        r = web.get(f"{API}/alerts", params=params, headers=headers)
        assert r.status_code == 200, r.text
        return [ids[x["id"]] for x in r.json()["items"]]

    assert listed({}, operator) == ["a_new", "a_old"]
    assert listed({"state": "all"}, operator) == ["a_done", "a_new", "a_old"]
    assert listed({"state": "closed"}, operator) == ["a_done"]
    first = web.get(f"{API}/alerts", headers=operator).json()
    assert first["total"] == 2
    assert first["items"][0] | {"id": 0, "version": 0} == {
        "id": 0, "source": "recorder", "kind": "recording_stopped", "priority": 3, "state": "new",
        "details": "A yeni", "site": world.a.code, "site_name": world.a.name, "district": "TR-99-A",
        "camera_id": world.camera(world.a, "Çevre").id, "camera": "Çevre", "device": None, "latitude": None,
        "longitude": None, "accuracy_m": None, "drill": False, "repeats": 1, "raised_at": "2026-03-01T09:00:00Z",
        "received_at": "2026-03-01T09:00:00Z", "last_at": "2026-03-01T09:00:00Z", "claimed_by": None,
        "acknowledged_at": None, "closed_at": None, "version": 0, "data": {},
        "text": "A yeni"}  # the details in the reader's language: a text of no known sentence, as stored
    assert web.get(f"{API}/alerts", params={"site": world.b.code}, headers=operator).status_code == 404
    admin = auth("admin")
    assert listed({}, admin) == ["all", "c", "b", "a_new", "a_old"]
    assert listed({"site": world.b.code}, admin) == ["b"]
    assert web.get(f"{API}/alerts", headers=auth("judicial_liaison")).status_code == 403


def test_alerts_page(web: TestClient, world: World) -> None:
    made = _alerts(world)
    browser_login(web, world.users["operator"])
    page = html(web.get("/alerts?lang=en").text)
    assert "/alerts" in {a.attrs["href"] for a in page.one("nav", cls="mainnav").all("a")}
    rows = page.one("table", id="alert-table").all("tr", cls=None)
    shown = [int(r.attrs["data-alert"]) for r in rows if "data-alert" in r.attrs]
    assert shown == [made["a_new"].id, made["a_old"].id]
    assert "Camera stopped recording" in page.one("tr", data_alert=str(made["a_new"].id)).text()
    every = html(web.get("/alerts?state=all").text)
    assert [int(r.attrs["data-alert"]) for r in every.all("tr") if "data-alert" in r.attrs] == [
        made["a_done"].id, made["a_new"].id, made["a_old"].id]
    assert web.get(f"/alerts?site={world.c.code}").status_code == 422


def _hold_form(web: TestClient, site: Site) -> dict[str, str]:
    """The hold form's fields, filled in but for the range."""
    form = html(web.get("/holds/new").text).one("form", id="hold-form")
    values = {i.attrs["name"]: i.attrs.get("value", "") for i in form.all("input")}
    return values | {"site": site.code, "camera": "Giriş", "reason": REASON, "legal_basis": BASIS}


@pytest.mark.parametrize(("zone", "typed_from", "typed_to"), [
    pytest.param(None, "2026-03-01T11:00:00", "2026-03-01T12:30:15", id="Istanbul by default, UTC+3"),
    pytest.param("Europe/Berlin", "2026-03-01T09:00", "2026-03-01T10:30:15", id="the user's own Berlin, UTC+1"),
])
def test_a_hold_typed_in_local_time_holds_exactly_that_utc_range(web: TestClient, world: World, session: Session,
                                                                 zone: str | None, typed_from: str,
                                                                 typed_to: str) -> None:
    user = world.users["investigator"]
    user.time_zone = zone
    session.commit()
    browser_login(web, user)
    page = html(web.get("/holds/new").text)
    assert page.one("input", name="from").attrs["type"] == "datetime-local"
    assert (zone or "Europe/Istanbul") in page.one("form", id="hold-form").text()  # the zone is named by the field
    r = web.post("/holds/new", data=_hold_form(web, world.a) | {"from": typed_from, "to": typed_to},
                 follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    hold = session.scalar(select(LegalHold))
    assert hold is not None
    assert (hold.start, hold.end) == (T0, T0 + H + timedelta(minutes=30, seconds=15))
    row = html(web.get("/holds").text).one("tr", id=f"hold-{hold.id}")
    assert typed_from.replace("T", " ")[:16] in row.text() and "2026-03-01 08:00" not in row.text()


@pytest.mark.parametrize(("typed", "said"), [
    pytest.param("2026-03-29T02:30", "clocks moved forward", id="skipped by the clock change in Berlin"),
    pytest.param("2026-02-30T10:00", "Enter a date and time", id="no such day"),
    pytest.param("dün öğlen", "Enter a date and time", id="not a time"),
])
def test_an_impossible_local_time_is_refused_next_to_its_field(web: TestClient, world: World, session: Session,
                                                               typed: str, said: str) -> None:
    user = world.users["investigator"]
    user.time_zone = "Europe/Berlin"
    session.commit()
    browser_login(web, user)
    r = web.post("/holds/new?lang=en", data=_hold_form(web, world.a) | {"from": typed, "to": "2026-03-29T05:00"})
    assert r.status_code == 422
    error = html(r.text).one(id="err-from")
    assert said in error.text()
    assert holds_count(session) == 0
