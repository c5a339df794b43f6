"""``kgys worker recorder|jobs``, ``kgys sim cameras N``, ``kgys recordings list|gaps|verify`` and
``kgys retention show|set|reset``."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from kgys import jobs as jobs_worker
from kgys import relay as events_relay
from kgys.cli.common import cli_actor, console, err_console, runtime, settings
from kgys.db import reading
from kgys.errors import FieldError, KgysError, ValidationFailed
from kgys.recording import worker as recorder_worker
from kgys.recording.flows import policy as policy_flows
from kgys.recording.flows import reads
from kgys.recording.retention import default_policy
from kgys.sim import kades as sim_kades_phone
from kgys.sim.cameras import SimCameras, ensure_clip

worker_app = typer.Typer(help="Long-running workers.", no_args_is_help=True)
sim_app = typer.Typer(help="Simulated devices.", no_args_is_help=True)
recordings_app = typer.Typer(help="Recorded segments, gaps and their verification.", no_args_is_help=True)
retention_app = typer.Typer(help="How long each site's footage is kept.", no_args_is_help=True)

CameraOpt = Annotated[int, typer.Option("--camera", "-c", help="Camera id")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Start, ISO 8601 (UTC if no zone); default 24 h ago")]
ToOpt = Annotated[str | None, typer.Option("--to", help="End, ISO 8601 (UTC if no zone); default now")]


def _when(text: str | None, default: datetime, name: str) -> datetime:
    if not text:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed([FieldError(name, "not an ISO 8601 date and time", value=text)]) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return _when(start, now - timedelta(hours=24), "from"), _when(end, now, "to")


def _t(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if value else "(open)"


@worker_app.command("recorder")
def worker_recorder() -> None:
    """Record every enabled camera with a stream URL until stopped (SIGTERM or Ctrl-C)."""
    with runtime() as rt:
        recorder_worker.run(rt)


@worker_app.command("jobs")
def worker_jobs(
    recorder_timeout: Annotated[float, typer.Option(
        min=5, help="Seconds without a recorder heartbeat before its cameras get a recorder_down gap")] = 30.0,
) -> None:
    """Retention, the recorder watch, session purge, audit checkpoints and measured compliance, until stopped."""
    with runtime() as rt:
        jobs_worker.run(rt, recorder_timeout=recorder_timeout)


@worker_app.command("relay")
def worker_relay() -> None:
    """Copy events to NATS JetStream (alerts.nats_url) for the servers, until stopped (SIGTERM or Ctrl-C)."""
    with runtime() as rt:
        events_relay.run(rt)


@sim_app.command("kades")
def sim_kades(
    token: Annotated[str, typer.Option(help="The phone's token (shown when it was registered against an order)")],
    url: Annotated[str, typer.Option(help="The kgys server")] = "http://127.0.0.1:8155",
    latitude: Annotated[float, typer.Option(min=35.5, max=42.5)] = 39.9334,
    longitude: Annotated[float, typer.Option(min=25.4, max=45.0)] = 32.8597,
    positions: Annotated[int, typer.Option(min=0, max=10_000, help="Position updates after the press")] = 5,
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between updates")] = 2.0,
) -> None:
    """A protected person's phone: a panic press in the app, then its position as the person moves."""
    taken = sim_kades_phone.run(url, token, walk=sim_kades_phone.Walk(latitude, longitude), positions=positions,
                                every=every, say=console.print)
    if taken == 0:
        raise typer.Exit(1)


