"""HTTP API of the accounts domain."""

from __future__ import annotations

from fastapi import Request

from kgys.accounts import service, signin, user_admin
from kgys.accounts.models import User
from kgys.accounts.permissions import Perm
from kgys.accounts.schemas import MyPreferences, TokenOut, TokenRequest, UserCreate, UserOut
from kgys.errors import AuthenticationError
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, CurrentPrincipal, reader, runtime
from kgys.web.routing import Router

router = Router(tags=["accounts"])


def user_out(user: User) -> UserOut:
    """API form of a user."""
    scope = [s.jurisdiction.code for s in user.scopes if s.jurisdiction is not None]
    scope += [f"site:{s.site_id}" for s in user.scopes if s.site_id is not None]
    return UserOut(username=user.username, full_name=user.full_name, email=user.email, role=user.role,
                   is_active=user.is_active, mfa_enrolled=user.totp_confirmed, scope=scope,
                   last_login_at=user.last_login_at, time_zone=user.time_zone)


@router.post("/auth/token", response_model=TokenOut, responses=errors(401))
def issue_token(body: TokenRequest, session: DB, request: Request) -> TokenOut:
    """Exchange username, password (and TOTP code where the role needs one) for a bearer token."""
    settings = runtime(request).settings.security
    with reader(request) as before:
        checked = signin.check_password(session=before, username=body.username, password=body.password)
    try:
        user = signin.authenticate(session=session, settings=settings, username=body.username,
                                    password=body.password, checked=checked)
        if service.mfa_required(user, settings):
            if not user.totp_confirmed:
                raise AuthenticationError("enrol a second factor in the web UI first")
            signin.check_totp(session=session, settings=settings, box=runtime(request).box, user=user,
                               code=body.totp or "")
    except AuthenticationError:
        session.commit()  # keep the failure count and its audit entry
        raise
    return TokenOut(token=service.issue_token(session=session, settings=settings, user=user, name=body.name))


@router.get("/me", response_model=UserOut)
def me(p: CurrentPrincipal) -> UserOut:
    """The signed-in user."""
    return user_out(p.user)


@router.patch("/me", response_model=UserOut, responses=errors(422))
def change_me(body: MyPreferences, session: DB, p: CurrentPrincipal) -> UserOut:
    """Change the signed-in user's own preferences: the time zone they read and type times in (null: the
    installation's)."""
    return user_out(user_admin.set_own_time_zone(session=session, actor=p.actor, time_zone=body.time_zone))


@router.get("/users", response_model=list[UserOut])
def list_users(session: DB, actor: CurrentActor) -> list[UserOut]:
    """Every user (administrators)."""
    actor.require(Perm.USERS_MANAGE)
    return [user_out(u) for u in service.list_users(session=session, actor=actor)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, session: DB, actor: CurrentActor, request: Request) -> UserOut:
    """Create a user (administrators)."""
    actor.require(Perm.USERS_MANAGE)
    user = service.create_user(session=session, actor=actor, username=body.username, password=body.password,
                               role=body.role.value, full_name=body.full_name, email=body.email,
                               jurisdiction_codes=body.jurisdictions, site_codes=body.sites,
                               settings=runtime(request).settings.security)
    if body.time_zone is not None:
        user = user_admin.set_time_zone(session=session, actor=actor, username=user.username,
                                        time_zone=body.time_zone)
    return user_out(user)


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(username: str, session: DB, actor: CurrentActor) -> UserOut:
    """Disable a user and end their sessions (administrators)."""
    actor.require(Perm.USERS_MANAGE)
    return user_out(service.set_active(session=session, actor=actor, username=username, active=False))

