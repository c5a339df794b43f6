"""Web fixtures: an app on the test's transaction and clients signed in as a given user."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.models import User
from kgys.runtime import Runtime
from kgys.web.app import create_app
from tests import factories


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    """An anonymous client of an app whose database work is rolled back after the test."""
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def token_for(rt: Runtime, session: Session) -> Callable[[User], dict[str, str]]:
    """Authorization headers for a user."""

    def make(user: User) -> dict[str, str]:
        tok = account_service.issue_token(session=session, settings=rt.settings.security, user=user)
        session.commit()
        return {"Authorization": f"Bearer {tok}"}

    return make


def browser_login(client: TestClient, user: User) -> str:
    """Sign ``client`` in through the login form (and TOTP when needed); return the CSRF token."""
    page = client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": user.username, "password": factories.PASSWORD,
                                    "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    if "/login/totp" in r.headers["location"]:
        page = client.get(r.headers["location"])
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = client.post("/login/totp", data={"code": factories.totp_code(user), "csrf_token": csrf},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    return csrf
