"""The user-administration pages on both engines: the list of the administrator's scope with scope names, search
and filters; creating a user (bad input named by field and no user written, a weak password refused, an unknown
site code named, a generated password shown once that signs in); one user's page changing name, role and scope,
disabling (the user's sessions end), enabling, new passwords and second factors, API tokens revoked one or all;
refusals of changes to one's own account; 403 for other roles, 404 outside the scope, CSRF required."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts import service, user_pages
from kgys.accounts.models import ApiToken, User
from kgys.accounts.rules import LAST_ADMIN, OWN_ACCOUNT
from kgys.audit.models import AuditEntry
from kgys.runtime import Runtime
from kgys.web import i18n
from kgys.web.app import create_app
from tests import factories
from tests.web import conftest as web_fixtures
from tests.web.conftest import browser_login

client = web_fixtures.client  # the web app on the test's transaction
STRONG = "quiet-harbour-lantern-58"


def _csrf(text: str) -> str:
    return text.split('name="csrf_token" value="')[1].split('"')[0]


def signed_in(client: TestClient, session: Session, role: str, scope: list[str]) -> tuple[User, str]:
    """Sign the client in as a new user of ``role`` (enrolled in a second factor); the user and the CSRF token."""
    user = factories.user(session, role, scope=scope, box=client.app.state.runtime.box)  # type: ignore[attr-defined]
    session.commit()
    browser_login(client, user)
    return user, _csrf(client.get("/sites").text)


@pytest.fixture
def other(rt: Runtime) -> Iterator[TestClient]:
    """A second browser on the same app (cookies of its own)."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def tree(session: Session) -> None:
    factories.tree(session)
    session.commit()


def _listed(text: str) -> list[str]:
    return re.findall(r'<tr data-user="([^"]+)"', text)


def _users(session: Session) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


def _user(session: Session, username: str) -> User:
    session.expire_all()
    return service.get_user(session=session, username=username)


