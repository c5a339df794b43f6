"""``kgys devices add|list|enable|disable|drill``, ``kgys worker intake``, ``kgys sim panic`` and
``kgys sim access``."""

from __future__ import annotations

from collections.abc import Iterator
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
from kgys.devices.kinds import AccessEvent, DeviceKind
from kgys.devices.link import BrokerError
from kgys.devices.schemas import DeviceIn
from kgys.sim import access as access_sim
from kgys.sim import device as device_sim
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


HostOpt = Annotated[str | None, typer.Option(help="Broker host (default devices.broker_host)")]
PortOpt = Annotated[int | None, typer.Option(help="Broker port (default devices.broker_port)")]
ForeverOpt = Annotated[bool, typer.Option("--forever", help="Then keep sending heartbeats until stopped (SIGTERM)")]
EveryOpt = Annotated[float, typer.Option("--every", min=1.0, help="Seconds between heartbeats with --forever")]


def _print(lines: Iterator[str]) -> None:
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@sim_app.command("panic")
def sim_panic(
    serial: SerialArg,
    password: Annotated[str, typer.Option(help="The device's broker password", envvar="KGYS_SIM_DEVICE_PASSWORD")],
    scenario: Annotated[panic_sim.Scenario, typer.Option(help="What to do")] = panic_sim.Scenario.ALL,
    cancel_pin: Annotated[str, typer.Option("--cancel-pin")] = "1234",
    duress_pin: Annotated[str, typer.Option("--duress-pin")] = "9999",
    room: Annotated[str, typer.Option(help="Room named in presses")] = "",
    heartbeats: Annotated[int, typer.Option(min=0, help="Heartbeats to send first")] = 1,
    host: HostOpt = None,
    port: PortOpt = None,
    forever: ForeverOpt = False,
    every: EveryOpt = 60.0,
) -> None:
    """Act as panic button SERIAL on the real broker: heartbeats, a press, a drill, a cancel, a duress."""
    cfg = settings().devices
    try:
        with panic_sim.connect(host=host or cfg.broker_host, port=port or cfg.broker_port, serial=serial,
                               password=password) as device:
            _print(panic_sim.play(device, scenario, cancel_pin=cancel_pin, duress_pin=duress_pin, room=room,
                                  heartbeats=heartbeats))
            if forever:
                _print(device_sim.keep_alive([device], every=every, stop=device_sim.stop_on_signals()))
    except BrokerError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc


@sim_app.command("access")
def sim_access(
    serials: Annotated[list[str], typer.Argument(help="The controllers' serials")],
    password: Annotated[list[str], typer.Option(
        help="Each controller's broker password, in the order of the serials (repeat the option; in "
        "KGYS_SIM_DEVICE_PASSWORD separated by spaces)", envvar="KGYS_SIM_DEVICE_PASSWORD")],
    event: Annotated[list[AccessEvent] | None, typer.Option(
        help="An event to send (repeat the option; default: every kind, none with --forever)")] = None,
    door: Annotated[str, typer.Option(help="The door named in events")] = access_sim.DOOR,
    card_count: Annotated[int | None, typer.Option(min=0, max=100_000, help="Cards denied in a denied_burst")]
    = None,
    heartbeats: Annotated[int, typer.Option(min=0, help="Heartbeats to send first")] = 1,
    host: HostOpt = None,
    port: PortOpt = None,
    forever: ForeverOpt = False,
    every: EveryOpt = 60.0,
    held_open_every: Annotated[int, typer.Option(
        min=0, help="With --forever: a door_held_open every this many heartbeats (0: never)")] = 0,
) -> None:
    """Act as door/turnstile controllers SERIALS on the real broker: heartbeats and access events."""
    if len(password) != len(serials):
        err_console.print(f"[red]error:[/] password: {len(serials)} serial(s) need as many passwords, "
                          f"{len(password)} given")
        raise typer.Exit(2)
    events = list(event) if event is not None else ([] if forever else list(AccessEvent))
    cfg = settings().devices
    stop = device_sim.stop_on_signals()
    try:
        with device_sim.connect_all(host=host or cfg.broker_host, port=port or cfg.broker_port,
                                    logins=list(zip(serials, password, strict=True))) as devices:
            _print(access_sim.play(devices, events, door=door, card_count=card_count, heartbeats=heartbeats,
                                   stop=stop))
            if forever:
                _print(access_sim.forever(devices, every=every, stop=stop, door=door,
                                          held_open_every=held_open_every))
    except BrokerError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc
