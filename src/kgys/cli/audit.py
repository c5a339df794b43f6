"""``kgys audit``: verify the chain and checkpoints, sign a checkpoint, publish the key."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from kgys.audit import service as audit_service
from kgys.audit.export import checkpoint_rows, read_export, write_export
from kgys.audit.signing import load_public_key, public_pem
from kgys.audit.verify import verify_chain, verify_database_parallel
from kgys.cli.common import console, err_console, runtime
from kgys.errors import KgysError

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command()
def verify(
    public_key: Annotated[Path | None, typer.Option(help="Published PEM public key (default: derive "
                                                    "from the configured signing key)")] = None,
    all_problems: Annotated[bool, typer.Option("--all", help="List every problem, not just the first")] = False,
    file: Annotated[Path | None, typer.Option("--file", help="Verify an export (kgys audit export) instead of "
                                              "the database; needs --public-key")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes, each verifying a range "
                                             "of the log (default: the number of CPUs)")] = None,
) -> None:
    """Recompute the hash chain and check every signed checkpoint; exit 1 naming the first bad entry."""
    started = time.perf_counter()
    if file is not None:
        if public_key is None:
            err_console.print("[red]error:[/] --file needs --public-key (the key the operator published)")
            raise typer.Exit(2)
        try:
            key = load_public_key(public_key.read_bytes())
            rows, cps = read_export(file)
        except (KgysError, OSError) as exc:
            err_console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from exc
        report = verify_chain(rows, cps, key, stop_at_first=not all_problems)
    else:
        with runtime(upgrade=False) as rt:
            key = load_public_key(public_key.read_bytes()) if public_key else rt.signer.public
            report = verify_database_parallel(rt.engine.url.render_as_string(hide_password=False), key,
                                              jobs=jobs or os.cpu_count() or 1, stop_at_first=not all_problems)
    took = time.perf_counter() - started
    if report.ok:
        console.print(f"[green]OK[/] {report.entries} entries, head {report.head_hash[:16]}…, "
                      f"{report.checkpoints} signed checkpoints (last at {report.last_checkpoint_seq}), "
                      f"{report.unsigned_tail} entries after it; {took:.2f} s")
        return
    for p in report.problems:
        err_console.print(f"[red]FAIL[/] entry {p.seq} ({p.kind}): {p.message}")
    raise typer.Exit(1)


@app.command()
def export(out: Annotated[Path, typer.Argument(help="File to write (JSON Lines)")]) -> None:
    """Write the whole log and its checkpoints for independent verification (with the public key)."""
    with runtime(upgrade=False) as rt, rt.engine.connect() as conn, out.open("w", encoding="utf-8") as fh:
        n = write_export(conn, fh)
    console.print(f"wrote {n} entries to {out}")


@app.command()
def checkpoints() -> None:
    """Print every signed checkpoint as JSON Lines, for publishing to oversight bodies."""
    with runtime(upgrade=False) as rt, rt.engine.connect() as conn:
        for cp in checkpoint_rows(conn):
            typer.echo(json.dumps(cp))


@app.command()
def checkpoint() -> None:
    """Sign a checkpoint over the current head now."""
    with runtime() as rt, rt.sessions.begin() as session:
        seq = audit_service.checkpoint(session, rt.signer)
    console.print(f"checkpoint at entry {seq}" if seq else "nothing new to sign")


@app.command("public-key")
def public_key_cmd() -> None:
    """Print the PEM public key that verifies checkpoints (publish it to oversight bodies)."""
    with runtime(upgrade=False) as rt:
        console.print(public_pem(rt.signer.public), end="")
