"""Signing in: password, lockout, second factor, bearer tokens."""

from __future__ import annotations

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from kgys.accounts import scheduled as accounts_scheduled
from kgys.accounts import service
from kgys.db import utcnow
from kgys.runtime import Runtime
from tests import factories
from tests.web.conftest import browser_login


def test_login_and_me(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    browser_login(client, u)
    r = client.get("/api/v1/me")
    assert r.status_code == 200
    assert r.json()["username"] == u.username


def test_wrong_password_is_refused_and_audited(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": u.username, "password": "wrong-password-1", "csrf_token": csrf})
    assert r.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    n = session.execute(text("SELECT count(*) FROM audit_entries WHERE action='login.fail'")).scalar()
    assert n == 1


def test_lockout_after_repeated_failures(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": u.username, "password": "nope-nope-1"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": u.username, "password": factories.PASSWORD})
    assert r.status_code == 401
    assert "locked" in r.json()["error"]["message"]


def test_admin_needs_totp(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    r = client.post("/api/v1/auth/token", json={"username": u.username, "password": factories.PASSWORD})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": u.username, "password": factories.PASSWORD,
                                                "totp": factories.totp_code(u)})
    assert r.status_code == 200
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"})
    assert me.json()["role"] == "admin"


def test_form_post_without_csrf_is_refused(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    browser_login(client, u)
    r = client.post("/api/v1/users", json={"username": "x1", "password": "lilac-orbit-7-tundra", "role": "operator",
                                           "jurisdictions": ["TR-99"]})
    assert r.status_code == 403
    assert "CSRF" in r.json()["error"]["message"]


def test_first_sign_in_enrols_the_second_factor(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "supervisor", scope=["TR-99"])
    session.commit()
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": u.username, "password": factories.PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)
    assert r.headers["location"].startswith("/login/totp")
    assert client.get("/api/v1/me").status_code == 401  # password alone is not enough
    page = client.get("/login/totp")
    assert 'id="totp-qr"' in page.text, page.text[-1500:]
    secret = page.text.split('id="totp-secret">')[1].split("<")[0]
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/login/totp", data={"code": "000000", "csrf_token": csrf}, follow_redirects=False)
    assert bad.status_code == 401
    ok = client.post("/login/totp", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf},
                     follow_redirects=False)
    assert ok.status_code == 303
    me = client.get("/api/v1/me").json()
    assert me["mfa_enrolled"] is True


def test_revoked_token_no_longer_works(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    r = client.post("/api/v1/auth/token", json={"username": u.username, "password": factories.PASSWORD})
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert service.revoke_tokens(session=session, actor=factories.admin(), username=u.username) == 1
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert accounts_scheduled.purge(session, utcnow()) == 1


def test_a_school_administrator_lands_on_the_school_and_a_field_team_on_its_page(client: TestClient,
                                                                               session: Session) -> None:
    factories.tree(session)
    one, two = factories.site(session), factories.site(session)
    alone = service.create_user(session=session, actor=factories.admin(), username="mudur1",
                                password=factories.PASSWORD, role="school_admin", site_codes=[one.code])
    both = service.create_user(session=session, actor=factories.admin(), username="mudur2",
                               password=factories.PASSWORD, role="school_admin", site_codes=[one.code, two.code])
    team = factories.user(session, "field_unit")
    session.commit()
    browser_login(client, alone)
    assert client.get("/", follow_redirects=False).headers["location"] == f"/sites/{one.code}"
    page = client.get("/")
    assert page.status_code == 200 and one.name in page.text
    browser_login(client, both)
    assert client.get("/", follow_redirects=False).headers["location"] == "/sites"
    browser_login(client, factories.user(session, "commission_member"))
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    browser_login(client, team)
    assert client.get("/", follow_redirects=False).headers["location"] == "/field"  # the team's own page
