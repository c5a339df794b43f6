"""Web UI pages of the accounts domain: sign in, second factor, sign out, language, and one's own account (the
time zone one reads and types times in)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated
from urllib.parse import quote, urlparse

import segno
from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from kgys import localtime, tokens
from kgys.accounts import security, service, signin, user_admin
from kgys.accounts.models import LoginSession, User
from kgys.accounts.permissions import Perm
from kgys.accounts.schemas import MyPreferences
from kgys.errors import AuthenticationError
from kgys.web import i18n
from kgys.web.deps import (
    DB,
    PRELOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentPrincipal,
    Principal,
    reader,
    runtime,
    signed_in,
    writes,
)
from kgys.web.forms import FormFields, pydantic_errors
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/"
    return target


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    rt = runtime(request)
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=rt.settings.security.cookie_secure, path="/")


def _login_form_token(request: Request, cookie: str) -> str:
    """The sign-in form's CSRF token: an HMAC of the pre-login cookie under the installation's secret key."""
    key = runtime(request).settings.security.secret_key.encode("utf-8")
    return hmac.new(key, cookie.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def _login_page(request: Request, error: str | None, status_code: int = 200, next_url: str = "/") -> Response:
    token = request.cookies.get(PRELOGIN_CSRF_COOKIE) or tokens.new_token()
    resp = render(request, "login.html", {"error": error, "csrf": _login_form_token(request, token), "next": next_url},
                  status_code=status_code)
    _cookie(request, resp, PRELOGIN_CSRF_COOKIE, token, 3600)
    return resp


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form."""
    return _login_page(request, None, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: DB,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the password; continue to the second factor where the role needs one."""
    cookie = request.cookies.get(PRELOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(_login_form_token(request, cookie), csrf_token):
        return _login_page(request, i18n.gettext("The form expired. Please try again."), 400)
    settings = runtime(request).settings.security
    with reader(request) as before:
        checked = signin.check_password(session=before, username=username.strip(), password=password)
    try:
        user = signin.authenticate(session=session, settings=settings, username=username.strip(),
                                    password=password, checked=checked)
    except AuthenticationError:
        session.commit()
        # One answer for unknown user, wrong password and locked account: it tells an attacker nothing.
        msg = i18n.gettext("Wrong username or password, or the account is temporarily locked.")
        return _login_page(request, msg, 401, _safe_next(next))
    needs_mfa = service.mfa_required(user, settings)
    token, _login = service.start_session(
        session=session, settings=settings, user=user, mfa_passed=not needs_mfa,
        user_agent=request.headers.get("user-agent", ""), ip=request.client.host if request.client else "",
    )
    target = f"/login/totp?next={_safe_next(next)}" if needs_mfa else _safe_next(next)
    resp = RedirectResponse(target, status_code=303)
    _cookie(request, resp, SESSION_COOKIE, token, int(settings.session_hours * 3600))
    resp.delete_cookie(PRELOGIN_CSRF_COOKIE, path="/")
    if user.locale in i18n.LOCALES:
        resp.set_cookie("kgys_lang", user.locale, max_age=365 * 86400, samesite="lax", httponly=True)
    return resp


def _pending(request: Request, session: DB) -> tuple[LoginSession, User] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return service.session_user(session=session, token=cookie) if cookie else None


def _enrolment(secret: str, username: str) -> dict[str, str]:
    uri = security.totp_uri(secret, username)
    return {"secret": secret, "uri": uri, "qr": segno.make(uri, error="m").svg_data_uri(scale=4)}


@router.get("/login/totp")
@writes  # the first visit stores the new enrolment secret
def totp_form(request: Request, session: DB, next: str = "/") -> Response:
    """The second-factor form; shows the enrolment secret on first use."""
    found = _pending(request, session)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    login_row, user = found
    enrol = None
    if not user.totp_confirmed:
        secret = signin.ensure_totp_secret(session=session, box=runtime(request).box, user=user)
        enrol = _enrolment(secret, user.username)
    return render(request, "totp.html", {"enrol": enrol, "error": None, "csrf": login_row.csrf_token,
                                         "next": _safe_next(next)})


@router.post("/login/totp")
def totp_submit(
    request: Request,
    session: DB,
    code: Annotated[str, Form(max_length=12)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the second-factor code and finish signing in."""
    found = _pending(request, session)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    login_row, user = found
    if not hmac.compare_digest(csrf_token, login_row.csrf_token):
        return RedirectResponse("/login", status_code=303)
    rt = runtime(request)
    try:
        signin.check_totp(session=session, settings=rt.settings.security, box=rt.box, user=user, code=code)
    except AuthenticationError:
        session.commit()
        if signin.is_locked(user):  # too many wrong codes: the half-finished sign-in has ended
            resp = RedirectResponse("/login", status_code=303)
            resp.delete_cookie(SESSION_COOKIE, path="/")
            return resp
        enrol = None
        if not user.totp_confirmed and user.totp_secret:
            enrol = _enrolment(rt.box.open_text(user.totp_secret), user.username)
        return render(request, "totp.html", {"enrol": enrol, "csrf": login_row.csrf_token, "next": next,
                                             "error": i18n.gettext("Wrong or expired code.")},
                      status_code=401)
    service.complete_mfa(session=session, login=login_row, user=user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request, session: DB, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the browser session."""
    found = _pending(request, session)
    if found is not None and hmac.compare_digest(csrf_token, found[0].csrf_token):
        service.end_session(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/")
def home(request: Request, session: DB) -> Response:
    """Start page: the dashboard for those who have one, a field team's own page for its login, the school's page
    for one whose scope is that one site, else the site list."""
    p = signed_in(request, session, None)
    if p is None:
        return RedirectResponse("/login", status_code=303)
    if p.actor.can(Perm.DASHBOARD_READ):
        return RedirectResponse("/dashboard", status_code=303)
    if p.actor.can(Perm.UNITS_REPORT) and not p.actor.can(Perm.DISPATCH_READ):
        return RedirectResponse("/field", status_code=303)
    code = service.sole_site_code(session=session, actor=p.actor)
    return RedirectResponse(f"/sites/{quote(code, safe='')}" if code else "/sites", status_code=303)


def _account_page(request: Request, p: Principal, values: dict[str, str], errors: dict[str, str] | None = None,
                  saved: bool = False, status_code: int = 200) -> Response:
    return render(request, "account.html", {"u": p.user, "values": values, "errors": errors or {}, "saved": saved,
                                            "zones": localtime.zone_names()}, p, status_code=status_code)


@router.get("/account")
def account_page(request: Request, p: CurrentPrincipal) -> Response:
    """One's own account: who one is, and the time zone one reads and types times in."""
    return _account_page(request, p, {"time_zone": p.user.time_zone or ""},
                         saved=request.query_params.get("done") == "saved")


@router.post("/account")
def change_account(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Change one's own time zone (empty: the installation's); a zone that does not exist is refused (422)."""
    values = {"time_zone": form.get("time_zone", "").strip()}
    try:
        data = MyPreferences(**values)
    except ValidationError as exc:
        return _account_page(request, p, values, pydantic_errors(exc), status_code=422)
    user_admin.set_own_time_zone(session=session, actor=p.actor, time_zone=data.time_zone)
    return RedirectResponse("/account?done=saved", status_code=303)