@sim_app.command("cameras")
def sim_cameras(
    count: Annotated[int, typer.Argument(min=1, max=1000, help="Number of streams")],
    codec: Annotated[str, typer.Option(help="h264 or h265")] = "h264",
    port: Annotated[int | None, typer.Option(help="RTSP port (default recording.sim_port)")] = None,
) -> None:
    """Serve COUNT looping 1080p test streams at rtsp://127.0.0.1:PORT/camN until Ctrl-C."""
    s = settings()
    if codec not in ("h264", "h265"):
        err_console.print("[red]error:[/] --codec: use h264 or h265")
        raise typer.Exit(2)
    try:
        clip = ensure_clip(data_dir=s.data_dir, codec=codec, seconds=s.recording.sim_clip_seconds,
                           ffmpeg=s.recording.ffmpeg_path)
        sim = SimCameras(clip=clip, codec=codec, count=count, port=port or s.recording.sim_port).start()
    except KgysError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc
    console.print(f"serving {count} {codec} stream(s): {sim.url(1)} … {sim.url(count)}  (Ctrl-C stops)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.is_set() and sim.proc is not None and sim.proc.poll() is None:
            done.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()


@recordings_app.command("list")
def recordings_list(camera: CameraOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """The camera's indexed segments in a range."""
    with runtime(upgrade=False) as rt, reading(rt.sessions) as session:
        lo, hi = _range(start, end)
        rows = reads.segments(session=session, actor=cli_actor(), camera_id=camera, start=lo, end=hi)
        table = Table(title=f"camera {camera}: {len(rows)} segment(s)")
        for col in ("start", "end", "s", "bytes", "codec", "size", "sha256", "path"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(_t(r.start), _t(r.end), f"{r.duration:.2f}", str(r.bytes), r.codec,
                          f"{r.width}×{r.height}", r.sha256[:16] + "…", r.path)
        console.print(table)


@recordings_app.command("gaps")
def recordings_gaps(camera: CameraOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """The camera's gaps in a range, and its coverage per hour."""
    with runtime(upgrade=False) as rt, reading(rt.sessions) as session:
        lo, hi = _range(start, end)
        actor = cli_actor()
        rows = reads.gaps(session=session, actor=actor, camera_id=camera, start=lo, end=hi)
        table = Table(title=f"camera {camera}: {len(rows)} gap(s)")
        for col in ("start", "end", "seconds", "cause", "detail"):
            table.add_column(col, overflow="fold")
        for g in rows:
            secs = f"{(g.end - g.start).total_seconds():.1f}" if g.end else "-"
            table.add_row(_t(g.start), _t(g.end), secs, g.cause, g.detail)
        console.print(table)
        for hour, frac in reads.coverage(session=session, actor=actor, camera_id=camera, start=lo, end=hi):
            if frac > 0:
                console.print(f"{hour:%Y-%m-%d %H}:00Z  {frac * 100:6.2f} %")


@recordings_app.command("verify")
def recordings_verify(camera: CameraOpt, start: FromOpt = None, end: ToOpt = None) -> None:
    """Recompute the hashes of the camera's stored segments in a range and check the chain; exit 1 on a fault."""
    with runtime(upgrade=False) as rt, reading(rt.sessions) as session:
        lo, hi = _range(start, end)
        report = reads.verify(session=session, actor=cli_actor(), storage=recorder_worker.storage_for(rt),
                              camera_id=camera, start=lo, end=hi)
    if report.ok:
        console.print(f"[green]OK[/] camera {camera}: {report.checked} segment(s), {report.bytes} bytes verified")
        return
    for p in report.problems:
        err_console.print(f"[red]FAIL[/] segment {p.segment_id} at {_t(p.start)} ({p.kind}): {p.detail}")
    raise typer.Exit(1)


def _days(value: float) -> str:
    return f"{value:g}"


@retention_app.command("show")
def retention_show(site: Annotated[str | None, typer.Option(help="Only this site (institution code)")] = None) -> None:
    """The policy in force at a site, or every site with a policy of its own, and the node's default."""
    with runtime(upgrade=False) as rt, reading(rt.sessions) as session:
        default = default_policy(rt.settings.recording.role)
        actor = cli_actor()
        rows = ([policy_flows.get_policy(session=session, actor=actor, code=site, default=default)] if site
                else policy_flows.list_policies(session=session, actor=actor, default=default))
        console.print(f"default ({rt.settings.recording.role} node): {default.keep.days} days, "
                      f"minimum {default.minimum.days} days")
        table = Table("site", "name", "days", "minimum days", "source")
        for p in rows:
            table.add_row(p.site_code, p.site_name, _days(p.days), _days(p.min_days), "site" if p.own else "default")
        console.print(table)


@retention_app.command("set")
def retention_set(
    site: Annotated[str, typer.Argument(help="Institution code of the site")],
    days: Annotated[int, typer.Option(help="Keep footage this many days")],
    reason: Annotated[str, typer.Option(help="Why (written to the audit log)")],
    min_days: Annotated[int | None, typer.Option("--min-days",
                                                 help="Never less than this under disk pressure; default DAYS")] = None,
) -> None:
    """Give a site its own retention policy."""
    with runtime() as rt, rt.sessions.begin() as session:
        p = policy_flows.set_policy(session=session, actor=cli_actor(), code=site, days=days, min_days=min_days,
                                    reason=reason, default=default_policy(rt.settings.recording.role))
        console.print(f"site {p.site_code}: keep {_days(p.days)} days, minimum {_days(p.min_days)} days")


@retention_app.command("reset")
def retention_reset(
    site: Annotated[str, typer.Argument(help="Institution code of the site")],
    reason: Annotated[str, typer.Option(help="Why (written to the audit log)")],
) -> None:
    """Remove a site's own policy; the node's default applies again."""
    with runtime() as rt, rt.sessions.begin() as session:
        p = policy_flows.clear_policy(session=session, actor=cli_actor(), code=site, reason=reason,
                                      default=default_policy(rt.settings.recording.role))
        console.print(f"site {p.site_code}: default policy, {_days(p.days)} days")
