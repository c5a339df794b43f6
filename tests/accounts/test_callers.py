"""The caller behind a bearer token or a session cookie, read in one query: the same actor as the user's own
scope gives, and nothing once the credential or the user is ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from kgys.accounts import callers, service
from kgys.accounts.actor import Scope
from kgys.accounts.models import ApiToken, LoginSession
from kgys.db import utcnow
from kgys.runtime import Runtime
from tests import factories


def test_a_token_gives_the_users_actor_in_one_statement(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    site = factories.site(session, district="TR-99-B")
    u = factories.user(session, "operator", scope=["TR-99-A"])
    service.change_access(session=session, actor=factories.admin(), username=u.username,
                          jurisdiction_codes=["TR-99-A"], site_codes=[site.code])
    token = service.issue_token(session=session, settings=rt.settings.security, user=u)
    session.flush()
    statements: list[str] = []
    bind = session.connection()
    event.listen(bind, "before_cursor_execute", lambda *a: statements.append(a[2]))
    actor = callers.token_actor(session=session, token=token)
    assert actor == service.actor_for(u)
    assert actor is not None and actor.scope.site_ids == frozenset({site.id}) and actor.scope.paths
    assert len(statements) == 1


def test_a_nationwide_node_makes_the_scope_global(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "admin", scope=["TR"])
    token = service.issue_token(session=session, settings=rt.settings.security, user=u)
    actor = callers.token_actor(session=session, token=token)
    assert actor is not None and actor.scope == Scope(is_global=True)


@pytest.mark.parametrize("ending", ["revoked", "expired", "disabled", "reset", "unknown"])
def test_an_ended_token_or_user_gives_no_actor(session: Session, rt: Runtime, ending: str) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    token = service.issue_token(session=session, settings=rt.settings.security, user=u)
    assert callers.token_actor(session=session, token=token) is not None
    if ending == "revoked":
        session.execute(update(ApiToken).where(ApiToken.user_id == u.id).values(revoked=True))
    elif ending == "expired":
        session.execute(update(ApiToken).where(ApiToken.user_id == u.id).values(
            expires_at=utcnow() - timedelta(seconds=1)))
    elif ending == "disabled":
        service.set_active(session=session, actor=factories.admin(), username=u.username, active=False)
    elif ending == "reset":
        service.reset_password(session=session, actor=factories.admin(), username=u.username,
                               password="brand-new-cedar-71")
    else:
        token = token[:-4] + "AAAA"
    session.flush()
    assert callers.token_actor(session=session, token=token) is None


def test_a_session_cookie_gives_its_session_and_actor_until_it_ends(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    cookie, login = service.start_session(session=session, settings=rt.settings.security, user=u, mfa_passed=True)
    found = callers.session_actor(session=session, token=cookie)
    assert found is not None and found[0] is login and found[1] == service.actor_for(u)
    later = login.expires_at + timedelta(seconds=1)
    assert callers.session_actor(session=session, token=cookie, now=later) is None
    session.execute(update(LoginSession).where(LoginSession.id == login.id).values(
        expires_at=utcnow() + timedelta(hours=1)))
    service.set_active(session=session, actor=factories.admin(), username=u.username, active=False)
    session.flush()
    assert callers.session_actor(session=session, token=cookie) is None
