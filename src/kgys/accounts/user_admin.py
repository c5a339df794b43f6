"""What the user-administration pages read and change beyond :mod:`kgys.accounts.service`: users found by name,
role and state; their scope in words; their API tokens one by one; a change of name or e-mail address or of the
time zone (by an administrator, or by the user for themself); a second factor reset on its own; the recent audit
entries of and about a user.

Every user is reached through :func:`kgys.accounts.service.managed_user` (absent or outside the actor's scope:
NotFound), every change is audited in the same transaction, and services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kgys.accounts import service
from kgys.accounts.actor import Actor
from kgys.accounts.models import ApiToken, Jurisdiction, User
from kgys.accounts.permissions import Perm
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.models import AuditEntry
from kgys.db import Base, utcnow
from kgys.errors import NotFound

STATES = ("active", "disabled", "locked")


@dataclass(frozen=True)
class ScopeView:
    """A user's scope nodes for people: jurisdictions as (code, "province / district") and sites as (institution
    code, name)."""

    jurisdictions: list[tuple[str, str]] = field(default_factory=list)
    sites: list[tuple[str, str]] = field(default_factory=list)


def state_of(user: User, now: datetime | None = None) -> str:
    """``disabled``, ``locked`` (too many failed sign-ins, for now) or ``active``."""
    if not user.is_active:
        return "disabled"
    if user.locked_until is not None and user.locked_until > (now or utcnow()):
        return "locked"
    return "active"


def find_users(*, session: Session, actor: Actor, text: str = "", role: str = "", state: str = "",
               now: datetime | None = None) -> list[User]:
    """The users the actor may manage, by username, whose username, name or e-mail contains ``text`` (any case),
    of ``role`` and in ``state`` (each ignored when empty)."""
    now = now or utcnow()
    stmt = select(User).order_by(User.username)
    if text:
        stmt = stmt.where(or_(User.username.icontains(text, autoescape=True),
                              User.full_name.icontains(text, autoescape=True),
                              User.email.icontains(text, autoescape=True)))
    if role:
        stmt = stmt.where(User.role == role)
    if state == "disabled":
        stmt = stmt.where(User.is_active.is_(False))
    elif state == "locked":
        stmt = stmt.where(User.is_active.is_(True), User.locked_until > now)
    elif state == "active":
        stmt = stmt.where(User.is_active.is_(True), or_(User.locked_until.is_(None), User.locked_until <= now))
    users = session.scalars(stmt).all()
    return [u for u in users if service.covers_user(session, actor, u)]


def scope_views(*, session: Session, users: Sequence[User]) -> dict[int, ScopeView]:
    """Each user's scope nodes named: districts with their province, single sites with their name."""
    codes = {c for u in users for s in u.scopes if s.jurisdiction is not None
             for c in s.jurisdiction.path.strip("/").split("/")}
    names: dict[str, str] = {}
    if codes:
        rows = session.execute(select(Jurisdiction.code, Jurisdiction.name).where(Jurisdiction.code.in_(sorted(codes))))
        names = {str(c): str(n) for c, n in rows}
    site_ids = sorted({s.site_id for u in users for s in u.scopes if s.site_id is not None})
    sites: dict[int, tuple[str, str]] = {}
    if site_ids:
        table = Base.metadata.tables["sites"]  # the sites domain builds on accounts, not the reverse
        site_rows = session.execute(select(table.c.id, table.c.code, table.c.name).where(table.c.id.in_(site_ids)))
        sites = {int(i): (str(c), str(n)) for i, c, n in site_rows}
    out: dict[int, ScopeView] = {}
    for u in users:
        view = ScopeView()
        for s in u.scopes:
            if s.jurisdiction is not None:
                path = s.jurisdiction.path.strip("/").split("/")
                shown = path[1:] if len(path) > 1 else path  # the country is implied below it
                view.jurisdictions.append((s.jurisdiction.code, " / ".join(names.get(c, c) for c in shown)))
            if s.site_id is not None:
                view.sites.append(sites.get(s.site_id, (str(s.site_id), "")))
        view.jurisdictions.sort()
        view.sites.sort()
        out[u.id] = view
    return out


