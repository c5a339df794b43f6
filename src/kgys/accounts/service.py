"""Reads and writes of the accounts domain: users, scopes, login, sessions and API tokens."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts import security
from kgys.accounts.actor import Actor, Scope
from kgys.accounts.models import ApiToken, Jurisdiction, LoginSession, User, UserScope
from kgys.accounts.permissions import Role
from kgys.audit import service as audit_service
from kgys.config import SecuritySettings
from kgys.db import Base, utcnow
from kgys.errors import AuthenticationError, Conflict, FieldError, NotFound, ValidationFailed

log = logging.getLogger(__name__)


def scope_of(user: User) -> Scope:
    """The scope a user's nodes grant."""
    paths: list[str] = []
    site_ids: set[int] = set()
    for s in user.scopes:
        if s.jurisdiction is not None:
            if s.jurisdiction.kind == "country":
                return Scope(is_global=True)
            paths.append(s.jurisdiction.path)
        if s.site_id is not None:
            site_ids.add(s.site_id)
    return Scope(is_global=False, paths=tuple(sorted(paths)), site_ids=frozenset(site_ids))


def actor_for(user: User) -> Actor:
    """The actor a signed-in user acts as."""
    return Actor(id=user.id, username=user.username, role=user.role, scope=scope_of(user))


def get_user(*, session: Session, username: str) -> User:
    """The user called ``username``."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def _site_paths(session: Session, site_ids: Sequence[int]) -> dict[int, str]:
    if not site_ids:
        return {}
    sites = Base.metadata.tables["sites"]  # the sites domain builds on accounts, not the reverse
    rows = session.execute(select(sites.c.id, sites.c.jurisdiction_path).where(sites.c.id.in_(list(site_ids))))
    return {int(i): str(p) for i, p in rows}


def covers_user(session: Session, actor: Actor, user: User) -> bool:
    """Whether every node of ``user``'s scope lies within ``actor``'s scope (who may manage whom)."""
    if actor.scope.is_global:
        return True
    target = scope_of(user)
    if target.is_global:
        return False
    if not all(actor.scope.covers_path(p) for p in target.paths):
        return False
    paths = _site_paths(session, sorted(target.site_ids))
    return all(actor.scope.covers(i, paths.get(i, "")) for i in target.site_ids)


def list_users(*, session: Session, actor: Actor | None = None) -> Sequence[User]:
    """Users by name; with an ``actor``, only those whose whole scope lies within the actor's."""
    users = session.scalars(select(User).order_by(User.username)).all()
    if actor is None or actor.scope.is_global:
        return users
    return [u for u in users if covers_user(session, actor, u)]


