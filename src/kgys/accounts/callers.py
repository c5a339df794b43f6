"""Who is calling: the actor behind a bearer token or a browser session's cookie, read in one query.

Every request that is signed in asks this, so it is one statement: the credential, its user and the user's
scope nodes, joined (one row per node). Each statement is built once, with the credential's hash as a bound
parameter, so that an execution finds its compiled form in SQLAlchemy's cache and its result columns by
identity. Nothing is kept between requests, so a credential revoked, a user
disabled or a role or scope changed (each of which revokes the user's tokens and ends their sessions, see
:func:`kgys.accounts.service.end_sign_ins`) counts from the very next request, in every process.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from kgys import tokens
from kgys.accounts.actor import Actor, Scope
from kgys.accounts.models import ApiToken, Jurisdiction, LoginSession, User, UserScope
from kgys.db import utcnow

Ts = TypeVarTuple("Ts")

# The user and scope columns every lookup reads, after the credential's own.
_USER_COLUMNS = (User.id, User.username, User.role, User.is_active, UserScope.site_id, Jurisdiction.kind,
                 Jurisdiction.path, User.time_zone)


def _with_user(stmt: Select[*Ts], user_id: Any) -> Select[*Ts]:
    return (stmt.join(User, User.id == user_id)
            .outerjoin(UserScope, UserScope.user_id == User.id)
            .outerjoin(Jurisdiction, Jurisdiction.id == UserScope.jurisdiction_id))


def scope_of_rows(nodes: Iterable[tuple[int | None, str | None, str | None]]) -> Scope:
    """The scope granted by a user's nodes given as (site id, jurisdiction kind, jurisdiction path)."""
    paths: list[str] = []
    site_ids: set[int] = set()
    for site_id, kind, path in nodes:
        if kind == "country":
            return Scope(is_global=True)
        if path is not None:
            paths.append(path)
        if site_id is not None:
            site_ids.add(site_id)
    return Scope(is_global=False, paths=tuple(sorted(paths)), site_ids=frozenset(site_ids))


def _actor(rows: Sequence[Any], offset: int) -> Actor | None:
    """The actor of rows whose user columns start at ``offset``; None when the user is disabled."""
    first = rows[0]
    user_id, username, role, is_active = first[offset:offset + 4]
    if not is_active:
        return None
    scope = scope_of_rows((r[offset + 4], r[offset + 5], r[offset + 6]) for r in rows)
    zone = first[offset + 7]
    return Actor(id=int(user_id), username=str(username), role=str(role), scope=scope,
                 time_zone=str(zone) if zone else None)


@functools.cache
def _token_statement() -> Select[*tuple[Any, ...]]:
    return (_with_user(select(ApiToken.revoked, ApiToken.expires_at, *_USER_COLUMNS), ApiToken.user_id)
            .where(ApiToken.token_hash == bindparam("token_hash", type_=ApiToken.token_hash.type)))


@functools.cache
def _session_statement() -> Select[*tuple[Any, ...]]:
    return (_with_user(select(LoginSession, *_USER_COLUMNS), LoginSession.user_id)
            .where(LoginSession.token_hash == bindparam("token_hash", type_=LoginSession.token_hash.type)))


def token_actor(*, session: Session, token: str, now: datetime | None = None) -> Actor | None:
    """The actor behind a bearer token: None when the token is unknown, revoked or expired, or its user is
    disabled."""
    rows = session.connection().execute(_token_statement(), {"token_hash": tokens.token_hash(token)}).all()
    if not rows or rows[0][0] or rows[0][1] <= (now or utcnow()):
        return None
    return _actor(rows, 2)


def session_actor(*, session: Session, token: str, now: datetime | None = None
                  ) -> tuple[LoginSession, Actor] | None:
    """The live browser session behind a cookie value and its actor; None when the session is unknown or
    expired, or its user is disabled."""
    rows = session.execute(_session_statement(), {"token_hash": tokens.token_hash(token)}).all()
    if not rows:
        return None
    login: LoginSession = rows[0][0]
    if login.expires_at <= (now or utcnow()):
        return None
    actor = _actor(rows, 1)
    return None if actor is None else (login, actor)
