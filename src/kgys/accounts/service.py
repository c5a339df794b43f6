"""Reads and writes of the accounts domain: users, scopes, access changes, sessions and API tokens (signing in
itself is in :mod:`kgys.accounts.signin`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys import tokens
from kgys.accounts import refusals, security
from kgys.accounts.actor import Actor, Scope
from kgys.accounts.callers import scope_of_rows
from kgys.accounts.models import ApiToken, Jurisdiction, LoginSession, User, UserScope
from kgys.accounts.passwords import PasswordPolicy, password_problem
from kgys.accounts.permissions import Role
from kgys.accounts.rules import AccessChange, access_change_problem
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.config import SecuritySettings
from kgys.db import Base, utcnow
from kgys.errors import Conflict, FieldError, NotFound, ValidationFailed

log = logging.getLogger(__name__)
ROLES = ", ".join(r.value for r in Role)


def scope_of(user: User) -> Scope:
    """The scope a user's nodes grant."""
    return _scope_of_nodes(user.scopes)


def _scope_of_nodes(nodes: Sequence[UserScope]) -> Scope:
    return scope_of_rows((s.site_id, s.jurisdiction.kind if s.jurisdiction else None,
                          s.jurisdiction.path if s.jurisdiction else None) for s in nodes)


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


def sole_site_code(*, session: Session, actor: Actor) -> str | None:
    """The code of the one site ``actor``'s scope is made of (a school's administrator), else None."""
    if actor.scope.is_global or actor.scope.paths or len(actor.scope.site_ids) != 1:
        return None
    sites = Base.metadata.tables["sites"]
    return session.scalar(select(sites.c.code).where(sites.c.id == next(iter(actor.scope.site_ids))))


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
    settings: SecuritySettings | None = None,
) -> User:
    """Create a user with a role and scope nodes (jurisdictions and/or single sites); audited.

    The password must pass the policy of ``settings`` (the defaults when None)."""
    errors: list[FieldError] = []
    if site_codes:
        sites = Base.metadata.tables["sites"]
        found = dict(session.execute(select(sites.c.code, sites.c.id).where(sites.c.code.in_(list(site_codes)))).all())
        for code in site_codes:
            if code not in found:
                errors.append(FieldError.said("sites", refusals.NO_SITE_CODE, value=code, code=code))
        site_ids = [*site_ids, *(int(found[c]) for c in site_codes if c in found)]
    if not username or len(username) > 64 or not username.replace(".", "").replace("_", "").replace(
        "-", ""
    ).isalnum():
        errors.append(FieldError("username", "1–64 letters, digits, '.', '_' or '-'"))
    if role not in {r.value for r in Role}:
        errors.append(FieldError.said("role", refusals.UNKNOWN_ROLE, role=role, roles=ROLES))
    problem = password_problem(password, policy=policy_of(settings), username=username, email=email)
    if problem:
        errors.append(FieldError("password", problem))
    if not jurisdiction_codes and not site_ids and not site_codes:
        errors.append(FieldError("scope", "a user needs at least one jurisdiction or site"))
    nodes: list[Jurisdiction] = []
    for code in jurisdiction_codes:
        node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
        if node is None:
            errors.append(FieldError.said("scope", refusals.NO_JURISDICTION, value=code, code=code))
        elif not actor.scope.covers_path(node.path):
            errors.append(FieldError.said("scope", refusals.OUTSIDE, value=code, code=code))
        else:
            nodes.append(node)
    site_paths = _site_paths(session, site_ids)
    codes = {sid: code for code, sid in found.items()} if site_codes else {}
    for sid in site_ids:
        if sid not in site_paths or not actor.scope.covers(sid, site_paths[sid]):  # outside the scope: as if absent
            if sid in codes:
                errors.append(FieldError.said("sites", refusals.NO_SITE_CODE, value=codes[sid],
                                                  code=codes[sid]))
            else:
                errors.append(FieldError.said("scope", refusals.NO_SITE, value=str(sid), site=sid))
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
        session, actor=actor, action=AuditAction.USER_CREATE, object_type="user", object_id=username,
        details={"role": role, "jurisdictions": list(jurisdiction_codes), "sites": list(site_ids)},
    )
    return user


def policy_of(settings: SecuritySettings | None) -> PasswordPolicy:
    """The password policy ``settings`` ask for (the defaults when None)."""
    settings = settings or SecuritySettings()
    return PasswordPolicy(min_length=settings.password_min_length, min_score=settings.password_min_score)


def end_sign_ins(*, session: Session, user: User) -> int:
    """End every sign-in of ``user``: browser sessions, API tokens and (through the credentials version)
    viewing tickets. Returns how many tokens were revoked."""
    for ls in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)):
        session.delete(ls)
    tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))).all()
    for tok in tokens:
        tok.revoked = True
    user.credentials_version = (user.credentials_version or 0) + 1
    session.flush()
    return len(tokens)


def _nationwide_admin(user: User, *, active: bool, role: str, scope: Scope) -> bool:
    return active and role == Role.ADMIN.value and scope.is_global


def _guard_access_change(session: Session, actor: Actor, user: User, *, active: bool, role: str, scope: Scope,
                         reduces: bool) -> None:
    """Refuse a change of ``user`` to (active, role, scope) that the rules forbid (see kgys.accounts.rules)."""
    others = 0
    before = _nationwide_admin(user, active=user.is_active, role=user.role, scope=scope_of(user))
    after = _nationwide_admin(user, active=active, role=role, scope=scope)
    if before and not after:
        candidates = session.scalars(select(User).where(User.is_active.is_(True), User.role == Role.ADMIN.value,
                                                        User.id != user.id))
        others = sum(1 for u in candidates if scope_of(u).is_global)
    problem = access_change_problem(AccessChange(own_account=actor.id is not None and actor.id == user.id,
                                                 reduces=reduces, admin_before=before, admin_after=after,
                                                 other_admins=others))
    if problem is not None:
        raise problem


def set_active(*, session: Session, actor: Actor, username: str, active: bool) -> User:
    """Enable or disable a user; disabling ends their sessions, tokens and viewing tickets.

    Nobody disables their own account, and the last active nationwide administrator is never disabled."""
    user = managed_user(session=session, actor=actor, username=username)
    if not active:
        _guard_access_change(session, actor, user, active=False, role=user.role, scope=scope_of(user),
                             reduces=True)
    user.is_active = active
    if not active:
        end_sign_ins(session=session, user=user)
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.USER_ENABLE if active else AuditAction.USER_DISABLE,
                         object_type="user", object_id=username)
    return user


def change_access(*, session: Session, actor: Actor, username: str, role: str | None = None,
                  jurisdiction_codes: Sequence[str] | None = None, site_codes: Sequence[str] | None = None) -> User:
    """Give a user another role and/or scope (the scope nodes replace the old ones); ends their sign-ins.

    Nobody changes their own role or scope, and the last active nationwide administrator stays one."""
    user = managed_user(session=session, actor=actor, username=username)
    new_role = user.role if role is None else role
    errors: list[FieldError] = []
    if new_role not in {r.value for r in Role}:
        errors.append(FieldError.said("role", refusals.UNKNOWN_ROLE, role=new_role, roles=ROLES))
    nodes: list[UserScope] | None = None
    if jurisdiction_codes is not None or site_codes is not None:
        nodes = []
        for code in jurisdiction_codes or ():
            node = session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))
            if node is None or not actor.scope.covers_path(node.path):
                errors.append(FieldError.said("scope", refusals.NOT_WITHIN, value=code, code=code))
            else:
                nodes.append(UserScope(jurisdiction_id=node.id, jurisdiction=node))
        sites = Base.metadata.tables["sites"]
        for code in site_codes or ():
            row = session.execute(select(sites.c.id, sites.c.jurisdiction_path).where(sites.c.code == code)).first()
            if row is None or not actor.scope.covers(int(row[0]), str(row[1])):
                errors.append(FieldError.said("sites", refusals.NO_SITE_WITHIN, value=code, code=code))
            else:
                nodes.append(UserScope(site_id=int(row[0])))
        if not nodes and not errors:
            errors.append(FieldError("scope", "a user needs at least one jurisdiction or site"))
    if errors:
        raise ValidationFailed(errors)
    new_scope = scope_of(user) if nodes is None else _scope_of_nodes(nodes)
    changed = new_role != user.role or (nodes is not None and new_scope != scope_of(user))
    if not changed:
        return user
    _guard_access_change(session, actor, user, active=user.is_active, role=new_role, scope=new_scope, reduces=True)
    before = {"role": user.role, "scope": _describe(scope_of(user))}
    user.role = new_role
    if nodes is not None:
        user.scopes.clear()
        session.flush()
        user.scopes.extend(nodes)
    end_sign_ins(session=session, user=user)
    audit_service.append(session, actor=actor, action=AuditAction.USER_CHANGE_ACCESS, object_type="user",
                         object_id=username,
                         details={"before": before, "after": {"role": new_role, "scope": _describe(new_scope)}})
    return user


def _describe(scope: Scope) -> dict[str, object]:
    return {"global": scope.is_global, "paths": list(scope.paths), "sites": sorted(scope.site_ids)}


