"""``kgys db``: schema migrations."""

from __future__ import annotations

import typer

from kgys import migrate
from kgys.cli.common import console, exit_on_error, settings
from kgys.db import make_engine
from kgys.runtime import make_runtime

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Bring the database to the newest schema revision (with the keys some migrations need)."""
    with exit_on_error():
        rt = make_runtime(settings(), upgrade=True)
    try:
        console.print(f"database at revision [bold]{migrate.current(rt.engine)}[/]")
    finally:
        rt.close()


@app.command()
def current() -> None:
    """Show the database's schema revision and the newest one shipped."""
    engine = make_engine(settings())
    try:
        console.print(f"current: {migrate.current(engine) or '(empty)'}  head: {migrate.head(engine)}")
    finally:
        engine.dispose()
