"""Signing in: the password and the second factor, the lockout both count toward, and the secret of the
second factor (sealed with the installation's key).

An unknown user, a wrong password, a locked and a disabled account get the same answer after the same work.
Failures are recorded (and audited) although the caller's request fails, so the caller commits after an
AuthenticationError. Services flush, never commit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kgys.accounts import security
from kgys.accounts.actor import Actor, Scope
from kgys.accounts.models import LoginSession, User
from kgys.accounts.service import actor_for, mfa_required
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.config import SecuritySettings
from kgys.db import utcnow
from kgys.errors import AuthenticationError
from kgys.secretbox import SecretBox

# The one answer to every failed sign-in: unknown user, wrong password, locked or disabled account alike.
SIGN_IN_FAILED = "wrong username or password, or the account is locked"


def _count_failure(session: Session, settings: SecuritySettings, user: User, now: datetime) -> bool:
    """Count one failed sign-in step (password or second factor); True when it locks the account."""
    user.failed_logins += 1
    locked = user.failed_logins >= settings.lockout_threshold
    if locked:
        user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
        user.failed_logins = 0
        # A half-finished sign-in (password passed, second factor pending) ends with the lock.
        for ls in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id,
                                                             LoginSession.mfa_passed.is_(False))):
            session.delete(ls)
    session.flush()
    return locked


def is_locked(user: User, now: datetime | None = None) -> bool:
    """Whether the account is locked now."""
    return user.locked_until is not None and user.locked_until > (now or utcnow())


@dataclass(frozen=True)
class PasswordCheck:
    """The outcome of checking a password against the stored hash, before anything is written."""

    username: str
    user_id: int | None
    password_hash: str | None  # the stored hash the password was checked against
    matches: bool


def check_password(*, session: Session, username: str, password: str) -> PasswordCheck:
    """Check ``password`` against the user's stored hash (a dummy one for an unknown user): one argon2
    verification and nothing written, so that a sign-in spends its slow part outside any write transaction
    (on SQLite a writer holds the database's one write lock)."""
    user = session.scalar(select(User).where(User.username == username))
    matches = security.verify_password(user.password_hash if user is not None else _dummy_hash(), password)
    return PasswordCheck(username=username, user_id=user.id if user else None,
                         password_hash=user.password_hash if user else None, matches=matches)


def authenticate(*, session: Session, settings: SecuritySettings, username: str, password: str,
                 checked: PasswordCheck | None = None, now: datetime | None = None) -> User:
    """Check a username and password, counting failures and locking the account after too many.

    Unknown user, wrong password, locked or disabled account: each fails with the same message after
    one argon2 verification, so neither the answer nor its time tells them apart. ``checked`` is that
    verification done beforehand in a read-only unit of work (:func:`check_password`); it counts only if the
    stored hash is still the one it was checked against. Failures are recorded (and audited) even though
    the caller's request fails, so the caller must commit the session after an AuthenticationError. Where
    the role needs a second factor the failure count is only cleared once the code is right too (see
    :func:`check_totp`).
    """
    now = now or utcnow()
    if checked is None or checked.username != username:
        checked = check_password(session=session, username=username, password=password)
    user = session.scalar(select(User).where(User.username == username))
    anon = Actor(id=None, username=username[:64] or "?", role="anonymous", scope=Scope())
    matches = (checked.matches and user is not None and user.id == checked.user_id
               and user.password_hash == checked.password_hash)
    if user is None:
        audit_service.append(session, actor=anon, action=AuditAction.LOGIN_FAIL, object_type="user",
                             object_id=username[:64], details={"why": "unknown user"})
        raise AuthenticationError(SIGN_IN_FAILED)
    if is_locked(user, now):
        audit_service.append(session, actor=anon, action=AuditAction.LOGIN_FAIL, object_type="user",
                             object_id=username, details={"why": "locked"})
        raise AuthenticationError(SIGN_IN_FAILED)
    if not user.is_active or not matches:
        why = "disabled" if not user.is_active else "bad password"
        if _count_failure(session, settings, user, now):
            why += "; locked"
        audit_service.append(session, actor=anon, action=AuditAction.LOGIN_FAIL, object_type="user",
                             object_id=username, details={"why": why})
        raise AuthenticationError(SIGN_IN_FAILED)
    if not mfa_required(user, settings):
        user.failed_logins = 0
    user.locked_until = None
    if security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    return user


def check_totp(*, session: Session, settings: SecuritySettings, box: SecretBox, user: User, code: str,
               now: datetime | None = None) -> None:
    """Verify a TOTP code; the first valid code confirms a new enrolment.

    A wrong code counts toward the same lockout as a wrong password; while the account is locked even the
    right code is refused. Each code (its time step) is accepted once: a replay is refused. The caller
    must commit after an AuthenticationError to keep the count.
    """
    now = now or utcnow()
    step = None
    if user.totp_secret and not is_locked(user, now) and user.is_active:
        step = security.totp_step(box.open_text(user.totp_secret), code, now=now.timestamp(),
                                  after=user.totp_last_step)
    if step is not None and not _claim_step(session, user, step):
        step = None  # a concurrent sign-in used this code (or a newer one) first
    if step is None:
        why = "locked" if is_locked(user, now) else "wrong code"
        if why != "locked" and _count_failure(session, settings, user, now):
            why += "; locked"
        audit_service.append(session, actor=actor_for(user), action=AuditAction.LOGIN_MFA_FAIL, object_type="user",
                             object_id=user.username, details={"why": why})
        raise AuthenticationError("wrong or expired code")
    user.failed_logins = 0
    if not user.totp_confirmed:
        user.totp_confirmed = True
        audit_service.append(session, actor=actor_for(user), action=AuditAction.USER_MFA_ENROL, object_type="user",
                             object_id=user.username)
    session.flush()


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as the user's last accepted TOTP step unless it, or a newer one, already is. One
    conditional UPDATE, so of two sign-ins presenting the same code at once only one wins (on PostgreSQL the
    second waits for the first's row lock and then finds the condition false)."""
    session.flush()
    done = session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if getattr(done, "rowcount", 0) != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def ensure_totp_secret(*, session: Session, box: SecretBox, user: User) -> str:
    """The user's TOTP secret (in clear, for the enrolment page), creating a sealed one if none exists."""
    if not user.totp_secret:
        user.totp_secret = box.seal_text(security.new_totp_secret())
        user.totp_confirmed = False
        user.totp_last_step = None
        session.flush()
    return box.open_text(user.totp_secret)


def set_totp_secret(*, session: Session, box: SecretBox, user: User, secret: str, confirmed: bool) -> None:
    """Store ``secret`` (sealed) as the user's second factor."""
    user.totp_secret = box.seal_text(secret)
    user.totp_confirmed = confirmed
    user.totp_last_step = None
    session.flush()


@functools.cache
def _dummy_hash() -> str:
    return security.hash_password("timing-equaliser-not-a-password-1")
