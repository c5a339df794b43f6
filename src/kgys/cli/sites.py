"""``kgys sites`` and ``kgys jurisdictions``: the registry from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from kgys.accounts import jurisdictions as account_jurisdictions
from kgys.accounts import service as account_service
from kgys.accounts.schemas import JurisdictionCreate
from kgys.audit.mechanism import acting_as
from kgys.cameras.flows import imports as camera_imports
from kgys.cli.common import cli_actor, console, err_console, runtime
from kgys.db import reading
from kgys.errors import ValidationFailed
from kgys.sites import gazetteer
from kgys.sites import service as site_service
from kgys.sites.flows import jurisdictions
from kgys.sites.schemas import SiteFilter

app = typer.Typer(help="Sites (schools, kindergartens, colleges, city points).", no_args_is_help=True)
jurisdictions_app = typer.Typer(help="The jurisdiction tree: country → province → district.",
                                no_args_is_help=True)


@app.command("list")
def list_(
    jurisdiction: Annotated[str | None, typer.Option(help="Province or district code")] = None,
    q: Annotated[str | None, typer.Option(help="Search in name, code, address")] = None,
    limit: int = 50,
) -> None:
    """List sites by priority."""
    with runtime() as rt, reading(rt.sessions) as session:
        rows, total = site_service.list_sites(session=session, actor=cli_actor(),
                                              filters=SiteFilter(jurisdiction=jurisdiction, q=q), per_page=limit)
        table = Table("code", "name", "type", "district", "priority", "roll-out", "compliance")
        for s in rows:
            table.add_row(s.code, s.name, s.type, s.jurisdiction.code, str(s.priority), s.rollout_status,
                          s.compliance_status)
        console.print(table)
        console.print(f"{len(rows)} of {total}")


@jurisdictions_app.command("add")
def add_jurisdiction(
    code: str,
    name: str,
    kind: Annotated[str, typer.Option(help="province or district")],
    parent: Annotated[str, typer.Option(help="Code of the country (for a province) or province")],
) -> None:
    """Add a province or a district."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        node = account_jurisdictions.create_jurisdiction(session=session, actor=actor, data=JurisdictionCreate(
            code=code, name=name, kind=kind, parent=parent))
        console.print(f"added {node.kind} {node.code} at {node.path}")


