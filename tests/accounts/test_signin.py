"""Signing in: failures of either factor lock the account, codes work once, failures answer alike,
and revoking a user ends every way they are signed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kgys.accounts import security, service, signin
from kgys.accounts.models import ApiToken, LoginSession, User
from kgys.errors import AuthenticationError
from kgys.runtime import Runtime
from tests import factories


def _admin(session: Session, rt: Runtime) -> User:
    factories.tree(session)
    return factories.user(session, "admin", scope=["TR"], box=rt.box)


def _password(session: Session, rt: Runtime, u: User) -> None:
    signin.authenticate(session=session, settings=rt.settings.security, username=u.username,
                         password=factories.PASSWORD)


def _code(session: Session, rt: Runtime, u: User, code: str) -> None:
    signin.check_totp(session=session, settings=rt.settings.security, box=rt.box, user=u, code=code)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_wrong_codes_lock_the_account_and_then_even_the_right_code_is_refused(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    threshold = rt.settings.security.lockout_threshold
    _password(session, rt, u)
    for _ in range(threshold):
        with pytest.raises(AuthenticationError):
            _code(session, rt, u, _wrong(factories.totp_code(u)))
    assert signin.is_locked(u)
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, factories.totp_code(u))  # the right code, refused while locked
    with pytest.raises(AuthenticationError, match=signin.SIGN_IN_FAILED):
        _password(session, rt, u)  # and so is the right password


def test_a_right_password_between_wrong_codes_does_not_clear_the_count(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    for _ in range(rt.settings.security.lockout_threshold):
        _password(session, rt, u)
        with pytest.raises(AuthenticationError):
            _code(session, rt, u, _wrong(factories.totp_code(u)))
    assert signin.is_locked(u)


def test_wrong_passwords_and_wrong_codes_add_up(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    threshold = rt.settings.security.lockout_threshold
    for _ in range(threshold - 1):
        with pytest.raises(AuthenticationError):
            signin.authenticate(session=session, settings=rt.settings.security, username=u.username,
                                 password="not-the-password-9")
    _password(session, rt, u)
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, _wrong(factories.totp_code(u)))
    assert signin.is_locked(u)


def test_a_code_is_accepted_once(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    code = factories.totp_code(u)
    _code(session, rt, u, code)
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, code)  # replayed
    # an older code (the previous step, still inside the drift window) is refused after a newer one
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, factories.totp_code(u, step=-1))
    assert u.failed_logins == 2


def test_a_right_code_clears_the_failures(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, _wrong(factories.totp_code(u)))
    assert u.failed_logins == 1
    _code(session, rt, u, factories.totp_code(u))
    assert u.failed_logins == 0


def test_the_totp_secret_is_not_stored_in_clear(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    clear = factories.TOTP_SECRETS[u.username]
    stored = session.scalar(select(User.totp_secret).where(User.id == u.id))
    assert stored and clear not in stored and clear.lower() not in stored.lower()
    assert rt.box.open_text(stored) == clear
    fresh = factories.user(session, "supervisor", scope=["TR-99"])
    shown = signin.ensure_totp_secret(session=session, box=rt.box, user=fresh)  # enrolment
    assert fresh.totp_secret and shown not in fresh.totp_secret


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How many argon2 verifications each sign-in attempt makes."""
    calls: list[str] = []
    real: Callable[[str, str], bool] = security.verify_password

    def counting(stored: str, password: str) -> bool:
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(security, "verify_password", counting)
    return calls


def test_unknown_locked_disabled_and_wrong_answer_alike(session: Session, rt: Runtime,
                                                        verifications: list[str]) -> None:
    factories.tree(session)
    settings = rt.settings.security
    wrong = factories.user(session, "operator")
    locked = factories.user(session, "operator")
    disabled = factories.user(session, "operator")
    service.set_active(session=session, actor=factories.admin(), username=disabled.username, active=False)
    for _ in range(settings.lockout_threshold):
        with pytest.raises(AuthenticationError):
            signin.authenticate(session=session, settings=settings, username=locked.username, password="x-y-z-1")
    answers = []
    for username, password in (("nobody-here", factories.PASSWORD), (wrong.username, "wrong-pass-77"),
                               (locked.username, factories.PASSWORD), (disabled.username, factories.PASSWORD)):
        verifications.clear()
        with pytest.raises(AuthenticationError) as info:
            signin.authenticate(session=session, settings=settings, username=username, password=password)
        answers.append((info.value.message, info.value.params))
        assert len(verifications) == 1, username  # one argon2 check each: the time gives nothing away
    assert answers == [(signin.SIGN_IN_FAILED, {})] * 4


def test_a_password_reset_ends_sessions_tokens_and_tickets(session: Session, rt: Runtime) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    token = service.issue_token(session=session, settings=rt.settings.security, user=u)
    cookie, _ = service.start_session(session=session, settings=rt.settings.security, user=u, mfa_passed=True)
    version = u.credentials_version
    service.reset_password(session=session, actor=factories.admin(), username=u.username,
                           password="brand-new-cedar-71")
    assert service.token_user(session=session, token=token) is None
    assert service.session_user(session=session, token=cookie) is None
    assert u.credentials_version == version + 1


@pytest.mark.parametrize("change", ["disable", "role", "scope", "revoke"])
def test_disable_and_access_changes_end_every_sign_in(session: Session, rt: Runtime, change: str) -> None:
    factories.tree(session)
    u = factories.user(session, "operator")
    token = service.issue_token(session=session, settings=rt.settings.security, user=u)
    service.start_session(session=session, settings=rt.settings.security, user=u, mfa_passed=True)
    version = u.credentials_version
    admin = factories.admin()
    if change == "disable":
        service.set_active(session=session, actor=admin, username=u.username, active=False)
    elif change == "role":
        service.change_access(session=session, actor=admin, username=u.username, role="dispatcher")
    elif change == "scope":
        service.change_access(session=session, actor=admin, username=u.username, jurisdiction_codes=["TR-99-B"])
    else:
        service.revoke_tokens(session=session, actor=admin, username=u.username)
    assert service.token_user(session=session, token=token) is None
    assert session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == u.id)) == 0
    assert session.scalar(select(ApiToken.revoked).where(ApiToken.user_id == u.id)) is True
    assert u.credentials_version == version + 1


def test_a_code_used_meanwhile_by_another_sign_in_is_refused(session: Session, rt: Runtime) -> None:
    u = _admin(session, rt)
    code = factories.totp_code(u)
    step = int(datetime.now(UTC).timestamp() // 30)
    # another sign-in with the same code committed after this one read the user: its row has the step,
    # this one's copy does not
    session.execute(update(User).where(User.id == u.id).values(totp_last_step=step)
                    .execution_options(synchronize_session=False))
    assert u.totp_last_step is None
    with pytest.raises(AuthenticationError):
        _code(session, rt, u, code)