def _new(client: TestClient, csrf: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {"csrf_token": csrf, "username": "ayse.k", "full_name": "Ayşe Kaya",
                                        "email": "ayse@example.org", "role": "operator",
                                        "jurisdictions": ["TR-99-A"], "sites": "", "password_mode": "generate"}
    return form | fields


@pytest.mark.usefixtures("tree")
def test_the_list_shows_the_scope_by_name_and_filters(client: TestClient, session: Session,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    site = factories.site(session, "TR-99-B", name="Sahil Ortaokulu")
    factories.user(session, "operator", scope=["TR-99-A"], username="op.merkez")
    factories.user(session, "dispatcher", scope=["TR-99-B"], username="disp.sahil")
    factories.user(session, "operator", scope=["TR-98-C"], username="op.dag")
    school = service.create_user(session=session, actor=factories.admin(), username="mudur", password=STRONG,
                                 role="school_admin", full_name="Filiz Müdür", email="filiz@okul.example",
                                 site_ids=[site.id])
    service.set_active(session=session, actor=factories.admin(), username="disp.sahil", active=False)
    session.commit()
    admin, _ = signed_in(client, session, "admin", ["TR-99"])
    page = client.get("/users?lang=en")
    assert page.status_code == 200 and 'href="/users"' in page.text  # the menu entry
    assert _listed(page.text) == sorted([admin.username, "disp.sahil", "mudur", "op.merkez"])  # not TR-98's
    row = page.text.split('data-user="op.merkez"')[1].split("</tr>")[0]
    assert "Deneme İli / Merkez" in row and "TR-99-A" in row and "Operator" in row and "never" in row
    assert "Sahil Ortaokulu" in page.text.split('data-user="mudur"')[1].split("</tr>")[0]
    assert 'data-state="disabled"' in page.text.split('data-user="disp.sahil"')[1].split(">")[0]
    assert _listed(client.get("/users?q=filiz").text) == ["mudur"]  # by name
    assert _listed(client.get("/users?q=OKUL.example").text) == ["mudur"]  # by e-mail, any case
    assert _listed(client.get("/users?q=merk").text) == ["op.merkez"]  # by username
    assert _listed(client.get("/users?role=dispatcher").text) == ["disp.sahil"]
    assert _listed(client.get("/users?state=disabled").text) == ["disp.sahil"]
    assert "disp.sahil" not in _listed(client.get("/users?state=active").text)
    assert _listed(client.get("/users?state=locked").text) == []
    assert client.get("/users?role=pilot&state=x&page=zz").status_code == 200
    assert school.username in client.get("/users?lang=tr").text
    monkeypatch.setattr(user_pages, "PER_PAGE", 2)
    first = client.get("/users?state=active")
    assert _listed(first.text) == sorted([admin.username, "mudur", "op.merkez"])[:2]
    assert 'id="user-total" class="count">3<' in first.text and "state=active&amp;page=2" in first.text
    assert _listed(client.get("/users?state=active&page=2").text) == sorted([admin.username, "mudur", "op.merkez"])[2:]
    assert client.get("/users/op.dag").status_code == 404  # another province's user, as if absent
    assert client.get("/users/nobody").status_code == 404


@pytest.mark.usefixtures("tree")
def test_bad_input_is_named_by_field_and_no_user_is_written(client: TestClient, session: Session) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    form = client.get("/users/new?lang=en")
    assert form.status_code == 200 and '<option value="TR-99-A"' in form.text
    assert '<option value="TR-98-C"' not in form.text  # only what the administrator may give
    before = _users(session)
    cases: list[tuple[dict[str, str | list[str]], str, str]] = [
        ({"username": "bad name!"}, "username", "not allowed"),
        ({"jurisdictions": [], "sites": ""}, "scope", "at least one jurisdiction or site"),
        ({"jurisdictions": [], "sites": "S-NOPE-1"}, "sites", "S-NOPE-1"),
        ({"jurisdictions": ["TR-98-C"]}, "scope", "outside your scope"),
        ({"role": "pilot"}, "role", "Choose one of the listed values"),
        ({"password_mode": "type", "password": "password123"}, "password", "too easy to guess"),
        ({"password_mode": "type", "password": "short"}, "password", "too short"),
        ({"password_mode": "type", "password": ""}, "password", "Required"),
        ({"full_name": "A\u202eB"}, "full_name", "text-direction"),
    ]
    for fields, field, words in cases:
        r = client.post("/users/new?lang=en", data=_new(client, csrf, **fields))
        assert r.status_code == 422, (fields, r.status_code)
        error = r.text.split(f'id="err-{field}"')[1].split("</span>")[0]
        assert words in error, (fields, error)
        assert 'value="ayse@example.org"' in r.text  # what was typed is kept
    assert _users(session) == before
    turkish = client.post("/users/new?lang=tr", data=_new(client, csrf, jurisdictions=[], sites="S-NOPE-1"))
    assert "S-NOPE-1" in turkish.text and "kurum kodlu" in turkish.text
    factories.user(session, "operator", username="ayse.k")
    session.commit()
    taken = client.post("/users/new?lang=en", data=_new(client, csrf))
    assert taken.status_code == 409 and 'id="err-username"' in taken.text


@pytest.mark.usefixtures("tree")
def test_a_generated_password_is_shown_once_and_signs_in(client: TestClient, other: TestClient,
                                                          session: Session) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    site = factories.site(session, "TR-99-A")
    session.commit()
    r = client.post("/users/new?lang=en", data=_new(client, csrf, sites=site.code))
    assert r.status_code == 200, r.text
    password = r.text.split('id="new-password">')[1].split("<")[0]
    assert len(password) >= 19 and "shown this once" in r.text
    user = _user(session, "ayse.k")
    assert user.role == "operator" and user.full_name == "Ayşe Kaya" and len(user.scopes) == 2
    assert password not in (user.password_hash or "")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create",
                                                    AuditEntry.object_id == "ayse.k"))
    assert entry is not None
    login = other.get("/login")
    signed = other.post("/login", data={"username": "ayse.k", "password": password, "csrf_token": _csrf(login.text)},
                        follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    assert other.get("/sites").status_code == 200
    page = client.get("/users/ayse.k?lang=en")
    assert password not in page.text and site.code in page.text
    audit = page.text.split('id="user-audit"')[1]
    assert 'data-action="user.create"' in audit and 'data-action="login.success"' in audit
    assert 'href="/audit?actor=ayse.k"' in audit


@pytest.mark.usefixtures("tree")
def test_a_typed_password_creates_and_leads_to_the_users_page(client: TestClient, session: Session) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    r = client.post("/users/new?lang=en", data=_new(client, csrf, password_mode="type", password=STRONG,
                                                    role="supervisor"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/users/ayse.k?done=created"
    page = client.get(r.headers["location"] + "&lang=en")
    assert "The user was created." in page.text and "enrolled at the next sign-in" in page.text
    assert service.mfa_required(_user(session, "ayse.k"), client.app.state.runtime.settings.security)  # type: ignore[attr-defined]


@pytest.mark.usefixtures("tree")
def test_own_account_changes_are_refused_and_nothing_changes(client: TestClient, session: Session) -> None:
    admin, csrf = signed_in(client, session, "admin", ["TR"])
    for path, data in ((f"/users/{admin.username}/disable", {}),
                       (f"/users/{admin.username}/access", {"role": "operator", "jurisdictions": ["TR"]}),
                       (f"/users/{admin.username}/access", {"role": "admin", "jurisdictions": ["TR-99"]})):
        r = client.post(path + "?lang=en", data={"csrf_token": csrf, **data})
        assert r.status_code == 403, (path, data, r.status_code)
        assert OWN_ACCOUNT in r.text.split('id="user-refusal"')[1].split("</div>")[0]
    user = _user(session, admin.username)
    assert user.is_active and user.role == "admin" and service.scope_of(user).is_global
    assert client.get("/users").status_code == 200  # still signed in
    turkish = client.post(f"/users/{admin.username}/disable?lang=tr", data={"csrf_token": csrf})
    assert "Kendi hesabınızı" in turkish.text
    assert client.post(f"/users/{admin.username}/profile", data={"csrf_token": csrf, "full_name": "Ben",
                                                                 "email": ""}).status_code == 200
    assert _user(session, admin.username).full_name == "Ben"  # a name is no access change


def test_the_refusals_are_in_each_catalogue() -> None:
    catalogues = i18n.load_catalogues()
    for text in (LAST_ADMIN, OWN_ACCOUNT):
        assert catalogues["en"].gettext(text) == text
        assert catalogues["tr"].gettext(text) != text and catalogues["ru"].gettext(text) != text


@pytest.mark.usefixtures("tree")
def test_disabling_ends_the_users_sessions_and_tokens(client: TestClient, other: TestClient, session: Session,
                                                      rt: Runtime) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    victim = factories.user(session, "operator", scope=["TR-99-A"], username="op.kapat")
    token = service.issue_token(session=session, settings=rt.settings.security, user=victim)
    session.commit()
    browser_login(other, victim)
    assert other.get("/sites").status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert other.get("/api/v1/me", headers=bearer).status_code == 200
    assert client.post("/users/op.kapat/disable", data={}).status_code == 403  # no CSRF token: refused
    assert _user(session, "op.kapat").is_active
    r = client.post("/users/op.kapat/disable", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/users/op.kapat?done=disabled"
    assert "sessions, API tokens and viewing tickets were ended" in client.get(r.headers["location"] + "&lang=en").text
    gone = other.get("/sites", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    assert other.get("/api/v1/me", headers=bearer).status_code == 401
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "user.disable",
                                                   AuditEntry.object_id == "op.kapat")) is not None
    assert client.post("/users/op.kapat/enable", data={"csrf_token": csrf}).status_code == 200
    assert _user(session, "op.kapat").is_active
    browser_login(other, victim)
    assert other.get("/sites").status_code == 200


@pytest.mark.usefixtures("tree")
def test_tokens_are_listed_and_revoked_one_or_all(client: TestClient, session: Session, rt: Runtime) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    user = factories.user(session, "operator", scope=["TR-99-A"], username="op.api")
    first = service.issue_token(session=session, settings=rt.settings.security, user=user, name="kamera-betiği")
    second = service.issue_token(session=session, settings=rt.settings.security, user=user, name="rapor")
    session.commit()
    ids = {t.name: t.id for t in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id))}
    page = client.get("/users/op.api?lang=en")
    assert "kamera-betiği" in page.text and "rapor" in page.text
    r = client.post(f"/users/op.api/tokens/{ids['kamera-betiği']}/revoke", data={"csrf_token": csrf},
                    follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert 'data-revoked="true"' in client.get("/users/op.api").text
    stranger = factories.user(session, "operator", scope=["TR-99-A"])
    session.commit()
    assert client.post(f"/users/{stranger.username}/tokens/{ids['rapor']}/revoke",
                       data={"csrf_token": csrf}).status_code == 404  # not that user's token
    assert client.post("/users/op.api/tokens/revoke", data={"csrf_token": csrf}).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}).status_code == 401
    revokes = session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke",
                                                       AuditEntry.object_id == "op.api")).all()
    assert len(revokes) == 2