def reset_password(*, session: Session, actor: Actor, username: str, password: str,
                   reset_totp: bool = False, settings: SecuritySettings | None = None) -> User:
    """Set a new password (and optionally a new second factor); unlocks the account and ends every
    sign-in of the user (sessions, tokens, viewing tickets)."""
    user = managed_user(session=session, actor=actor, username=username)
    problem = password_problem(password, policy=policy_of(settings), username=user.username, email=user.email)
    if problem:
        raise ValidationFailed([FieldError("password", problem)])
    user.password_hash = security.hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    if reset_totp:
        user.totp_secret = None
        user.totp_confirmed = False
        user.totp_last_step = None
    tokens = end_sign_ins(session=session, user=user)
    audit_service.append(session, actor=actor, action=AuditAction.USER_RESET_PASSWORD, object_type="user",
                         object_id=username, details={"totp_reset": reset_totp, "tokens_revoked": tokens})
    return user


def mfa_required(user: User, settings: SecuritySettings) -> bool:
    """Whether this user's role needs a TOTP second factor."""
    return user.role in settings.mfa_roles


def start_session(*, session: Session, settings: SecuritySettings, user: User, mfa_passed: bool,
                  user_agent: str = "", ip: str = "") -> tuple[str, LoginSession]:
    """Create a browser session; returns the cookie value (only its hash is stored)."""
    for old in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                          LoginSession.expires_at <= utcnow())):
        session.delete(old)
    token = tokens.new_token()
    ls = LoginSession(
        token_hash=tokens.token_hash(token), user_id=user.id, csrf_token=tokens.new_token(),
        mfa_passed=mfa_passed, expires_at=utcnow() + timedelta(hours=settings.session_hours),
        user_agent=user_agent[:255], ip=ip[:64],
    )
    session.add(ls)
    if mfa_passed:
        user.last_login_at = utcnow()
    session.flush()
    if mfa_passed:
        audit_service.append(session, actor=actor_for(user), action=AuditAction.LOGIN_SUCCESS, object_type="user",
                             object_id=user.username, details={"ip": ip})
    return token, ls


def complete_mfa(*, session: Session, login: LoginSession, user: User) -> None:
    """Mark a session as having passed the second factor."""
    login.mfa_passed = True
    user.last_login_at = utcnow()
    session.flush()
    audit_service.append(session, actor=actor_for(user), action=AuditAction.LOGIN_SUCCESS, object_type="user",
                         object_id=user.username, details={"ip": login.ip, "mfa": True})


def session_user(*, session: Session, token: str, now: datetime | None = None
                 ) -> tuple[LoginSession, User] | None:
    """The live session and user behind a cookie value, or None."""
    now = now or utcnow()
    ls = session.scalar(select(LoginSession).where(LoginSession.token_hash == tokens.token_hash(token)))
    if ls is None or ls.expires_at <= now:
        return None
    user = session.get(User, ls.user_id)
    if user is None or not user.is_active:
        return None
    return ls, user


def end_session(*, session: Session, token: str) -> None:
    """Log out: delete the session behind a cookie value."""
    ls = session.scalar(select(LoginSession).where(LoginSession.token_hash == tokens.token_hash(token)))
    if ls is not None:
        user = session.get(User, ls.user_id)
        session.delete(ls)
        if user is not None:
            audit_service.append(session, actor=actor_for(user), action=AuditAction.LOGOUT, object_type="user",
                                 object_id=user.username)


def revoke_tokens(*, session: Session, actor: Actor, username: str) -> int:
    """Revoke every API token of a user and end their browser sessions and viewing tickets; returns the
    tokens revoked."""
    user = managed_user(session=session, actor=actor, username=username)
    count = end_sign_ins(session=session, user=user)
    audit_service.append(session, actor=actor, action=AuditAction.TOKEN_REVOKE, object_type="user", object_id=username,
                         details={"tokens": count})
    return count


def issue_token(*, session: Session, settings: SecuritySettings, user: User, name: str = "") -> str:
    """Create an API bearer token for ``user``; returns it once, only its hash is kept."""
    token = tokens.new_token()
    session.add(ApiToken(token_hash=tokens.token_hash(token), user_id=user.id, name=name[:120],
                         expires_at=utcnow() + timedelta(days=settings.api_token_days)))
    session.flush()
    audit_service.append(session, actor=actor_for(user), action=AuditAction.TOKEN_ISSUE, object_type="user",
                         object_id=user.username, details={"name": name[:120]})
    return token


def token_user(*, session: Session, token: str, now: datetime | None = None) -> User | None:
    """The active user behind a bearer token, or None."""
    now = now or utcnow()
    tok = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.token_hash(token)))
    if tok is None or tok.revoked or tok.expires_at <= now:
        return None
    user = session.get(User, tok.user_id)
    return user if user is not None and user.is_active else None
