"""Entry point of the ``kgys`` command: every command and command group is registered here, once, at import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kgys import __version__
from kgys.cli import audit as audit_cli
from kgys.cli import db as db_cli
from kgys.cli import demo as demo_cli
from kgys.cli import devices as devices_cli
from kgys.cli import holds as holds_cli
from kgys.cli import recording as recording_cli
from kgys.cli import roads as roads_cli
from kgys.cli import sites as sites_cli
from kgys.cli import units as units_cli
from kgys.cli import users as users_cli
from kgys.cli.common import STATE, console, serve_web, settings, setup_logging


def root(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML settings file.")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Data directory (KGYS_DATA_DIR).")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="KGYS_DATABASE__URL")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="production, demo or dev")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Global options."""
    STATE.config, STATE.data_dir, STATE.database_url, STATE.mode = config, data_dir, database_url, mode
    setup_logging(verbose)


def version() -> None:
    """Print the version."""
    console.print(__version__)


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server processes on the port (web.workers)")
                       ] = None,
) -> None:
    """Run the HTTP API and web UI (upgrades the database first)."""
    s = settings()
    serve_web(s, host=host or s.web.host, port=port or s.web.port, workers=workers or s.web.workers)


app = typer.Typer(help="KGYS — Kent Güvenlik Yönetim Sistemi (City Security Management System).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.callback()(root)
app.command()(version)
app.command()(serve)
app.command(name="demo")(demo_cli.demo)
app.add_typer(db_cli.app, name="db")
app.add_typer(users_cli.app, name="users")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(sites_cli.app, name="sites")
app.add_typer(sites_cli.jurisdictions_app, name="jurisdictions")
app.add_typer(sites_cli.commissions_app, name="commissions")
app.add_typer(holds_cli.app, name="holds")
app.add_typer(devices_cli.app, name="devices")
app.add_typer(units_cli.app, name="units")
app.add_typer(roads_cli.app, name="roads")
app.add_typer(recording_cli.worker_app, name="worker")
app.add_typer(recording_cli.sim_app, name="sim")
app.add_typer(recording_cli.recordings_app, name="recordings")
app.add_typer(recording_cli.retention_app, name="retention")


def main() -> None:
    """Run the command line. Files it (and its child processes) create are private to its user (umask 077)."""
    os.umask(0o077)
    app()
