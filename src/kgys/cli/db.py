"""``kgys db``: schema migrations."""

from __future__ import annotations

import typer

from kgys import migrate
from kgys.cli.common import console, settings
from kgys.db import make_engine

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Bring the database to the newest schema revision."""
    engine = make_engine(settings())
    try:
        migrate.upgrade(engine)
        console.print(f"database at revision [bold]{migrate.current(engine)}[/]")
    finally:
        engine.dispose()


@app.command()
def current() -> None:
    """Show the database's schema revision and the newest one shipped."""
    engine = make_engine(settings())
    try:
        console.print(f"current: {migrate.current(engine) or '(empty)'}  head: {migrate.head(engine)}")
    finally:
        engine.dispose()
