"""Request dependencies: the unit of work, who is calling, CSRF and the request's language."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from kgys.accounts import service as account_service
from kgys.accounts.actor import Actor
from kgys.accounts.models import LoginSession, User
from kgys.audit.mechanism import set_actor
from kgys.db import read_session, reading, unit_of_work
from kgys.errors import AuthenticationError, PermissionDenied
from kgys.runtime import Runtime

SESSION_COOKIE = "kgys_session"
LANG_COOKIE = "kgys_lang"
PRELOGIN_CSRF_COOKIE = "kgys_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def runtime(request: Request) -> Runtime:
    """The process's runtime."""
    rt: Runtime = request.app.state.runtime
    return rt


WRITES_ON_READ = "kgys_writes"


F = TypeVar("F", bound=Callable[..., Any])


def writes(endpoint: F) -> F:
    """Mark a GET endpoint whose request writes (an audited view of personal data), so that its unit of work
    is opened for writing; every other GET, HEAD or OPTIONS request only reads."""
    setattr(endpoint, WRITES_ON_READ, True)
    return endpoint


def db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the handler succeeds, rolled back otherwise.

    Requests by a safe method read without waiting on any writer; the others (and GETs marked
    :func:`writes`) may write. A database too busy to take the unit of work is :class:`Busy` (503).
    """
    rt = runtime(request)
    endpoint = request.scope.get("endpoint")
    write = request.method not in SAFE_METHODS or getattr(endpoint, WRITES_ON_READ, False)
    yield from unit_of_work(rt.sessions() if write else read_session(rt.sessions))


def reader(request: Request) -> AbstractContextManager[Session]:
    """A read-only unit of work of its own, for slow checks a request makes before it writes (a sign-in's
    password hash), so that its writing unit of work begins only after them."""
    return reading(runtime(request).sessions)


# scope="function": commit before the response is sent, so a client that follows it sees the change.
DB = Annotated[Session, Depends(db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    user: User
    actor: Actor
    login: LoginSession | None  # None for bearer tokens


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


async def form_csrf(request: Request) -> str | None:
    """The ``csrf_token`` field of a submitted form, if any."""
    ctype = request.headers.get("content-type", "")
    if request.method in SAFE_METHODS or not ctype.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return None
    form = await request.form()
    value = form.get("csrf_token")
    return value if isinstance(value, str) else None


def optional_principal(
    request: Request, session: DB, csrf_field: Annotated[str | None, Depends(form_csrf)]
) -> Principal | None:
    """The caller, if signed in (cookie with second factor passed) or holding a bearer token."""
    rt = runtime(request)
    token = _bearer(request)
    if token is not None:
        user = account_service.token_user(session=session, token=token)
        if user is None:
            raise AuthenticationError("invalid or expired token")
        actor = account_service.actor_for(user)
        set_actor(session, actor)
        return Principal(user, actor, None)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = account_service.session_user(session=session, token=cookie)
    if found is None:
        return None
    login, user = found
    if account_service.mfa_required(user, rt.settings.security) and not login.mfa_passed:
        return None
    actor = account_service.actor_for(user)
    set_actor(session, actor)
    if request.method not in SAFE_METHODS:
        _check_csrf(request, login, csrf_field)
    return Principal(user, actor, login)


def _check_csrf(request: Request, login: LoginSession, csrf_field: str | None) -> None:
    sent = request.headers.get("x-csrf-token") or csrf_field
    if not sent or not hmac.compare_digest(str(sent), login.csrf_token):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")


def principal(p: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """The caller; 401 when not signed in."""
    if p is None:
        raise AuthenticationError("sign in first")
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]


def actor(p: CurrentPrincipal) -> Actor:
    """The caller as a service actor."""
    return p.actor


CurrentActor = Annotated[Actor, Depends(actor)]
