"""``kgys devices add|list|enable|disable|drill``, ``kgys worker intake`` and ``kgys sim panic``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from kgys.audit.mechanism import acting_as
from kgys.cli.common import cli_actor, console, err_console, runtime, settings
from kgys.cli.recording import sim_app, worker_app
from kgys.db import reading
from kgys.devices import broker
from kgys.devices import service as device_service
from kgys.devices import worker as intake_worker
from kgys.devices.flows import registry
from kgys.devices.kinds import DeviceKind
from kgys.devices.link import BrokerError
from kgys.devices.schemas import DeviceIn
from kgys.sim import panic as panic_sim

app = typer.Typer(help="School panic buttons and door/turnstile controllers.", no_args_is_help=True)

SerialArg = Annotated[str, typer.Argument(help="The device's serial")]


def _t(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


@app.command("add")
def add(
    serial: SerialArg,
    site: Annotated[str, typer.Option(help="Institution code of the site")],
    kind: Annotated[DeviceKind, typer.Option(help="panic or access")] = DeviceKind.PANIC,
    room: Annotated[str, typer.Option(help="Room or place in the building")] = "",
    heartbeat: Annotated[int, typer.Option(help="Seconds between the device's heartbeats")] = 60,
    cancel_pin: Annotated[str | None, typer.Option("--cancel-pin", help="PIN that cancels a press (4-8 digits)")]
    = None,
    duress_pin: Annotated[str | None, typer.Option("--duress-pin", help="PIN that seems to cancel but signals "
                                                   "duress (4-8 digits)")] = None,
) -> None:
    """Register a device, print its broker password once, and write the broker's password and ACL files."""
    try:
        data = DeviceIn(site=site, serial=serial, kind=kind, room=room, heartbeat_seconds=heartbeat,
                        cancel_pin=cancel_pin, duress_pin=duress_pin)
    except ValidationError as exc:
        for e in exc.errors():
            err_console.print(f"[red]error:[/] {'.'.join(str(x) for x in e['loc']) or 'device'}: {e['msg']}")
        raise typer.Exit(2) from exc
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        row, password = registry.provision(session=session, actor=actor, data=data)
        acl = broker.sync(session, rt.settings, add=(row.device.mqtt_username, password))
    console.print(f"device {serial} ({kind}) registered at {site}; broker login {row.device.mqtt_username}")
    console.print(f"broker password (shown once): {password}")
    console.print(f"ACL written to {acl}; reload the broker if it was not told (devices.broker_pid_file)")


@app.command("list")
def list_(site: Annotated[str | None, typer.Option(help="Only this site")] = None) -> None:
    """The registered devices."""
    with runtime() as rt, reading(rt.sessions) as session:
        rows = registry.list_devices(session=session, actor=cli_actor(), site_code=site)
        table = Table(title=f"{len(rows)} device(s)")
        table.add_column("serial", no_wrap=True)
        for col in ("kind", "site", "room", "enabled", "heartbeat s", "last seen (UTC)", "drill until (UTC)"):
            table.add_column(col)
        for row in rows:
            out = device_service.device_out(row)
            table.add_row(out.serial, out.kind, out.site, out.room, "yes" if out.enabled else "no",
                          str(out.heartbeat_seconds), _t(out.last_seen_at), _t(out.drill_until))
        console.print(table)


def _set_enabled(serial: str, enabled: bool) -> None:
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        row = device_service.set_enabled(session=session, actor=actor, serial=serial, enabled=enabled)
        if enabled:
            password = device_service.new_password(session=session, device=row.device)
            broker.sync(session, rt.settings, add=(row.device.mqtt_username, password))
            console.print(f"device {serial} enabled; new broker password (shown once): {password}")
        else:
            broker.sync(session, rt.settings, remove=row.device.mqtt_username)
            console.print(f"device {serial} disabled: its broker login is removed and the intake refuses it")


@app.command("disable")
def disable(serial: SerialArg) -> None:
    """Disable a device: its broker login goes and its messages are refused."""
    _set_enabled(serial, False)


@app.command("enable")
def enable(serial: SerialArg) -> None:
    """Enable a device again, with a new broker password."""
    _set_enabled(serial, True)


@app.command("drill")
def drill(
    serial: SerialArg,
    minutes: Annotated[int, typer.Option(min=0, max=1440, help="How long (0 ends drill mode)")] = 60,
) -> None:
    """Put a device in drill mode: its presses are alerts marked as drills (shown, counted apart)."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session, acting_as(session, actor):
        row = device_service.set_drill(session=session, actor=actor, serial=serial, minutes=minutes)
        until = row.device.drill_until
    console.print(f"device {serial}: " + (f"drill mode until {until:%Y-%m-%d %H:%M:%S} UTC" if until
                                          else "drill mode ended"))


@worker_app.command("intake")
def worker_intake() -> None:
    """Take messages from panic buttons and door controllers into the alert queue, until stopped (SIGTERM)."""
    with runtime() as rt:
        intake_worker.run(rt)


@sim_app.command("panic")
def sim_panic(
    serial: SerialArg,
    password: Annotated[str, typer.Option(help="The device's broker password", envvar="KGYS_SIM_DEVICE_PASSWORD")],
    scenario: Annotated[panic_sim.Scenario, typer.Option(help="What to do")] = panic_sim.Scenario.ALL,
    cancel_pin: Annotated[str, typer.Option("--cancel-pin")] = "1234",
    duress_pin: Annotated[str, typer.Option("--duress-pin")] = "9999",
    room: Annotated[str, typer.Option(help="Room named in presses")] = "",
    heartbeats: Annotated[int, typer.Option(min=0, help="Heartbeats to send first")] = 1,
    host: Annotated[str | None, typer.Option(help="Broker host (default devices.broker_host)")] = None,
    port: Annotated[int | None, typer.Option(help="Broker port (default devices.broker_port)")] = None,
) -> None:
    """Act as panic button SERIAL on the real broker: heartbeats, a press, a drill, a cancel, a duress."""
    cfg = settings().devices
    try:
        with panic_sim.connect(host=host or cfg.broker_host, port=port or cfg.broker_port, serial=serial,
                               password=password) as device:
            for line in panic_sim.play(device, scenario, cancel_pin=cancel_pin, duress_pin=duress_pin, room=room,
                                       heartbeats=heartbeats):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
    except BrokerError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc
