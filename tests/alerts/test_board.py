"""The supervisor's board, on both engines: each operator's held alerts (taken on; acknowledged, not closed), the
oldest of them and their last move; consoles connected, a stale session not counted and an operator holding
alerts with no console flagged; the devices offline of the supervisor's scope with the count per state; the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.service import actor_for
from kgys.alerts import consoles, raising, service
from kgys.alerts.models import ConsoleSession
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Move, Priority, Source
from kgys.db import utcnow
from kgys.devices.flows import board as board_flow
from kgys.devices.models import DeviceStatus
from kgys.errors import PermissionDenied
from kgys.runtime import Runtime
from kgys.sites.models import Site
from tests import factories
from tests.web.conftest import browser_login

NOW = utcnow().replace(microsecond=0)
BEAT = 10.0  # the stream's heartbeat, seconds: a session not touched for 30 s is gone
FACTOR = 3.0  # a device silent for 3 heartbeat intervals is offline


def _alert(session: Session, site: Site, at: timedelta) -> int:
    return raising.raise_alert(session, Alarm(source=Source.PANIC, kind="panic_press", priority=Priority.P1,
                                              site_id=site.id), now=NOW - at).id


def _act(session: Session, actor: Actor, alert_id: int, move: Move, at: timedelta) -> None:
    service.act(session=session, actor=actor, alert_id=alert_id, move=move, note="seen", now=NOW - at)


def _console(session: Session, actor: Actor, opened: timedelta, seen: timedelta, closed: bool = False) -> None:
    session.add(ConsoleSession(user_id=actor.id, username=actor.username, server="h:1", remote="r",
                               opened_at=NOW - opened, seen_at=NOW - seen, closed_at=NOW - seen if closed else None))
    session.flush()


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    factories.tree(session)
    a = factories.site(session, district="TR-99-A")
    b = factories.site(session, district="TR-99-B")
    ops = {k: actor_for(factories.user(session, "operator", scope=[d]))
           for k, d in (("a1", "TR-99-A"), ("a2", "TR-99-A"), ("b1", "TR-99-B"))}
    return {"a": a, "b": b, **ops,
            "sup_a": actor_for(factories.user(session, "supervisor", scope=["TR-99-A"])),
            "sup": actor_for(factories.user(session, "supervisor", scope=["TR-99"]))}


def _board(session: Session, actor: object) -> board_flow.SupervisorBoard:
    return board_flow.board(session=session, actor=actor, heartbeat_seconds=BEAT,  # type: ignore[arg-type]
                            offline_factor=FACTOR, now=NOW)


def test_each_operators_held_alerts_oldest_and_last_action(session: Session, world: dict[str, object]) -> None:
    a1, a = world["a1"], world["a"]
    first, second, third = (_alert(session, a, timedelta(minutes=m)) for m in (30, 20, 10))  # type: ignore[arg-type]
    _act(session, a1, first, Move.CLAIM, timedelta(minutes=25))  # type: ignore[arg-type]
    _act(session, a1, first, Move.ACKNOWLEDGE, timedelta(minutes=24))  # type: ignore[arg-type]
    _act(session, a1, second, Move.CLAIM, timedelta(minutes=15))  # type: ignore[arg-type]
    _act(session, a1, third, Move.ACKNOWLEDGE, timedelta(minutes=5))  # type: ignore[arg-type]
    _act(session, a1, third, Move.NOTE, timedelta(minutes=2))  # type: ignore[arg-type]
    [op] = _board(session, world["sup"]).operators
    assert op.load.operator == a1.username  # type: ignore[attr-defined]
    assert (op.load.claimed, op.load.acknowledged, op.load.holding) == (1, 2, 3)
    assert op.load.oldest_held_at == NOW - timedelta(minutes=25)
    assert op.load.last_action_at == NOW - timedelta(minutes=2)
    assert op.unattended and op.consoles == 0 and op.since is None


def test_consoles_connected_count_and_stale_or_closed_ones_do_not(session: Session,
                                                                  world: dict[str, object]) -> None:
    a1, a2, b1 = world["a1"], world["a2"], world["b1"]
    _act(session, a1, _alert(session, world["a"], timedelta(minutes=3)),  # type: ignore[arg-type]
         Move.CLAIM, timedelta(minutes=2))  # type: ignore[arg-type]
    _console(session, a1, opened=timedelta(hours=2), seen=timedelta(seconds=5))  # type: ignore[arg-type]
    _console(session, a1, opened=timedelta(hours=1), seen=timedelta(seconds=1))  # type: ignore[arg-type]
    _console(session, a2, opened=timedelta(hours=3), seen=timedelta(seconds=31))  # type: ignore[arg-type]  # stale
    _console(session, b1, opened=timedelta(hours=1), seen=timedelta(seconds=1),  # type: ignore[arg-type]
             closed=True)
    by = {o.load.operator: o for o in _board(session, world["sup"]).operators}
    assert set(by) == {a1.username}  # type: ignore[attr-defined]
    one = by[a1.username]  # type: ignore[attr-defined]
    assert one.consoles == 2 and one.since == NOW - timedelta(hours=2) and not one.unattended
    _console(session, a2, opened=timedelta(minutes=1), seen=timedelta(seconds=29))  # type: ignore[arg-type]
    by = {o.load.operator: o for o in _board(session, world["sup"]).operators}
    assert by[a2.username].consoles == 1 and by[a2.username].load.holding == 0  # type: ignore[attr-defined]


def test_a_district_supervisor_sees_the_districts_operators_and_alerts(session: Session,
                                                                       world: dict[str, object]) -> None:
    _act(session, world["b1"], _alert(session, world["b"], timedelta(minutes=3)),  # type: ignore[arg-type]
         Move.CLAIM, timedelta(minutes=2))  # type: ignore[arg-type]
    _console(session, world["b1"], opened=timedelta(hours=1), seen=timedelta(seconds=1))  # type: ignore[arg-type]
    _console(session, world["a2"], opened=timedelta(hours=1), seen=timedelta(seconds=1))  # type: ignore[arg-type]
    b = _board(session, world["sup_a"])
    assert [o.load.operator for o in b.operators] == [world["a2"].username]  # type: ignore[attr-defined]
    assert b.queue.waiting == []
    everyone = {o.load.operator for o in _board(session, world["sup"]).operators}
    assert everyone == {world["a2"].username, world["b1"].username}  # type: ignore[attr-defined]
    with pytest.raises(PermissionDenied):
        _board(session, world["a1"])


def test_devices_offline_in_scope_and_counts_per_state(session: Session, world: dict[str, object]) -> None:
    a, b = world["a"], world["b"]
    devices = {name: factories.device(session, site.code, kind=kind)[0]  # type: ignore[attr-defined]
               for name, site, kind in (("heard", a, "panic"), ("silent", a, "access"), ("never", a, "panic"),
                                        ("new", a, "panic"), ("off", a, "panic"), ("other", b, "panic"))}
    for d in devices.values():
        d.heartbeat_seconds = 60
        d.created_at = NOW - timedelta(days=1)
    devices["new"].created_at = NOW - timedelta(minutes=1)
    devices["off"].enabled = False
    for name, ago in (("heard", timedelta(minutes=2)), ("silent", timedelta(minutes=3, seconds=1)),
                      ("other", timedelta(hours=1))):
        session.add(DeviceStatus(device_id=devices[name].id, last_seen_at=NOW - ago))
    session.flush()
    b_a = _board(session, world["sup_a"])
    assert [d.serial for d in b_a.devices_offline] == [devices["never"].serial, devices["silent"].serial]
    never, silent = b_a.devices_offline
    assert never.last_seen_at is None and never.since == NOW - timedelta(days=1)
    assert silent.kind == "access" and silent.site_code == a.code  # type: ignore[attr-defined]
    assert silent.last_seen_at == silent.since == NOW - timedelta(minutes=3, seconds=1)
    assert b_a.devices_by_state == {"online": 1, "offline": 2, "unknown": 1, "disabled": 1}
    assert _board(session, world["sup"]).devices_by_state["offline"] == 3


def test_old_sessions_are_purged(session: Session, world: dict[str, object]) -> None:
    _console(session, world["a1"], opened=timedelta(days=9), seen=timedelta(days=8),  # type: ignore[arg-type]
             closed=True)
    _console(session, world["a2"], opened=timedelta(days=9), seen=timedelta(days=8))  # type: ignore[arg-type]
    _console(session, world["b1"], opened=timedelta(days=9), seen=timedelta(days=6),  # type: ignore[arg-type]
             closed=True)
    assert consoles.purge(session=session, now=NOW, keep=timedelta(days=7)) == 2
    assert [c.username for c in session.query(ConsoleSession)] == [world["b1"].username]  # type: ignore[attr-defined]


def test_the_board_page_and_api(client: TestClient, session: Session, rt: Runtime, world: dict[str, object]) -> None:
    alert_id = _alert(session, world["a"], timedelta(minutes=5))  # type: ignore[arg-type]
    _act(session, world["a1"], alert_id, Move.CLAIM, timedelta(minutes=4))  # type: ignore[arg-type]
    silent, _ = factories.device(session, world["a"].code)  # type: ignore[attr-defined]
    silent.created_at = NOW - timedelta(days=1)
    sup = factories.user(session, "supervisor", scope=["TR-99"], box=rt.box)
    session.commit()
    browser_login(client, sup)
    page = client.get("/console/board")
    assert page.status_code == 200
    assert f'data-alert="{alert_id}"' in page.text and f'data-device="{silent.serial}"' in page.text
    row = page.text.split(f'data-operator="{world["a1"].username}"')[1].split("</tr>")[0]  # type: ignore[attr-defined]
    assert "data-unattended" in row
    api = client.get("/api/v1/alerts/board").json()
    [load] = api["loads"]
    assert load["operator"] == world["a1"].username and load["unattended"] is True  # type: ignore[attr-defined]
    assert load["claimed"] == 1 and load["consoles"] == 0
    assert [d["serial"] for d in api["devices_offline"]] == [silent.serial]
    assert api["devices_by_state"]["offline"] == 1
