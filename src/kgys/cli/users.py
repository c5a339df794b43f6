"""``kgys users``: administer accounts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from kgys.accounts import scheduled as accounts_scheduled
from kgys.accounts import service
from kgys.accounts.permissions import Role
from kgys.cli.common import cli_actor, console, runtime
from kgys.db import reading, utcnow

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command()
def create(
    username: str,
    role: Annotated[Role, typer.Option(help="The user's role")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    scope: Annotated[list[str] | None, typer.Option(help="Jurisdiction code(s) the user may act in (repeat)")] = None,
    site: Annotated[list[str] | None, typer.Option(help="Institution code of a single site (repeat); "
                                                   "for school administrators")] = None,
    full_name: str = "",
    email: str = "",
) -> None:
    """Create a user with a role, scoped to jurisdictions (--scope) and/or single sites (--site)."""
    with runtime() as rt, rt.sessions.begin() as session:
        service.create_user(session=session, actor=cli_actor(), username=username, password=password,
                            role=role.value, full_name=full_name, email=email,
                            jurisdiction_codes=scope or [], site_codes=site or [], settings=rt.settings.security)
    console.print(f"created [bold]{username}[/] ({role.value})")


@app.command("list")
def list_() -> None:
    """List users with role, scope and state."""
    with runtime() as rt, reading(rt.sessions) as session:
        table = Table("username", "role", "scope", "active", "2FA", "last login")
        for u in service.list_users(session=session):
            scope = ", ".join(s.jurisdiction.code if s.jurisdiction else f"site:{s.site_id}" for s in u.scopes)
            table.add_row(u.username, u.role, scope, "yes" if u.is_active else "no",
                          "yes" if u.totp_confirmed else "-",
                          u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "-")
        console.print(table)


@app.command()
def disable(username: str) -> None:
    """Disable a user and end their sessions and tokens."""
    with runtime() as rt, rt.sessions.begin() as session:
        service.set_active(session=session, actor=cli_actor(), username=username, active=False)
    console.print(f"disabled [bold]{username}[/]")


@app.command()
def enable(username: str) -> None:
    """Enable a disabled user."""
    with runtime() as rt, rt.sessions.begin() as session:
        service.set_active(session=session, actor=cli_actor(), username=username, active=True)
    console.print(f"enabled [bold]{username}[/]")


@app.command()
def update(
    username: str,
    role: Annotated[Role | None, typer.Option(help="The user's new role")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="Jurisdiction code(s) replacing the user's scope "
                                                    "(repeat)")] = None,
    site: Annotated[list[str] | None, typer.Option(help="Institution code(s) of single sites replacing the "
                                                   "user's scope (repeat)")] = None,
) -> None:
    """Change a user's role and/or scope; ends their sessions, tokens and open streams."""
    with runtime() as rt, rt.sessions.begin() as session:
        new_scope = None if scope is None and site is None else scope or []
        service.change_access(session=session, actor=cli_actor(), username=username,
                              role=role.value if role else None, jurisdiction_codes=new_scope,
                              site_codes=site if new_scope is not None else None)
    console.print(f"updated [bold]{username}[/]")


@app.command("reset-password")
def reset_password(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    reset_2fa: Annotated[bool, typer.Option("--reset-2fa", help="Also require a new TOTP enrolment")] = False,
) -> None:
    """Set a new password (unlocks the account; ends the user's sessions, tokens and open streams)."""
    with runtime() as rt, rt.sessions.begin() as session:
        service.reset_password(session=session, actor=cli_actor(), username=username, password=password,
                               reset_totp=reset_2fa, settings=rt.settings.security)
    console.print(f"password of [bold]{username}[/] reset; their sessions, tokens and streams are ended")


@app.command()
def token(username: str, name: str = "cli") -> None:
    """Issue an API bearer token for a user (printed once)."""
    with runtime() as rt, rt.sessions.begin() as session:
        user = service.get_user(session=session, username=username)
        tok = service.issue_token(session=session, settings=rt.settings.security, user=user, name=name)
    console.print(tok)


@app.command("revoke-tokens")
def revoke_tokens(username: str) -> None:
    """Revoke every API token of a user and end their browser sessions."""
    with runtime() as rt, rt.sessions.begin() as session:
        n = service.revoke_tokens(session=session, actor=cli_actor(), username=username)
    console.print(f"revoked {n} token(s) of [bold]{username}[/]; their sessions are ended")


@app.command("purge-expired")
def purge_expired() -> None:
    """Delete expired sessions and expired or revoked tokens."""
    with runtime() as rt, rt.sessions.begin() as session:
        n = accounts_scheduled.purge(session, utcnow())
    console.print(f"removed {n} expired session(s)/token(s)")
