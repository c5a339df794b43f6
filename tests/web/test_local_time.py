"""Local time everywhere: stored UTC times are shown in the reader's zone (Europe/Istanbul by default, or the
zone the user chose), the zone is named on every signed-in page, a user chooses their zone on their account page,
an administrator on the users page and over the API, and a zone that does not exist is refused naming the field.
No page shows a bare UTC time."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.models import User
from kgys.alerts import raising
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Priority, Source
from kgys.audit.models import AuditEntry
from kgys.recording.flows import holds as hold_flows
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories
from tests.web.conftest import browser_login
from tests.web.test_pages import html

T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)  # 11:00 in Istanbul (UTC+3), 09:00 in Berlin (UTC+1)


def _world(session: Session, rt: Runtime) -> tuple[Site, int]:
    """A school with cameras, a hold on one from T0 and an alert received at T0; the alert's id."""
    factories.tree(session)
    school = factories.site(session, "TR-99-A", name="Merkez İlkokulu")
    factories.compliant_system(session, rt.box, school.code)
    hold_flows.add_hold(session=session, actor=factories.admin(), site_code=school.code, camera="Giriş", start=T0,
                        end=T0 + timedelta(hours=2), reason="Soruşturma 2026/1", legal_basis="Savcılık 2026/1")
    alert = raising.raise_alert(session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                               site_id=school.id), now=T0)
    session.commit()
    return school, alert.id


def _user(session: Session, rt: Runtime, role: str = "admin", zone: str | None = None) -> User:
    u = factories.user(session, role, scope=["TR"], box=rt.box)
    u.time_zone = zone
    session.commit()
    return u


@pytest.mark.parametrize(("zone", "shown", "label"), [
    pytest.param(None, "2026-03-01 11:00:00", "Europe/Istanbul (UTC+03:00)", id="Istanbul by default"),
    pytest.param("Europe/Berlin", "2026-03-01 09:00:00", "Europe/Berlin (UTC+01:00)", id="the user's Berlin"),
])
def test_a_stored_utc_time_is_shown_in_the_readers_zone(client: TestClient, session: Session, rt: Runtime,
                                                        zone: str | None, shown: str, label: str) -> None:
    _school, alert_id = _world(session, rt)
    browser_login(client, _user(session, rt, zone=zone))
    for path in ("/holds", f"/alerts/{alert_id}", "/alerts?state=all"):
        page = client.get(path)
        assert page.status_code == 200, path
        doc = html(page.text)
        assert shown[:16] in doc.one("main").text(), path
        assert "2026-03-01 08:00" not in doc.one("main").text(), path
        assert doc.one(id="tz-label").text().endswith(label), path  # the zone, named once in the header
        assert page.text.count(f'data-tz="{zone or "Europe/Istanbul"}"') == 1, path


# A time of day followed by UTC or Z (not a zone's label such as "UTC+03:00"), or a column saying "(UTC)".
BARE_UTC = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?\s*(?:UTC\b(?![+\-])|Z\b)|\(UTC\)")
PAGES = ["/holds", "/holds/new", "/alerts?state=all", "/alerts/{alert}", "/alerts/report", "/console/board",
         "/devices", "/incidents", "/dispatch", "/dispatch/reports", "/units", "/users", "/users/{user}",
         "/sites/{site}", "/account", "/dashboard"]


def _shown(text: str) -> str:
    """What a page shows: its text and tooltips, without scripts, styles or machine-readable attributes."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    titles = " ".join(re.findall(r'title="([^"]*)"', text))
    return re.sub(r"<[^>]+>", " ", text) + " " + titles


def test_the_checker_finds_a_bare_utc_time() -> None:
    assert BARE_UTC.search("<td>08:00 UTC</td>") and BARE_UTC.search("2026-03-01T08:00:00Z")
    assert BARE_UTC.search("Alındığı an (UTC)")
    assert not BARE_UTC.search("Saatler: Europe/Istanbul (UTC+03:00) · 2026-03-01 11:00:00")


def test_no_page_shows_a_bare_utc_time(client: TestClient, session: Session, rt: Runtime) -> None:
    school, alert_id = _world(session, rt)
    admin = _user(session, rt)
    browser_login(client, admin)
    for lang in ("tr", "en"):
        for path in PAGES:
            url = path.format(alert=alert_id, user=admin.username, site=school.code)
            page = client.get(url, params={"lang": lang})
            assert page.status_code == 200, url
            found = BARE_UTC.findall(_shown(page.text))
            assert found == [], (url, lang, found)


def test_a_user_chooses_their_zone_on_their_account_page(client: TestClient, session: Session,
                                                         rt: Runtime) -> None:
    factories.tree(session)
    user = _user(session, rt, role="operator")
    browser_login(client, user)
    page = html(client.get("/account").text)
    csrf = page.one("form", id="account-zone").one("input", name="csrf_token").attrs["value"]
    assert page.one("input", name="time_zone").attrs["value"] == ""
    assert "Europe/Istanbul (UTC+" in page.one(id="account-zone-now").text()
    bad = client.post("/account?lang=en", data={"csrf_token": csrf, "time_zone": "Mars/Olympus_Mons"})
    assert bad.status_code == 422
    assert "Unknown time zone" in html(bad.text).one(id="err-time_zone").text()
    session.refresh(user)
    assert user.time_zone is None
    done = client.post("/account", data={"csrf_token": csrf, "time_zone": "Europe/Berlin"}, follow_redirects=False)
    assert done.status_code == 303
    session.refresh(user)
    assert user.time_zone == "Europe/Berlin"
    assert "Europe/Berlin (UTC+" in html(client.get("/account").text).one(id="tz-label").text()
    entry = session.scalars(select(AuditEntry).where(AuditEntry.object_id == user.username)
                            .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == "user.update" and "time_zone" in str(entry.details)
    back = client.post("/account", data={"csrf_token": csrf, "time_zone": ""}, follow_redirects=False)
    assert back.status_code == 303
    session.refresh(user)
    assert user.time_zone is None


def test_an_administrator_sets_a_users_zone_on_the_users_page(client: TestClient, session: Session,
                                                              rt: Runtime) -> None:
    factories.tree(session)
    operator = _user(session, rt, role="operator")
    browser_login(client, _user(session, rt))
    page = html(client.get(f"/users/{operator.username}").text)
    fields = {i.attrs["name"]: i.attrs.get("value", "") for i in page.one("form", id="user-profile").all("input")}
    bad = client.post(f"/users/{operator.username}/profile?lang=en", data=fields | {"time_zone": "Europe/Nowhere"})
    assert bad.status_code == 422 and html(bad.text).all(id="err-time_zone")
    session.refresh(operator)
    assert operator.time_zone is None
    ok = client.post(f"/users/{operator.username}/profile", data=fields | {"time_zone": "Asia/Tokyo"},
                     follow_redirects=False)
    assert ok.status_code == 303
    session.refresh(operator)
    assert operator.time_zone == "Asia/Tokyo"
    assert "Asia/Tokyo" in html(client.get(f"/users/{operator.username}").text).one(id="user-zone").text()


def test_the_api_shows_and_changes_the_zone_and_names_the_field_it_refuses(
        client: TestClient, session: Session, rt: Runtime, token_for: object) -> None:
    factories.tree(session)
    user = _user(session, rt, role="operator")
    headers = token_for(user)  # type: ignore[operator]
    assert client.get("/api/v1/me", headers=headers).json()["time_zone"] is None
    bad = client.patch("/api/v1/me", headers=headers, json={"time_zone": "Europe/Atlantis"})
    assert bad.status_code == 422
    assert "time_zone" in bad.text
    ok = client.patch("/api/v1/me", headers=headers, json={"time_zone": "Europe/Berlin"})
    assert ok.status_code == 200 and ok.json()["time_zone"] == "Europe/Berlin"
    assert client.get("/api/v1/me", headers=headers).json()["time_zone"] == "Europe/Berlin"
    admin = token_for(_user(session, rt))  # type: ignore[operator]
    new = {"username": "yeni.kisi", "password": "lilac-orbit-7-tundra", "role": "operator",
           "jurisdictions": ["TR-99-A"]}
    refused = client.post("/api/v1/users", headers=admin, json=new | {"time_zone": "Nowhere/City"})
    assert refused.status_code == 422 and "time_zone" in refused.text
    made = client.post("/api/v1/users", headers=admin, json=new | {"time_zone": "Asia/Tokyo"})
    assert made.status_code == 201 and made.json()["time_zone"] == "Asia/Tokyo"


def test_the_report_exports_state_their_period_in_utc_and_in_the_readers_zone(client: TestClient, session: Session,
                                                                               rt: Runtime) -> None:
    _world(session, rt)
    browser_login(client, _user(session, rt, zone="Europe/Berlin"))
    period = {"from": "2026-03-01T09:00", "to": "2026-03-02T09:00"}  # Berlin: 08:00 to 08:00 UTC
    for url in ("/alerts/report.csv", "/dispatch/reports/response.csv"):
        got = client.get(url, params=period | {"lang": "en"})
        assert got.status_code == 200, url
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        head = rows[0]
        assert head[-5:] == ["From (UTC)", "To (UTC)", "From (local time)", "To (local time)", "Time zone"], url
        assert len(rows) > 1 and {tuple(row[-5:]) for row in rows[1:]} == {(
            "2026-03-01T08:00:00Z", "2026-03-02T08:00:00Z", "2026-03-01 09:00:00", "2026-03-02 09:00:00",
            "Europe/Berlin (UTC+01:00)")}, url
    use = client.get("/dispatch/reports/utilisation.csv", params=period | {"lang": "en"})
    assert use.status_code == 200 and "From (local time)" in use.content.decode("utf-8-sig")
    report = client.get("/api/v1/alerts/report", params={"from": "2026-03-01T08:00:00Z",
                                                         "to": "2026-03-02T08:00:00Z"}).json()
    assert (report["from_local"], report["local_time_zone"]) == ("2026-03-01 09:00:00", "Europe/Berlin (UTC+01:00)")
    assert report["total"]["total"] == 1
