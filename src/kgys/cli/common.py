"""What every command shares: settings from options/environment, the runtime, error printing."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from kgys.accounts.actor import Actor, system_actor
from kgys.config import Settings, load_settings
from kgys.errors import KgysError, ValidationFailed
from kgys.runtime import Runtime, make_runtime

if TYPE_CHECKING:
    from fastapi import FastAPI

console = Console()
err_console = Console(stderr=True)


class State:
    """Options given before the subcommand."""

    config: Path | None = None
    data_dir: Path | None = None
    database_url: str | None = None
    mode: str | None = None


STATE = State()


def settings(**extra: Any) -> Settings:
    """Settings from the global options, the environment and the TOML file."""
    overrides: dict[str, Any] = dict(extra)
    if STATE.data_dir is not None:
        overrides["data_dir"] = STATE.data_dir
    if STATE.mode is not None:
        overrides["mode"] = STATE.mode
    if STATE.database_url is not None:
        overrides["database"] = {"url": STATE.database_url}
    try:
        return load_settings(STATE.config, **overrides)
    except ValidationError as exc:
        for e in exc.errors():
            err_console.print(f"[red]configuration:[/] {'.'.join(str(x) for x in e['loc'])}: {e['msg']}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        err_console.print(f"[red]configuration:[/] {exc}")
        raise typer.Exit(2) from exc


def cli_actor() -> Actor:
    """The actor for command-line administration, named after the operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return system_actor(f"cli:{who}")


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Within the block, an error of kgys becomes a message (every field named) and exit code 1."""
    try:
        yield
    except ValidationFailed as exc:
        for e in exc.errors:
            err_console.print(f"[red]error:[/] {e}")
        raise typer.Exit(1) from exc
    except KgysError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc


@contextmanager
def runtime(upgrade: bool = False, **extra: Any) -> Iterator[Runtime]:
    """A runtime for one command (the schema must be current: only ``kgys db upgrade`` migrates); errors of
    kgys become a message and exit code 1."""
    with exit_on_error():
        rt = make_runtime(settings(**extra), upgrade=upgrade)
    try:
        with exit_on_error():
            yield rt
    finally:
        rt.close()


def setup_logging(verbose: bool) -> None:
    """Plain logging to stderr; schema-migration chatter only with --verbose."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


def web_app(rt: Runtime) -> FastAPI:
    """The web application on ``rt``, for the commands that serve it (``kgys serve``, ``kgys demo``)."""
    # The one import inside a function in kgys.cli: the web application (FastAPI and everything it loads) is
    # heavy, about half a second at every start, and only the commands that serve need it; the workers and
    # the administration commands start without it.
    from kgys.web.app import create_app

    return create_app(rt)


def serve_web(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Serve the web application in ``workers`` processes (see :func:`kgys.web.serving.serve`)."""
    from kgys.web.serving import serve  # loads the web application: see web_app

    serve(settings, host=host, port=port, workers=workers)