def managed_user(*, session: Session, actor: Actor, username: str) -> User:
    """A user the actor may manage; NotFound when absent or outside the actor's scope."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not covers_user(session, actor, user):
        raise NotFound(f"no user '{username}'")
    return user


def resolve_jurisdiction(*, session: Session, code: str) -> Jurisdiction:
    """The jurisdiction node with ``code``."""
    node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
    if node is None:
        raise NotFound(f"no jurisdiction with code '{code}'", code=code)
    return node


def create_user(
    *,
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    full_name: str = "",
    email: str = "",
    jurisdiction_codes: Sequence[str] = (),
    site_ids: Sequence[int] = (),
    site_codes: Sequence[str] = (),
) -> User:
    """Create a user with a role and scope nodes (jurisdictions and/or single sites); audited."""
    errors: list[FieldError] = []
    if site_codes:
        sites = Base.metadata.tables["sites"]
        found = dict(session.execute(select(sites.c.code, sites.c.id).where(sites.c.code.in_(list(site_codes)))).all())
        for code in site_codes:
            if code not in found:
                errors.append(FieldError("sites", f"no site with institution code '{code}'", value=code))
        site_ids = [*site_ids, *(int(found[c]) for c in site_codes if c in found)]
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace(
        "-", ""
    ).isalnum():
        errors.append(FieldError("username", "1–64 letters, digits, '.', '_' or '-'"))
    if role not in {r.value for r in Role}:
        errors.append(FieldError("role", f"unknown role '{role}'; one of {', '.join(r.value for r in Role)}"))
    problem = security.password_problem(password)
    if problem:
        errors.append(FieldError("password", problem))
    if not jurisdiction_codes and not site_ids and not site_codes:
        errors.append(FieldError("scope", "a user needs at least one jurisdiction or site"))
    nodes: list[Jurisdiction] = []
    for code in jurisdiction_codes:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
        if node is None:
            errors.append(FieldError("scope", f"no jurisdiction with code '{code}'", value=code))
        elif not actor.scope.covers_path(node.path):
            errors.append(FieldError("scope", f"jurisdiction '{code}' is outside your scope", value=code))
        else:
            nodes.append(node)
    site_paths = _site_paths(session, site_ids)
    codes = {sid: code for code, sid in found.items()} if site_codes else {}
    for sid in site_ids:
        if sid not in site_paths or not actor.scope.covers(sid, site_paths[sid]):  # outside the scope: as if absent
            if sid in codes:
                errors.append(FieldError("sites", f"no site with institution code '{codes[sid]}'", value=codes[sid]))
            else:
                errors.append(FieldError("scope", f"no site {sid}", value=str(sid)))
    if errors:
        raise ValidationFailed(errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user '{username}' already exists")
    user = User(
        username=username, role=role, full_name=full_name, email=email,
        password_hash=security.hash_password(password), password_changed_at=utcnow(),
    )
    user.scopes = [UserScope(jurisdiction_id=n.id) for n in nodes] + [UserScope(site_id=i) for i in site_ids]
    session.add(user)
    session.flush()
    audit_service.append(
        session, actor=actor, action="user.create", object_type="user", object_id=username,
        details={"role": role, "jurisdictions": list(jurisdiction_codes), "sites": list(site_ids)},
    )
    return user


def set_active(*, session: Session, actor: Actor, username: str, active: bool) -> User:
    """Enable or disable a user; disabling ends their sessions and tokens."""
    user = managed_user(session=session, actor=actor, username=username)
    user.is_active = active
    if not active:
        for ls in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
            session.delete(ls)
        for tok in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            tok.revoked = True
    session.flush()
    audit_service.append(session, actor=actor, action="user.enable" if active else "user.disable",
                         object_type="user", object_id=username)
    return user


def reset_password(*, session: Session, actor: Actor, username: str, password: str,
                   reset_totp: bool = False) -> User:
    """Set a new password (and optionally a new second factor); unlocks the account."""
    user = managed_user(session=session, actor=actor, username=username)
    problem = security.password_problem(password)
    if problem:
        raise ValidationFailed([FieldError("password", problem)])
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    if reset_totp:
        user.totp_secret = None
        user.totp_confirmed = False
    session.flush()
    audit_service.append(session, actor=actor, action="user.reset_password", object_type="user",
                         object_id=username, details={"totp_reset": reset_totp})
    return user


def mfa_required(user: User, settings: SecuritySettings) -> bool:
    """Whether this user's role needs a TOTP second factor."""
    return user.role in settings.mfa_roles


def authenticate(*, session: Session, settings: SecuritySettings, username: str, password: str,
                 now: datetime | None = None) -> User:
    """Check a username and password, counting failures and locking the account after too many.

    Failures are recorded (and audited) even though the caller's request fails, so the caller must
    commit the session after an AuthenticationError.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username))
    anon = Actor(id=None, username=username[:64] or "?", role="anonymous", scope=Scope())
    if user is None:
        security.verify_password(_dummy_hash(), password)  # same time as a real check
        audit_service.append(session, actor=anon, action="login.fail", object_type="user",
                             object_id=username[:64], details={"why": "unknown user"})
        raise AuthenticationError("wrong username or password")
    if user.locked_until is not None and user.locked_until > now:
        audit_service.append(session, actor=anon, action="login.fail", object_type="user",
                             object_id=username, details={"why": "locked"})
        raise AuthenticationError("account locked; try again later or ask an administrator",
                                  locked_until=user.locked_until.isoformat())
    if not user.is_active or not security.verify_password(user.password_hash, password):
        user.failed_logins += 1
        why = "disabled" if not user.is_active else "bad password"
        if user.failed_logins >= settings.lockout_threshold:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            why += "; locked"
        session.flush()
        audit_service.append(session, actor=anon, action="login.fail", object_type="user",
                             object_id=username, details={"why": why})
        raise AuthenticationError("wrong username or password")
    user.failed_logins = 0
    user.locked_until = None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


def check_totp(*, session: Session, user: User, code: str) -> None:
    """Verify a TOTP code; the first valid code confirms a new enrolment."""
    if not user.totp_secret or not security.totp_valid(user.totp_secret, code):
        audit_service.append(session, actor=actor_for(user), action="login.mfa_fail", object_type="user",
                             object_id=user.username)
        raise AuthenticationError("wrong or expired code")
    if not user.totp_confirmed:
        user.totp_confirmed = True
        audit_service.append(session, actor=actor_for(user), action="user.mfa_enrol", object_type="user",
                             object_id=user.username)


def ensure_totp_secret(*, session: Session, user: User) -> str:
    """The user's TOTP secret, creating one for enrolment if none exists."""
    if not user.totp_secret:
        user.totp_secret = security.new_totp_secret()
        user.totp_confirmed = False
        session.flush()
    return user.totp_secret