@jurisdictions_app.command("add-country")
def add_country(code: str, name: str) -> None:
    """Create the root of the tree (once per installation)."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        account_jurisdictions.create_country(session=session, actor=actor, code=code, name=name)
    console.print(f"added country {code}")


@jurisdictions_app.command("add-province")
def add_province(
    province: Annotated[str, typer.Argument(help="Plate code (06) or name (Ankara) of a province of Türkiye")],
) -> None:
    """Register a province of Türkiye and all its districts from the list shipped with kgys."""
    listed = gazetteer.province(province)
    if listed is None:
        err_console.print(f"[red]error:[/] '{province}' is not a plate code or name of a province of Türkiye")
        raise typer.Exit(1)
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        made = jurisdictions.add_listed(session=session, actor=actor, province=listed)
    console.print(f"{listed.name}: {len(made)} jurisdiction(s) added"
                  + (f" ({', '.join(n.code for n in made[:5])}{' …' if len(made) > 5 else ''})" if made else ""))


@jurisdictions_app.command("list")
def list_jurisdictions() -> None:
    """Show the tree."""
    with runtime() as rt, reading(rt.sessions) as session:
        for node in site_service.list_jurisdictions(session=session, actor=cli_actor()):
            depth = node.path.count("/") - 2
            console.print(f"{'  ' * depth}{node.code}  {node.name}  [dim]({node.kind})[/]")


@app.command("import")
def import_(
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="CSV (UTF-8, Windows-1254, ISO-8859-9 or UTF-16; "
                                                              "';', ',' or tab) or XLSX file")],
    kind: Annotated[str | None, typer.Option(help="sites, recorders or cameras (default: from the header)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; write nothing")]
    = False,
    as_user: Annotated[str | None, typer.Option("--as", help="Act as this user, within the user's scope")] = None,
) -> None:
    """Import sites, recorders or cameras from a CSV or XLSX file: every row, or none if any is wrong."""
    data = file.read()
    name = getattr(file, "name", "") or ""
    with runtime() as rt, rt.sessions.begin() as session:
        actor = cli_actor()
        if as_user is not None:
            user = account_service.get_user(session=session, username=as_user)
            if not user.is_active:
                err_console.print(f"[red]error:[/] user '{as_user}' is disabled")
                raise typer.Exit(1)
            actor = account_service.actor_for(user)
        with acting_as(session, actor), Progress(TextColumn("{task.description}"), BarColumn(),
                                                 MofNCompleteColumn(), console=err_console, transient=True) as bar:
            task = bar.add_task("checking" if dry_run else "importing", total=None)

            def step(done: int, total: int) -> None:
                if done == 1 or done % 100 == 0 or done == total:
                    bar.update(task, completed=done, total=total)

            try:
                summary = camera_imports.import_file(session=session, actor=actor, box=rt.box, data=data,
                                                     filename=str(name).rsplit("/", 1)[-1], kind=kind,
                                                     dry_run=dry_run, progress=step)
            except ValidationFailed as exc:
                bar.stop()
                table = Table("row", "column", "message", title=exc.message, title_justify="left")
                for e in exc.errors:
                    table.add_row("" if e.row is None else str(e.row), e.field, e.message)
                err_console.print(table)
                raise typer.Exit(1) from exc
        table = Table("row", "key", "action", "changes")
        for change in summary.changes[:20]:
            table.add_row(str(change.row), change.key, change.action,
                          "; ".join(f"{f}: {a!s} → {b!s}" if a is not None else f"{f}: {b!s}"
                                    for f, (a, b) in change.fields.items()))
        if summary.changes:
            console.print(table)
        if len(summary.changes) > 20:
            console.print(f"… and {len(summary.changes) - 20} more changed rows")
        for warning in summary.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        if summary.jurisdictions_created:
            console.print(f"registered from the list of Türkiye's provinces and districts: "
                          f"{', '.join(summary.jurisdictions_created)}")
        console.print(f"{summary.kind}: {summary.created} created, {summary.updated} updated, "
                      f"{summary.unchanged} unchanged" + (" (dry run: nothing was written)" if dry_run else ""))


commissions_app = typer.Typer(help="Roll-out commissions of provinces and districts.", no_args_is_help=True)


@commissions_app.command("set")
def set_commission(
    jurisdiction: Annotated[str, typer.Argument(help="Province or district code")],
    chair: Annotated[str, typer.Option(help="Deputy governor (province) or district governor (district)")],
    police: Annotated[str, typer.Option(help="Police member")] = "",
    gendarmerie: Annotated[str, typer.Option(help="Gendarmerie member")] = "",
    education: Annotated[str, typer.Option(help="Education directorate member")] = "",
    email: Annotated[str, typer.Option(help="Contact e-mail")] = "",
) -> None:
    """Create or update a commission."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        site_service.set_commission(session=session, actor=actor, jurisdiction=jurisdiction, chair=chair,
                                    police_member=police, gendarmerie_member=gendarmerie,
                                    education_member=education, contact_email=email)
    console.print(f"commission of {jurisdiction} saved")


@commissions_app.command("list")
def list_commissions() -> None:
    """Show every commission."""
    with runtime() as rt, reading(rt.sessions) as session:
        table = Table("jurisdiction", "chair", "police", "gendarmerie", "education", "e-mail")
        for c in site_service.list_commissions(session=session, actor=cli_actor()):
            table.add_row(c.jurisdiction.code, c.chair, c.police_member, c.gendarmerie_member, c.education_member,
                          c.contact_email)
        console.print(table)
