"""``kgys holds``: place, list and release legal holds on a camera's footage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from kgys.cli.common import cli_actor, console, runtime
from kgys.db import reading, utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.recording import holds as hold_service
from kgys.recording.flows import holds as hold_flows
from kgys.recording.models import LegalHold

app = typer.Typer(help="Legal holds: footage kept for an investigation, safe from retention and a full disk.",
                  no_args_is_help=True)

TIME_HELP = "ISO 8601 time, e.g. 2025-03-01T08:00+03:00; without an offset it is read in --tz"


def parse_time(field: str, value: str, tz: str) -> datetime:
    """An aware datetime from ISO 8601 text; a time without offset is read in zone ``tz``."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed([FieldError("tz", f"unknown time zone '{tz}'", value=tz)]) from exc
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed([FieldError(field, "not an ISO 8601 time (e.g. 2025-03-01T08:00+03:00)",
                                           value=value)]) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _fmt(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def _state(hold: LegalHold, now: datetime) -> str:
    """The hold's state as the list shows it, with when and by whom."""
    match hold_service.hold_state(hold, now):
        case "released":
            return f"released {_fmt(hold.released_at)} by {hold.released_by}"
        case "expired":
            return f"lapsed {_fmt(hold.until)}"
        case _:
            return "active" + (f" until {_fmt(hold.until)}" if hold.until else "")


@app.command("add")
def add(
    site: Annotated[str, typer.Argument(help="Institution code of the site")],
    camera: Annotated[str, typer.Argument(help="Camera name at the site")],
    start: Annotated[str, typer.Option("--from", help=TIME_HELP)],
    end: Annotated[str, typer.Option("--to", help=TIME_HELP)],
    reason: Annotated[str, typer.Option(help="Why the footage is kept (the investigation)")],
    legal_basis: Annotated[str, typer.Option("--legal-basis", help="Order, decision or file number")],
    until: Annotated[str | None, typer.Option(help=f"When the hold lapses; default: until released. {TIME_HELP}")]
    = None,
    tz: Annotated[str, typer.Option(help="Zone for times given without an offset")] = "UTC",
) -> None:
    """Hold a camera's footage over a time range."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session:
        hold, _site, _cam = hold_flows.place_hold(
            session=session, actor=actor, site=site, camera=camera, start=parse_time("from", start, tz),
            end=parse_time("to", end, tz), reason=reason, legal_basis=legal_basis,
            until=parse_time("until", until, tz) if until else None,
        )
        console.print(f"hold {hold.id} placed on {site}/{camera}: {_fmt(hold.start)} – {_fmt(hold.end)} UTC, "
                      + (f"until {_fmt(hold.until)} UTC" if hold.until else "until released"))


@app.command("list")
def list_(
    site: Annotated[str | None, typer.Option(help="Only this site")] = None,
    camera: Annotated[str | None, typer.Option(help="Only this camera (with --site)")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only holds in force now")] = False,
) -> None:
    """List legal holds, newest first."""
    actor = cli_actor()
    now = utcnow()
    with runtime() as rt, reading(rt.sessions) as session:
        rows, _total = hold_flows.find_holds(session=session, actor=actor, site=site, camera=camera,
                                             active_only=active, now=now)
        table = Table("id", "site", "camera", "from (UTC)", "to (UTC)", "state", "placed by", "reason", "legal basis")
        for hold, s, cam in rows:
            state = _state(hold, now)
            table.add_row(str(hold.id), s.code, cam.name, _fmt(hold.start), _fmt(hold.end), state, hold.created_by,
                          hold.reason, hold.legal_basis)
        console.print(table)
        console.print(f"{len(rows)} hold(s)")


@app.command("release")
def release(
    hold_id: Annotated[int, typer.Argument(help="Number of the hold")],
    reason: Annotated[str, typer.Option(help="Why the footage need no longer be kept")],
) -> None:
    """Release a hold; its record stays, and its footage falls back under the retention policy."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session:
        hold = hold_flows.release_hold(session=session, actor=actor, hold_id=hold_id, reason=reason)
        console.print(f"hold {hold.id} released by {hold.released_by} at {_fmt(hold.released_at)} UTC")