@pytest.mark.usefixtures("tree")
def test_role_scope_and_name_changes(client: TestClient, other: TestClient, session: Session) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    user = factories.user(session, "operator", scope=["TR-99-A"], username="op.tasi")
    session.commit()
    browser_login(other, user)
    bad = client.post("/users/op.tasi/access?lang=en", data={"csrf_token": csrf, "role": "dispatcher",
                                                             "jurisdictions": ["TR-99-B"], "sites": "S-YOK"})
    assert bad.status_code == 422 and "S-YOK" in bad.text.split('id="err-sites"')[1].split("</span>")[0]
    assert _user(session, "op.tasi").role == "operator"  # nothing of it kept
    outside = client.post("/users/op.tasi/access?lang=en", data={"csrf_token": csrf, "role": "operator",
                                                                 "jurisdictions": ["TR-98-C"]})
    assert outside.status_code == 422 and "within your scope" in outside.text
    r = client.post("/users/op.tasi/access", data={"csrf_token": csrf, "role": "dispatcher",
                                                   "jurisdictions": ["TR-99-B"]}, follow_redirects=False)
    assert r.status_code == 303
    moved = _user(session, "op.tasi")
    assert moved.role == "dispatcher" and [s.jurisdiction.code for s in moved.scopes if s.jurisdiction] == ["TR-99-B"]
    assert other.get("/sites", follow_redirects=False).status_code == 303  # signed out by the change
    assert "Deneme İli / Sahil" in client.get("/users/op.tasi").text
    long_name = client.post("/users/op.tasi/profile?lang=en", data={"csrf_token": csrf, "full_name": "x" * 161,
                                                                    "email": ""})
    assert long_name.status_code == 422 and 'id="err-full_name"' in long_name.text
    assert client.post("/users/op.tasi/profile", data={"csrf_token": csrf, "full_name": "Oğuz Taşı",
                                                       "email": "oguz@example.org"}).status_code == 200
    assert _user(session, "op.tasi").email == "oguz@example.org"
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "user.update",
                                                   AuditEntry.object_id == "op.tasi")) is not None


