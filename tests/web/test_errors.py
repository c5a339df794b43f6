"""Error pages keep the signed-in user's menu and language; API errors are JSON naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import factories
from tests.web.conftest import browser_login


def test_not_found_page_keeps_menu_and_language(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    session.commit()
    browser_login(client, u)
    r = client.get("/sites/NO-SUCH-SITE?lang=en")
    assert r.status_code == 404
    assert '<html lang="en" ' in r.text
    assert 'href="/sites"' in r.text  # the menu is there
    assert "Not found" in r.text


def test_malformed_json_names_the_body_and_position(client: TestClient, session: Session) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"])
    session.commit()
    from kgys.accounts import service

    tok = service.issue_token(session=session, settings=client.app.state.runtime.settings.security,  # type: ignore[attr-defined]
                              user=u)
    session.commit()
    r = client.post("/api/v1/sites", content=b'{"code": "X1", "name": ', headers={
        "Authorization": f"Bearer {tok}", "Content-Type": "application/json"})
    assert r.status_code == 422
    field = r.json()["error"]["fields"][0]
    assert field["field"] == "body"
    assert "malformed JSON at character" in field["message"]