def start_session(*, session: Session, settings: SecuritySettings, user: User, mfa_passed: bool,
                  user_agent: str = "", ip: str = "") -> tuple[str, LoginSession]:
    """Create a browser session; returns the cookie value (only its hash is stored)."""
    for old in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                          LoginSession.expires_at <= utcnow())):
        session.delete(old)
    token = security.new_token()
    ls = LoginSession(
        token_hash=security.token_hash(token), user_id=user.id, csrf_token=security.new_token(),
        mfa_passed=mfa_passed, expires_at=utcnow() + timedelta(hours=settings.session_hours),
        user_agent=user_agent[:255], ip=ip[:64],
    )
    session.add(ls)
    if mfa_passed:
        user.last_login_at = utcnow()
    session.flush()
    if mfa_passed:
        audit_service.append(session, actor=actor_for(user), action="login.success", object_type="user",
                             object_id=user.username, details={"ip": ip})
    return token, ls


def complete_mfa(*, session: Session, login: LoginSession, user: User) -> None:
    """Mark a session as having passed the second factor."""
    login.mfa_passed = True
    user.last_login_at = utcnow()
    session.flush()
    audit_service.append(session, actor=actor_for(user), action="login.success", object_type="user",
                         object_id=user.username, details={"ip": login.ip, "mfa": True})


def session_user(*, session: Session, token: str, now: datetime | None = None
                 ) -> tuple[LoginSession, User] | None:
    """The live session and user behind a cookie value, or None."""
    now = now or utcnow()
    ls = session.scalar(select(LoginSession).where(LoginSession.token_hash == security.token_hash(token)))
    if ls is None or ls.expires_at <= now:
        return None
    user = session.get(User, ls.user_id)
    if user is None or not user.is_active:
        return None
    return ls, user


def end_session(*, session: Session, token: str) -> None:
    """Log out: delete the session behind a cookie value."""
    ls = session.scalar(select(LoginSession).where(LoginSession.token_hash == security.token_hash(token)))
    if ls is not None:
        user = session.get(User, ls.user_id)
        session.delete(ls)
        if user is not None:
            audit_service.append(session, actor=actor_for(user), action="logout", object_type="user",
                                 object_id=user.username)


def revoke_tokens(*, session: Session, actor: Actor, username: str) -> int:
    """Revoke every API token of a user and end their browser sessions; returns the tokens revoked."""
    user = managed_user(session=session, actor=actor, username=username)
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))).all()
    for tok in tokens:
        tok.revoked = True
    for ls in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
        session.delete(ls)
    session.flush()
    audit_service.append(session, actor=actor, action="token.revoke", object_type="user", object_id=username,
                         details={"tokens": len(tokens)})
    return len(tokens)


def purge_expired(*, session: Session, now: datetime | None = None) -> int:
    """Delete expired browser sessions and expired or revoked tokens; returns how many rows went."""
    now = now or utcnow()
    gone = 0
    for ls in session.scalars(select(LoginSession).where(LoginSession.expires_at <= now)):
        session.delete(ls)
        gone += 1
    for tok in session.scalars(select(ApiToken).where((ApiToken.expires_at <= now) | ApiToken.revoked.is_(True))):
        session.delete(tok)
        gone += 1
    session.flush()
    return gone


def issue_token(*, session: Session, settings: SecuritySettings, user: User, name: str = "") -> str:
    """Create an API bearer token for ``user``; returns it once, only its hash is kept."""
    token = security.new_token()
    session.add(ApiToken(token_hash=security.token_hash(token), user_id=user.id, name=name[:120],
                         expires_at=utcnow() + timedelta(days=settings.api_token_days)))
    session.flush()
    audit_service.append(session, actor=actor_for(user), action="token.issue", object_type="user",
                         object_id=user.username, details={"name": name[:120]})
    return token


def token_user(*, session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user behind a bearer token, or None."""
    now = now or utcnow()
    tok = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.token_hash(token)))
    if tok is None or tok.revoked or tok.expires_at <= now:
        return None
    user = session.get(User, tok.user_id)
    if user is None or not user.is_active:
        return None
    return user


@functools.cache
def _dummy_hash() -> str:
    return security.hash_password("timing-equaliser-not-a-password-1")