def jurisdiction_choices(*, session: Session, actor: Actor) -> list[tuple[str, str, int]]:
    """The jurisdiction nodes the actor may give, in tree order: (code, name, depth from the country)."""
    nodes = session.scalars(select(Jurisdiction).order_by(Jurisdiction.path)).all()
    return [(j.code, j.name, j.path.strip("/").count("/")) for j in nodes if actor.scope.covers_path(j.path)]


def change_profile(*, session: Session, actor: Actor, username: str, full_name: str, email: str) -> User:
    """Change a user's name and e-mail address; audited with the fields that changed (no change, no entry)."""
    user = service.managed_user(session=session, actor=actor, username=username)
    changed = [name for name, old, new in (("full_name", user.full_name, full_name), ("email", user.email, email))
               if old != new]
    if not changed:
        return user
    user.full_name, user.email = full_name, email
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.USER_UPDATE, object_type="user",
                         object_id=username, details={"fields": changed})
    return user


def _set_zone(session: Session, actor: Actor, user: User, time_zone: str | None) -> User:
    """Give ``user`` the zone ``time_zone`` (a checked IANA name; None for the installation's); audited when it
    changes."""
    if user.time_zone == time_zone:
        return user
    user.time_zone = time_zone
    session.flush()
    audit_service.append(session, actor=actor, action=AuditAction.USER_UPDATE, object_type="user",
                         object_id=user.username, details={"fields": ["time_zone"], "time_zone": time_zone})
    return user


def set_time_zone(*, session: Session, actor: Actor, username: str, time_zone: str | None) -> User:
    """An administrator sets the zone a user reads and types times in (None: the installation's)."""
    return _set_zone(session, actor, service.managed_user(session=session, actor=actor, username=username),
                     time_zone)


def set_own_time_zone(*, session: Session, actor: Actor, time_zone: str | None) -> User:
    """A user sets the zone they read and type times in (None: the installation's)."""
    user = session.get(User, actor.id) if actor.id is not None else None
    if user is None:
        raise NotFound("no such user")
    return _set_zone(session, actor, user, time_zone)


def reset_second_factor(*, session: Session, actor: Actor, username: str) -> User:
    """Forget a user's second factor (the next sign-in enrols a new one) and end every sign-in of the user."""
    user = service.managed_user(session=session, actor=actor, username=username)
    user.totp_secret = None
    user.totp_confirmed = False
    user.totp_last_step = None
    revoked = service.end_sign_ins(session=session, user=user)
    audit_service.append(session, actor=actor, action=AuditAction.USER_MFA_RESET, object_type="user",
                         object_id=username, details={"tokens_revoked": revoked})
    return user


def tokens_of(*, session: Session, actor: Actor, username: str) -> list[ApiToken]:
    """A user's API tokens, newest first (revoked and expired ones too)."""
    user = service.managed_user(session=session, actor=actor, username=username)
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(*, session: Session, actor: Actor, username: str, token_id: int) -> ApiToken:
    """Revoke one API token of a user (its other tokens and sessions stay); audited. NotFound for a token that
    is not the user's."""
    user = service.managed_user(session=session, actor=actor, username=username)
    tok = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if tok is None:
        raise NotFound(f"no token {token_id} of user '{username}'")
    if not tok.revoked:
        tok.revoked = True
        session.flush()
        audit_service.append(session, actor=actor, action=AuditAction.TOKEN_REVOKE, object_type="user",
                             object_id=username, details={"token": token_id, "name": tok.name})
    return tok


def recent_entries(*, session: Session, actor: Actor, username: str, limit: int = 20) -> list[AuditEntry]:
    """The newest audit entries made by a user or about them (audit readers who manage the user)."""
    actor.require(Perm.AUDIT_READ)
    service.managed_user(session=session, actor=actor, username=username)
    about = and_(AuditEntry.object_type == "user", AuditEntry.object_id == username)
    return list(session.scalars(select(AuditEntry).where(or_(AuditEntry.actor == username, about))
                                .order_by(AuditEntry.seq.desc()).limit(limit)))