@pytest.mark.usefixtures("tree")
def test_new_passwords_and_second_factors(client: TestClient, other: TestClient, session: Session) -> None:
    _, csrf = signed_in(client, session, "admin", ["TR-99"])
    user = factories.user(session, "supervisor", scope=["TR-99-A"], username="amir",
                          box=client.app.state.runtime.box)  # type: ignore[attr-defined]
    session.commit()
    weak = client.post("/users/amir/password?lang=en", data={"csrf_token": csrf, "password_mode": "type",
                                                             "password": "amir12345678"})
    assert weak.status_code == 422 and "username or e-mail" in weak.text.split('id="err-password"')[1]
    generated = client.post("/users/amir/password?lang=en", data={"csrf_token": csrf, "password_mode": "generate"})
    assert generated.status_code == 200
    password = generated.text.split('id="new-password">')[1].split("<")[0]
    assert _user(session, "amir").totp_confirmed  # the second factor stays unless asked
    r = client.post("/users/amir/second-factor", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert not _user(session, "amir").totp_confirmed
    login = other.get("/login")
    signed = other.post("/login", data={"username": "amir", "password": password, "csrf_token": _csrf(login.text)},
                        follow_redirects=False)
    assert signed.headers["location"].startswith("/login/totp")
    enrol = other.get(signed.headers["location"])
    assert "data:image/svg+xml" in enrol.text  # a new enrolment, with its QR code
    typed = client.post("/users/amir/password", data={"csrf_token": csrf, "password_mode": "type",
                                                      "password": STRONG, "reset_totp": "1"}, follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"].endswith("done=password")
    assert user.username in [e.object_id for e in session.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.mfa_reset"))]


@pytest.mark.usefixtures("tree")
def test_other_roles_get_403_and_the_form_needs_its_csrf_token(client: TestClient, session: Session) -> None:
    _, csrf = signed_in(client, session, "supervisor", ["TR-99"])
    target = factories.user(session, "operator", scope=["TR-99-A"])
    session.commit()
    assert 'href="/users"' not in client.get("/sites").text
    for path in ("/users", "/users/new", f"/users/{target.username}"):
        assert client.get(path).status_code == 403, path
    for path in ("/users/new", f"/users/{target.username}/disable", f"/users/{target.username}/password"):
        assert client.post(path, data={"csrf_token": csrf, "username": "x"}).status_code == 403, path
    assert _user(session, target.username).is_active


@pytest.mark.usefixtures("tree")
def test_a_province_administrator_cannot_create_a_user_without_the_csrf_token(client: TestClient,
                                                                             session: Session) -> None:
    signed_in(client, session, "admin", ["TR-99"])
    before = _users(session)
    r = client.post("/users/new", data={"username": "sahte", "role": "operator", "jurisdictions": "TR-99-A",
                                        "password_mode": "generate"})
    assert r.status_code == 403 and _users(session) == before
