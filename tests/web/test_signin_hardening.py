"""Signing in through the pages and the API: alike answers, second-factor lockout and replay, revocation,
and an administrator who cannot lock themselves out."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts import service
from kgys.runtime import Runtime
from tests import factories
from tests.web.conftest import browser_login

TOKEN = "/api/v1/auth/token"


def _csrf(text: str) -> str:
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def _form_login(client: TestClient, username: str, password: str) -> tuple[int, str]:
    page = client.get("/login")
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": _csrf(page.text)},
                    follow_redirects=False)
    error = r.text.split('role="alert">')[1].split("<")[0] if 'role="alert">' in r.text else r.text
    return r.status_code, error


def test_unknown_locked_and_wrong_answer_alike(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    wrong = factories.user(session, "operator")
    locked = factories.user(session, "operator")
    session.commit()
    for _ in range(rt.settings.security.lockout_threshold):
        client.post(TOKEN, json={"username": locked.username, "password": "not-it-at-all-1"})
    pages = [_form_login(client, "nobody-at-all", factories.PASSWORD),
             _form_login(client, wrong.username, "not-it-at-all-1"),
             _form_login(client, locked.username, factories.PASSWORD)]
    assert pages[0][0] == 401 and pages[0] == pages[1] == pages[2], pages
    apis = [client.post(TOKEN, json={"username": u, "password": p}) for u, p in (
        ("nobody-at-all", factories.PASSWORD), (wrong.username, "not-it-at-all-1"),
        (locked.username, factories.PASSWORD))]
    assert [r.status_code for r in apis] == [401] * 3
    assert apis[0].json() == apis[1].json() == apis[2].json()


def test_wrong_codes_lock_the_account_through_the_form(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    page = client.get("/login")
    r = client.post("/login", data={"username": u.username, "password": factories.PASSWORD,
                                    "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.headers["location"].startswith("/login/totp")
    csrf = _csrf(client.get("/login/totp").text)
    wrong = f"{(int(factories.totp_code(u)) + 1) % 1_000_000:06d}"
    for _ in range(rt.settings.security.lockout_threshold - 1):
        assert client.post("/login/totp", data={"code": wrong, "csrf_token": csrf},
                           follow_redirects=False).status_code == 401
    last = client.post("/login/totp", data={"code": wrong, "csrf_token": csrf}, follow_redirects=False)
    assert last.status_code == 303 and last.headers["location"] == "/login"  # locked: the sign-in has ended
    right = client.post("/login/totp", data={"code": factories.totp_code(u), "csrf_token": csrf},
                        follow_redirects=False)
    assert right.status_code == 303 and right.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401
    # the right password and the right code are refused too while the lock lasts
    assert client.post(TOKEN, json={"username": u.username, "password": factories.PASSWORD,
                                    "totp": factories.totp_code(u)}).status_code == 401


def test_a_code_cannot_be_used_twice(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    body = {"username": u.username, "password": factories.PASSWORD, "totp": factories.totp_code(u)}
    assert client.post(TOKEN, json=body).status_code == 200
    again = client.post(TOKEN, json=body)
    assert again.status_code == 401


def test_a_password_reset_ends_the_api_token_and_the_browser_session(client: TestClient, session: Session,
                                                                      rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    browser_login(client, u)
    token = client.post(TOKEN, json={"username": u.username, "password": factories.PASSWORD}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    service.reset_password(session=session, actor=factories.admin(), username=u.username,
                           password="another-willow-64-ridge")
    session.commit()
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert client.get("/api/v1/me").status_code == 401


def test_an_administrator_cannot_disable_themselves(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    factories.user(session, "admin", scope=["TR"])
    me = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    csrf = browser_login(client, me)
    r = client.post(f"/api/v1/users/{me.username}/disable", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403, r.text
    assert "your own account" in r.json()["error"]["message"]
    assert client.get("/api/v1/me").status_code == 200  # still signed in


def test_a_weak_password_is_refused_naming_the_field(client: TestClient, session: Session, rt: Runtime) -> None:
    factories.tree(session)
    me = factories.user(session, "admin", scope=["TR"], box=rt.box)
    session.commit()
    csrf = browser_login(client, me)
    for weak in (" " * 10, "Password123!", "newclerk1-2026-xyz"):
        r = client.post("/api/v1/users", headers={"X-CSRF-Token": csrf}, json={
            "username": "newclerk1", "password": weak, "role": "operator", "jurisdictions": ["TR-99"]})
        assert r.status_code == 422, r.text
        assert [f["field"] for f in r.json()["error"]["fields"]] == ["password"], weak
