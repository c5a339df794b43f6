"""``kgys units tracker`` (a unit's tracker login on the broker: issued, rotated, revoked) and ``kgys sim units``
(simulated trackers driving about and hearing their assignments)."""

from __future__ import annotations

from typing import Annotated

import typer

from kgys.cli.common import cli_actor, console, err_console, runtime, settings
from kgys.cli.recording import sim_app
from kgys.devices import broker, payloads
from kgys.devices.link import BrokerError
from kgys.dispatch import trackers
from kgys.sim import device as device_sim
from kgys.sim import units as units_sim

app = typer.Typer(help="Dispatch units.", no_args_is_help=True)

CallSignArg = Annotated[str, typer.Argument(help="The unit's call sign")]
DEMO_CENTRE = (39.905, 32.805)  # the demo province's central district


@app.command("tracker")
def tracker(
    call_sign: CallSignArg,
    revoke: Annotated[bool, typer.Option("--revoke", help="Revoke the login instead")] = False,
) -> None:
    """Issue the unit's tracker login on the broker (again: a new password), printing the password once, or revoke
    it; the broker's password and ACL files are rewritten either way (audited)."""
    actor = cli_actor()
    with runtime() as rt, rt.sessions.begin() as session:
        if revoke:
            unit, login = trackers.revoke(session=session, actor=actor, call_sign=call_sign)
            broker.sync(session, rt.settings, remove=login.username)
            console.print(f"unit {unit.call_sign}: tracker login {login.username} revoked; the broker refuses it")
            return
        unit, login, password = trackers.issue(session=session, actor=actor, call_sign=call_sign)
        acl = broker.sync(session, rt.settings, add=(login.username, password))
    console.print(f"unit {unit.call_sign}: tracker login {login.username}")
    console.print(f"broker password (shown once): {password}")
    console.print(f"publishes on {payloads.unit_position_topic(unit.call_sign)}, hears "
                  f"{payloads.unit_assignment_topic(unit.call_sign)}")
    console.print(f"ACL written to {acl}; reload the broker if it was not told (devices.broker_pid_file)")


@sim_app.command("units")
def sim_units(
    call_signs: Annotated[list[str], typer.Argument(help="The units' call signs")],
    password: Annotated[list[str], typer.Option(
        help="Each unit's tracker password, in the order of the call signs (repeat the option; in "
        "KGYS_SIM_TRACKER_PASSWORD separated by spaces)", envvar="KGYS_SIM_TRACKER_PASSWORD")],
    lat: Annotated[float, typer.Option(help="Latitude the units drive about")] = DEMO_CENTRE[0],
    lon: Annotated[float, typer.Option(help="Longitude the units drive about")] = DEMO_CENTRE[1],
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between positions")] = 5.0,
    positions: Annotated[int, typer.Option(min=1, help="Positions each sends (without --forever)")] = 3,
    forever: Annotated[bool, typer.Option("--forever", help="Keep driving until stopped (SIGTERM)")] = False,
    host: Annotated[str | None, typer.Option(help="Broker host (default devices.broker_host)")] = None,
    port: Annotated[int | None, typer.Option(help="Broker port (default devices.broker_port)")] = None,
) -> None:
    """Act as the trackers of units CALL_SIGNS on the real broker: drive a loop, publish positions, print the
    assignments heard."""
    if len(password) != len(call_signs):
        err_console.print(f"[red]error:[/] password: {len(call_signs)} call sign(s) need as many passwords, "
                          f"{len(password)} given")
        raise typer.Exit(2)
    cfg = settings().devices
    stop = device_sim.stop_on_signals()
    try:
        with units_sim.connect_all(host=host or cfg.broker_host, port=port or cfg.broker_port,
                                   logins=list(zip(call_signs, password, strict=True))) as clients:
            for line in units_sim.drive(clients, latitude=lat, longitude=lon, every=every,
                                        positions=None if forever else positions, stop=stop):
                console.print(line, markup=False, highlight=False, soft_wrap=True)
    except BrokerError as exc:
        err_console.print(f"[red]error:[/] {exc.message}")
        raise typer.Exit(1) from exc
