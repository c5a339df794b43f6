"""Web UI of user administration (``users.manage``): the users of the administrator's scope, found by name, role
and state; creating one; one user's page with their role and scope, name and e-mail, disabling and enabling, a
new password and a new second factor, their API tokens and their recent audit entries.

Every change goes through the accounts services, with their rules (the password policy; nobody disables, demotes
or narrows their own account or the last active administrator; a reset, a disable or a change of access ends the
user's sign-ins). What they refuse is shown on the page in the reader's language, and nothing of it is kept.
A generated password is shown once, in the answer to the form that made it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts import service, user_admin
from kgys.accounts.passwords import generate_password
from kgys.accounts.permissions import Perm, Role
from kgys.accounts.schemas import UserCreate, UserProfile
from kgys.db import utcnow
from kgys.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from kgys.web import i18n, labels
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime
from kgys.web.forms import FORM_TYPES, pydantic_errors, service_errors
from kgys.web.paging import page_number, pager
from kgys.web.render import render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

PER_PAGE = 50


def _(text: str) -> str:
    """Marks a UI text for the catalogues; it is translated where it is shown."""
    return text


# What the accounts services say about a field, with the value at fault as '%(value)s' (see _field_message).
SERVICE_MESSAGES = (
    _("no site with institution code '%(value)s'"), _("no jurisdiction with code '%(value)s'"),
    _("jurisdiction '%(value)s' is outside your scope"), _("no jurisdiction '%(value)s' within your scope"),
    _("no site '%(value)s' within your scope"), _("a user needs at least one jurisdiction or site"),
    _("1–64 letters, digits, '.', '_' or '-'"),
)
DONE = {
    "created": _("The user was created."),
    "profile": _("Saved."),
    "access": _("The role and scope were changed; the user's sign-ins were ended."),
    "disabled": _("The user was disabled; their sessions, API tokens and viewing tickets were ended."),
    "enabled": _("The user was enabled again."),
    "password": _("The password was set; the user's sign-ins were ended."),
    "mfa": _("The second factor was reset; the user enrols a new one at the next sign-in."),
    "token": _("The token was revoked."),
    "tokens": _("Every API token of the user was revoked and their sessions were ended."),
}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """Every value of every text field of a submitted form (a multiple choice sends a field many times)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    out: dict[str, list[str]] = {}
    for key, value in (await request.form()).multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _codes(text: str) -> list[str]:
    """Institution codes typed separated by commas, semicolons or spaces."""
    return [c for c in text.replace(",", " ").replace(";", " ").split() if c]


def _field_message(e: FieldError) -> str:
    """A service's message about a field in the reader's language (the value at fault kept as it was)."""
    if e.msgid is not None:  # a sentence built around values
        return service_errors([e])[e.field]
    if e.value and f"'{e.value}'" in e.message:
        try:
            return i18n.gettext(e.message.replace(f"'{e.value}'", "'%(value)s'"), value=e.value)
        except (KeyError, TypeError, ValueError):
            return e.message
    return i18n.gettext(e.message)


def _errors_of(exc: ValidationError | ValidationFailed) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        return pydantic_errors(exc)
    out: dict[str, str] = {}
    for e in exc.errors:
        out.setdefault(e.field, _field_message(e))
    return out


def _roles() -> list[tuple[str, str]]:
    return [(r.value, labels.role_label(r.value)) for r in Role]


def _redirect(username: str, done: str) -> Response:
    return RedirectResponse(f"/users/{username}?done={done}", status_code=303)


@router.get("/users")
def users_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The users of the administrator's scope by username; search, role and state filters; paged."""
    p.actor.require(Perm.USERS_MANAGE)
    q = request.query_params
    filters = {"q": q.get("q", "").strip()[:64],
               "role": q.get("role", "") if q.get("role") in {r.value for r in Role} else "",
               "state": q.get("state", "") if q.get("state") in user_admin.STATES else ""}
    now = utcnow()
    found = user_admin.find_users(session=session, actor=p.actor, text=filters["q"], role=filters["role"],
                                  state=filters["state"], now=now)
    page = page_number(q.get("page"))
    shown = found[(page - 1) * PER_PAGE:page * PER_PAGE]
    scopes = user_admin.scope_views(session=session, users=shown)
    rows = [{"u": u, "state": user_admin.state_of(u, now), "scope": scopes[u.id]} for u in shown]
    return render(request, "users/list.html", {
        "rows": rows, "filters": filters, "roles": _roles(), "states": _state_names(),
        **pager("/users", filters, page=page, total=len(found), per_page=PER_PAGE)}, p)


def _state_names() -> list[tuple[str, str]]:
    names = {"active": i18n.gettext("Enabled"), "disabled": i18n.gettext("Disabled"),
             "locked": i18n.gettext("Locked")}
    return [(s, names[s]) for s in user_admin.STATES]


