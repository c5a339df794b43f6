"""``kgys audit``: verify the chain and checkpoints (also against witnesses), sign a checkpoint, hand checkpoints
to witnesses, publish the key."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from kgys.audit import scheduled as audit_scheduled
from kgys.audit import witness as witness_mod
from kgys.audit.checkpoints import Checkpoint, TailPolicy
from kgys.audit.export import checkpoint_rows, read_export, write_export
from kgys.audit.parallel import verify_database_parallel
from kgys.audit.report import VerifyReport
from kgys.audit.signing import load_public_key, public_pem
from kgys.audit.verify import verify_chain
from kgys.cli.common import console, err_console, runtime
from kgys.config import AuditSettings
from kgys.db import transaction
from kgys.errors import KgysError

app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _tail_policy(audit: AuditSettings, entries: int | None, seconds: float | None) -> TailPolicy:
    base = TailPolicy.from_settings(audit)
    return TailPolicy(max_entries=base.max_entries if entries is None else entries,
                      max_seconds=base.max_seconds if seconds is None else seconds)


def _held(sources: list[str]) -> dict[str, list[Checkpoint]]:
    """What each ``--witness`` source holds; exit 2 naming the source that cannot be read."""
    held: dict[str, list[Checkpoint]] = {}
    for source in sources:
        try:
            held[source] = witness_mod.read_held(source)
        except (KgysError, OSError) as exc:
            err_console.print(f"[red]error:[/] witness {source}: {exc}")
            raise typer.Exit(2) from exc
    return held


def _print(report: VerifyReport, took: float) -> None:
    if report.ok:
        witnessed = f", {report.witnessed} held by witnesses" if report.witnessed else ""
        console.print(f"[green]OK[/] {report.entries} entries, head {report.head_hash[:16]}…, "
                      f"{report.checkpoints} signed checkpoints (last at {report.last_checkpoint_seq}){witnessed}, "
                      f"{report.unsigned_tail} entries after it; {took:.2f} s")
        return
    for p in report.problems:
        err_console.print(f"[red]FAIL[/] entry {p.seq} ({p.kind}): {p.message}")
    raise typer.Exit(1)


@app.command()
def verify(
    public_key: Annotated[Path | None, typer.Option(help="Published PEM public key (default: derive "
                                                    "from the configured signing key)")] = None,
    all_problems: Annotated[bool, typer.Option("--all", help="List every problem, not just the first")] = False,
    file: Annotated[Path | None, typer.Option("--file", help="Verify an export (kgys audit export) instead of "
                                              "the database; needs --public-key")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, help="Worker processes, each verifying a range "
                                             "of the log (default: the number of CPUs)")] = None,
    witness: Annotated[list[str] | None, typer.Option(
        "--witness", help="Check against the checkpoints a witness holds: its folder, a file of checkpoint "
        "records, or an http(s) URL serving one; may be repeated")] = None,
    max_tail_entries: Annotated[int | None, typer.Option(
        min=0, help="Most entries allowed after the last checkpoint (default: audit.checkpoint_every_entries + "
        "audit.unsigned_tail_margin_entries)")] = None,
    max_tail_seconds: Annotated[float | None, typer.Option(
        min=0, help="Oldest age allowed of an entry no checkpoint covers (default: audit.checkpoint_every_minutes "
        "+ audit.unsigned_tail_margin_seconds); for --file, measured to the export's last entry")] = None,
) -> None:
    """Recompute the hash chain, check every signed checkpoint, the checkpoint chain, the unsigned tail and
    the witnesses; exit 1 naming the first bad entry."""
    started = time.perf_counter()
    held = _held(witness or [])
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
        last_ts = rows[-1][1] if rows else None
        report = verify_chain(rows, cps, key, stop_at_first=not all_problems, witnesses=held,
                              tail=_tail_policy(AuditSettings(), max_tail_entries, max_tail_seconds), now=last_ts)
    else:
        with runtime(upgrade=False) as rt:
            key = load_public_key(public_key.read_bytes()) if public_key else rt.signer.public
            report = verify_database_parallel(
                rt.engine.url.render_as_string(hide_password=False), key, jobs=jobs or os.cpu_count() or 1,
                stop_at_first=not all_problems, witnesses=held,
                tail=_tail_policy(rt.settings.audit, max_tail_entries, max_tail_seconds))
    _print(report, time.perf_counter() - started)


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
    """Sign a checkpoint over the current head now, then hand the checkpoints owed to witnesses."""
    with runtime() as rt:
        seq = audit_scheduled.sign_checkpoint(rt.sessions, rt.signer)
        console.print(f"checkpoint at entry {seq}" if seq else "nothing new to sign")
        if rt.settings.audit.witnesses:
            _deliver(rt.sessions, rt.settings.audit)


def _deliver(sessions: sessionmaker[Session], audit: AuditSettings) -> int:
    report = audit_scheduled.deliver(sessions, audit)
    with transaction(sessions) as session:
        owed = witness_mod.pending_count(session=session, witnesses=[w.name for w in audit.witnesses])
    console.print(f"handed {report.delivered} checkpoint record(s) to witnesses; {owed} still owed")
    for error in report.errors:
        err_console.print(f"[yellow]retrying later:[/] {error}")
    return report.failed


@app.command()
def deliver() -> None:
    """Hand the checkpoints owed to the configured witnesses now; exit 1 when a witness did not take one."""
    with runtime(upgrade=False) as rt:
        if not rt.settings.audit.witnesses:
            console.print("no witnesses configured (audit.witnesses)")
            return
        failed = _deliver(rt.sessions, rt.settings.audit)
    if failed:
        raise typer.Exit(1)


@app.command("public-key")
def public_key_cmd() -> None:
    """Print the PEM public key that verifies checkpoints (publish it to oversight bodies)."""
    with runtime(upgrade=False) as rt:
        console.print(public_pem(rt.signer.public), end="")
