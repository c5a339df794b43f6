"""Request dependencies: the unit of work, who is calling, CSRF and the request's language."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, TypeVar, cast

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kgys import localtime
from kgys.accounts import callers
from kgys.accounts.actor import Actor
from kgys.accounts.models import LoginSession, User
from kgys.audit.mechanism import set_actor
from kgys.db import READ_ONLY, read_session, reading, unit_of_work
from kgys.errors import AuthenticationError, PermissionDenied
from kgys.runtime import Runtime

log = logging.getLogger(__name__)

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


_Work = Generator[Session, None, None]


async def db(request: Request) -> AsyncGenerator[Session, None]:
    """One unit of work per request: committed when the handler succeeds, rolled back otherwise.

    Requests by a safe method read without waiting on any writer; the others (and GETs marked
    :func:`writes`) may write. A database too busy to take the unit of work is :class:`Busy` (503).

    Opening the session touches no database, so it happens on the event loop. A reading unit of work ends
    there too, because ending it never waits: on SQLite it only lets go of its snapshot, and on PostgreSQL
    it has no transaction to end (its statements run without one, see :data:`READ_OPTIONS`). A writing one
    ends (commit or rollback) on a worker thread of its own, shielded so that a request cancelled meanwhile
    still gives its connection back.
    """
    rt = runtime(request)
    endpoint = request.scope.get("endpoint")
    write = request.method not in SAFE_METHODS or getattr(endpoint, WRITES_ON_READ, False)
    if write:
        session = rt.sessions()
    else:
        session = read_session(rt.sessions)
        if rt.engine.dialect.name != "sqlite" and isinstance(rt.sessions.kw.get("bind"), Engine):
            session.execution_options = session.execution_options.union(READ_OPTIONS)
    work = cast(_Work, unit_of_work(session))
    next(work)
    state = _Open(work)
    _OPEN.set(state)
    try:
        yield session
    except BaseException as exc:
        if state.ended:
            raise
        state.ended = True
        if write:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_end_work, work, exc, limiter=anyio.CapacityLimiter(1))
        else:
            _end_work(work, exc)
        raise
    finally:
        _OPEN.set(None)
    if state.ended:  # ended by its handler already (kgys.web.routing)
        return
    state.ended = True
    if not write:
        _end_work(work, None)
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end_work, work, None, limiter=anyio.CapacityLimiter(1))


@dataclass
class _Open:
    """A request's unit of work, and whether it has ended."""

    work: _Work
    ended: bool = False


_OPEN: ContextVar[_Open | None] = ContextVar("kgys_unit_of_work", default=None)


def finish_unit_of_work() -> None:
    """End the request's unit of work now, on the calling thread (committed), if it has one that has not ended: for
    a handler that has made its answer and touches the database no more (:mod:`kgys.web.routing`)."""
    state = _OPEN.get()
    if state is not None and not state.ended:
        state.ended = True
        _end_work(state.work, None)


# PostgreSQL reads each statement with a snapshot of its own at READ COMMITTED, transaction or not; run
# without one, a reading request saves the BEGIN and the COMMIT, and its end does no I/O. (Sessions bound to
# one connection rather than the engine, as tests bind them inside a transaction, keep theirs.)
READ_OPTIONS = {"isolation_level": "AUTOCOMMIT"}


def _end_work(work: _Work, exc: BaseException | None) -> None:
    """Finish a unit of work begun by :func:`db`: commit it, or roll it back for ``exc`` (raising what
    :func:`unit_of_work` raises for it: ``exc`` itself, or Busy)."""
    if exc is None:
        next(work, None)
    else:
        work.throw(exc)


def reader(request: Request) -> AbstractContextManager[Session]:
    """A read-only unit of work of its own, for slow checks a request makes before it writes (a sign-in's
    password hash), so that its writing unit of work begins only after them."""
    return reading(runtime(request).sessions)


# scope="function": commit before the response is sent, so a client that follows it sees the change.
DB = Annotated[Session, Depends(db, scope="function")]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the actor, and the browser session when signed in by cookie (None for bearer
    tokens). The user's row is read only when something asks for it (:attr:`user`)."""

    actor: Actor
    login: LoginSession | None
    session: Session = field(repr=False, compare=False)

    @cached_property
    def user(self) -> User:
        """The caller's user row (read on first use, in the request's unit of work)."""
        user = self.session.get(User, self.actor.id)
        if user is None:
            raise AuthenticationError("sign in first")
        return user


def _bearer(conn: HTTPConnection) -> str | None:
    auth = conn.headers.get("authorization", "")
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


def credential(conn: HTTPConnection, session: Session) -> tuple[Actor, LoginSession | None] | None:
    """Who holds the connection's credential: a bearer token's actor (AuthenticationError if the token is bad),
    or a signed-in browser session's (second factor passed where the role needs one) with that session; None
    for neither. Requests and WebSockets alike."""
    token = _bearer(conn)
    if token is not None:
        actor = callers.token_actor(session=session, token=token)
        if actor is None:
            raise AuthenticationError("invalid or expired token")
        return actor, None
    cookie = conn.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = callers.session_actor(session=session, token=cookie)
    if found is None:
        return None
    login, actor = found
    rt: Runtime = conn.app.state.runtime
    if actor.role in rt.settings.security.mfa_roles and not login.mfa_passed:
        return None
    return actor, login


def signed_in(request: Request, session: Session, csrf_field: str | None) -> Principal | None:
    """The caller of ``request`` as :func:`optional_principal` finds it, read in ``session`` (for code outside
    the request's dependencies, e.g. an error page)."""
    return _principal(request, session, csrf_field, credential(request, session))


async def optional_principal(
    request: Request, session: DB, csrf_field: Annotated[str | None, Depends(form_csrf)]
) -> Principal | None:
    """The caller, if signed in (cookie with second factor passed) or holding a bearer token, read on a worker
    thread in the request's unit of work; on SQLite a writing request's in a read-only unit of work of its own,
    so that its writing one, which takes the write lock at its first statement, begins only with the handler's
    and no other writer waits on the hand-offs in between. (On PostgreSQL a transaction locks only the rows it
    writes, and a unit of work of its own would cost round trips of its own.)

    (Not on the event loop, even on SQLite where a read never waits on a lock: each call into the database
    lets go of the interpreter lock, and the loop's thread then waits for it behind the worker threads, up to
    a switch interval each time, which held every other request's I/O back.)
    """
    if _read_apart(session):
        found = await anyio.to_thread.run_sync(_credential_apart, request)
    else:
        found = await anyio.to_thread.run_sync(credential, request, session)
    return _principal(request, session, csrf_field, found)


def _read_apart(session: Session) -> bool:
    """Whether the caller of a request with unit of work ``session`` is read in a unit of work of its own: a
    writing one on SQLite (see :func:`optional_principal`)."""
    return not session.info.get(READ_ONLY) and session.get_bind().dialect.name == "sqlite"


def _credential_apart(request: Request) -> tuple[Actor, LoginSession | None] | None:
    with reader(request) as session:
        return credential(request, session)


def _principal(request: Request, session: Session, csrf_field: str | None,
               found: tuple[Actor, LoginSession | None] | None) -> Principal | None:
    if found is None:
        return None
    actor, login = found
    set_actor(session, actor)
    _reader_zone(request, actor)
    if login is not None and request.method not in SAFE_METHODS:
        _check_csrf(request, login, csrf_field)
    return Principal(actor, login, session)


def _reader_zone(request: Request, actor: Actor) -> None:
    """Put the zone the user chose on ``request.state.tz``, where pages read it (kgys.web.render.reader_zone)."""
    if actor.time_zone:
        try:
            request.state.tz = localtime.zone(actor.time_zone)
        except ValueError:
            log.warning("user %s has an unknown time zone %r; the installation's is used", actor.username,
                        actor.time_zone)


def _check_csrf(request: Request, login: LoginSession, csrf_field: str | None) -> None:
    sent = request.headers.get("x-csrf-token") or csrf_field
    if not sent or not hmac.compare_digest(str(sent), login.csrf_token):
        raise PermissionDenied("missing or wrong CSRF token; reload the page and try again")


# principal and actor only look at what optional_principal found: async, so they cost no worker thread.
async def principal(p: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """The caller; 401 when not signed in."""
    if p is None:
        raise AuthenticationError("sign in first")
    return p


CurrentPrincipal = Annotated[Principal, Depends(principal)]


async def actor(p: Annotated[Principal | None, Depends(optional_principal)]) -> Actor:
    """The caller as a service actor; 401 when not signed in. (It asks :func:`optional_principal` itself rather
    than through :func:`principal`: one dependency less to solve on every request.)"""
    return (await principal(p)).actor


CurrentActor = Annotated[Actor, Depends(actor)]


class Caller:
    """A request's caller, read when its handler asks for it (:meth:`actor`), on the handler's own worker thread.

    :data:`CurrentActor` reads the caller on a worker thread of its own before the handler's: two hand-offs to a
    worker thread and back for one request. The most asked-for routes take this instead, for one. What an
    unsigned caller is answered then depends on its parameters: 422 for bad ones (they are checked before the
    handler runs), 401 for good ones; a caller signed in sees no difference. A writing request's caller is read
    as :func:`optional_principal` reads it (on SQLite in a read-only unit of work of its own, so that the
    handler's writing one begins with its first write) and a browser session's CSRF token checked (from the
    ``X-CSRF-Token`` header: these routes take JSON, not forms). The handler asks for the caller before it
    writes anything.
    """

    def __init__(self, request: Request, session: Session) -> None:
        self.request = request
        self.session = session
        self._apart = _read_apart(session)
        self._actor: Actor | None = None

    def actor(self) -> Actor:
        """The caller as a service actor (read on the first call); 401 when not signed in."""
        if self._actor is None:
            found = _credential_apart(self.request) if self._apart else credential(self.request, self.session)
            p = _principal(self.request, self.session, None, found)
            if p is None:
                raise AuthenticationError("sign in first")
            self._actor = p.actor
        return self._actor


async def caller(request: Request, session: DB) -> Caller:
    """The caller of a request, to be read on the handler's thread (:class:`Caller`)."""
    return Caller(request, session)


HandlerCaller = Annotated[Caller, Depends(caller)]