def _new_page(request: Request, session: Session, p: Principal, values: dict[str, Any],
              errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "users/new.html", {
        "values": values, "errors": errors or {}, "roles": _roles(),
        "choices": user_admin.jurisdiction_choices(session=session, actor=p.actor),
        "min_length": runtime(request).settings.security.password_min_length}, p, status_code=status_code)


@router.get("/users/new")
def new_user_page(request: Request, session: DB, p: CurrentPrincipal) -> Response:
    """The form creating a user."""
    p.actor.require(Perm.USERS_MANAGE)
    return _new_page(request, session, p, {"role": Role.OPERATOR.value, "jurisdictions": [],
                                           "password_mode": "generate"})


@router.post("/users/new")
def new_user(request: Request, session: DB, p: CurrentPrincipal, form: FormLists) -> Response:
    """Create the user; show a generated password once, or go to the user's page. The form again, with what
    was refused, otherwise (and no user)."""
    p.actor.require(Perm.USERS_MANAGE)
    values: dict[str, Any] = {k: _one(form, k).strip() for k in ("username", "full_name", "email", "role", "sites")}
    values |= {"jurisdictions": [c for c in form.get("jurisdictions", []) if c],
               "password_mode": "type" if _one(form, "password_mode") == "type" else "generate"}
    settings = runtime(request).settings.security
    generated = values["password_mode"] == "generate"
    password = (generate_password(policy=service.policy_of(settings), username=values["username"],
                                  email=values["email"]) if generated else _one(form, "password"))
    try:
        data = UserCreate(username=values["username"], password=password, role=values["role"],
                          full_name=values["full_name"], email=values["email"],
                          jurisdictions=values["jurisdictions"], sites=_codes(values["sites"]))
        service.create_user(session=session, actor=p.actor, username=data.username, password=data.password,
                            role=data.role.value, full_name=data.full_name, email=data.email,
                            jurisdiction_codes=data.jurisdictions, site_codes=data.sites, settings=settings)
    except (ValidationError, ValidationFailed) as exc:
        session.rollback()
        return _new_page(request, session, p, values, _errors_of(exc), 422)
    except Conflict:
        session.rollback()
        errors = {"username": i18n.gettext("A user with this username exists already.")}
        return _new_page(request, session, p, values, errors, 409)
    if generated:
        return render(request, "users/password.html", {"username": data.username, "password": password,
                                                       "created": True}, p)
    return _redirect(data.username, "created")


def _detail(request: Request, session: Session, p: Principal, username: str, *, values: dict[str, Any] | None = None,
            errors: dict[str, str] | None = None, refusal: str | None = None, status_code: int = 200) -> Response:
    user = service.managed_user(session=session, actor=p.actor, username=username)
    view = user_admin.scope_views(session=session, users=[user])[user.id]
    values = {"full_name": user.full_name, "email": user.email, "role": user.role, "time_zone": user.time_zone or "",
              "jurisdictions": [c for c, _name in view.jurisdictions],
              "sites": " ".join(c for c, _name in view.sites)} | (values or {})
    done = DONE.get(request.query_params.get("done", ""))
    settings = runtime(request).settings.security
    return render(request, "users/detail.html", {
        "u": user, "state": user_admin.state_of(user), "scope": view, "values": values, "errors": errors or {},
        "refusal": refusal, "done": i18n.gettext(done) if done and not (errors or refusal) else None,
        "roles": _roles(), "zones": localtime.zone_names(),
        "choices": user_admin.jurisdiction_choices(session=session, actor=p.actor),
        "tokens": user_admin.tokens_of(session=session, actor=p.actor, username=username), "now": utcnow(),
        "entries": user_admin.recent_entries(session=session, actor=p.actor, username=username)
        if p.actor.can(Perm.AUDIT_READ) else [],
        "mfa_required": service.mfa_required(user, settings), "own": user.id == p.actor.id,
        "min_length": settings.password_min_length}, p, status_code=status_code)


@router.get("/users/{username}")
def user_page(request: Request, username: str, session: DB, p: CurrentPrincipal) -> Response:
    """One user: state, role and scope, sign-ins, second factor, API tokens, recent audit entries, and the forms
    that change them."""
    p.actor.require(Perm.USERS_MANAGE)
    return _detail(request, session, p, username)


def _refused(request: Request, session: Session, p: Principal, username: str, exc: Exception,
             values: dict[str, Any] | None = None) -> Response:
    """The user's page again, saying what was refused (nothing of it kept)."""
    session.rollback()
    if isinstance(exc, (ValidationError, ValidationFailed)):
        return _detail(request, session, p, username, values=values, errors=_errors_of(exc), status_code=422)
    if isinstance(exc, (PermissionDenied, Conflict)):
        return _detail(request, session, p, username, refusal=i18n.gettext(exc.message),
                       status_code=403 if isinstance(exc, PermissionDenied) else 409)
    raise exc


REFUSALS = (ValidationError, ValidationFailed, PermissionDenied, Conflict)


@router.post("/users/{username}/profile")
def change_profile(request: Request, username: str, session: DB, p: CurrentPrincipal, form: FormLists) -> Response:
    """Change the user's name and e-mail address."""
    p.actor.require(Perm.USERS_MANAGE)
    values = {"full_name": _one(form, "full_name").strip(), "email": _one(form, "email").strip(),
              "time_zone": _one(form, "time_zone").strip()}
    try:
        data = UserProfile(**values)
        user_admin.change_profile(session=session, actor=p.actor, username=username, full_name=data.full_name,
                                  email=data.email)
        user_admin.set_time_zone(session=session, actor=p.actor, username=username, time_zone=data.time_zone)
    except REFUSALS as exc:
        return _refused(request, session, p, username, exc, values)
    return _redirect(username, "profile")


@router.post("/users/{username}/access")
def change_access(request: Request, username: str, session: DB, p: CurrentPrincipal, form: FormLists) -> Response:
    """Give the user another role and scope (jurisdictions and single sites); ends their sign-ins."""
    p.actor.require(Perm.USERS_MANAGE)
    role, sites = _one(form, "role"), _one(form, "sites").strip()
    jurisdictions = [c for c in form.get("jurisdictions", []) if c]
    values: dict[str, Any] = {"role": role, "jurisdictions": jurisdictions, "sites": sites}
    try:
        service.change_access(session=session, actor=p.actor, username=username, role=role,
                              jurisdiction_codes=jurisdictions, site_codes=_codes(sites))
    except REFUSALS as exc:
        return _refused(request, session, p, username, exc, values)
    return _redirect(username, "access")


@router.post("/users/{username}/disable")
def disable_user(request: Request, username: str, session: DB, p: CurrentPrincipal) -> Response:
    """Disable the user; their sessions, tokens and viewing tickets end."""
    p.actor.require(Perm.USERS_MANAGE)
    try:
        service.set_active(session=session, actor=p.actor, username=username, active=False)
    except REFUSALS as exc:
        return _refused(request, session, p, username, exc)
    return _redirect(username, "disabled")


@router.post("/users/{username}/enable")
def enable_user(request: Request, username: str, session: DB, p: CurrentPrincipal) -> Response:
    """Enable the user again."""
    p.actor.require(Perm.USERS_MANAGE)
    service.set_active(session=session, actor=p.actor, username=username, active=True)
    return _redirect(username, "enabled")


@router.post("/users/{username}/password")
def reset_password(request: Request, username: str, session: DB, p: CurrentPrincipal, form: FormLists) -> Response:
    """Set a new password, typed or generated (shown once), and optionally a new second factor; unlocks the
    account and ends the user's sign-ins."""
    p.actor.require(Perm.USERS_MANAGE)
    settings = runtime(request).settings.security
    user = service.managed_user(session=session, actor=p.actor, username=username)
    generated = _one(form, "password_mode") != "type"
    password = (generate_password(policy=service.policy_of(settings), username=user.username, email=user.email)
                if generated else _one(form, "password"))
    try:
        service.reset_password(session=session, actor=p.actor, username=username, password=password,
                               reset_totp=_one(form, "reset_totp") in {"1", "on"}, settings=settings)
    except REFUSALS as exc:
        return _refused(request, session, p, username, exc)
    if generated:
        return render(request, "users/password.html", {"username": username, "password": password,
                                                       "created": False}, p)
    return _redirect(username, "password")


@router.post("/users/{username}/second-factor")
def reset_second_factor(request: Request, username: str, session: DB, p: CurrentPrincipal) -> Response:
    """Forget the user's second factor: the next sign-in enrols a new one; ends their sign-ins."""
    p.actor.require(Perm.USERS_MANAGE)
    user_admin.reset_second_factor(session=session, actor=p.actor, username=username)
    return _redirect(username, "mfa")


@router.post("/users/{username}/tokens/{token_id}/revoke")
def revoke_token(request: Request, username: str, token_id: int, session: DB, p: CurrentPrincipal) -> Response:
    """Revoke one API token of the user."""
    p.actor.require(Perm.USERS_MANAGE)
    user_admin.revoke_token(session=session, actor=p.actor, username=username, token_id=token_id)
    return _redirect(username, "token")


@router.post("/users/{username}/tokens/revoke")
def revoke_tokens(request: Request, username: str, session: DB, p: CurrentPrincipal) -> Response:
    """Revoke every API token of the user and end their sessions."""
    p.actor.require(Perm.USERS_MANAGE)
    service.revoke_tokens(session=session, actor=p.actor, username=username)
    return _redirect(username, "tokens")
