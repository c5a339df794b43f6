"""Reports on the alert queue and the supervisor's board, on both engines: counts per group, false-alarm and drill
rates, times to acknowledge and close; overdue unclaimed alerts first; each operator's load; scope applies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kgys.accounts.service import actor_for
from kgys.alerts import raising, reports, service
from kgys.alerts.raising import Alarm
from kgys.alerts.states import Move, Priority, Source, State
from kgys.db import utcnow
from kgys.errors import PermissionDenied, ValidationFailed
from kgys.runtime import Runtime
from tests import factories
from tests.web.conftest import browser_login

T0 = utcnow().replace(microsecond=0) - timedelta(hours=2)


def _alert(session: Session, site_id: int, source: Source = Source.PANIC, priority: Priority = Priority.P1,
           at: timedelta = timedelta(0), drill: bool = False) -> int:
    return raising.raise_alert(session, Alarm(source=source, kind="panic_press", priority=priority, site_id=site_id,
                                              drill=drill), now=T0 + at).id


@pytest.fixture
def world(session: Session) -> dict[str, object]:
    factories.tree(session)
    a = factories.site(session, district="TR-99-A")
    b = factories.site(session, district="TR-99-B")
    op = actor_for(factories.user(session, "operator", scope=["TR-99"]))
    ids = {
        "fast": _alert(session, a.id),
        "slow": _alert(session, a.id, at=timedelta(minutes=1)),
        "false": _alert(session, b.id, at=timedelta(minutes=2)),
        "drill": _alert(session, b.id, source=Source.ACCESS, priority=Priority.P3, drill=True),
        "open": _alert(session, a.id, source=Source.ACCESS, priority=Priority.P2, at=timedelta(minutes=3)),
    }
    service.act(session=session, actor=op, alert_id=ids["fast"], move=Move.ACKNOWLEDGE, now=T0 + timedelta(seconds=20))
    service.act(session=session, actor=op, alert_id=ids["fast"], move=Move.RESOLVE, outcome=State.RESOLVED,
                now=T0 + timedelta(minutes=10))
    service.act(session=session, actor=op, alert_id=ids["slow"], move=Move.ACKNOWLEDGE,
                now=T0 + timedelta(minutes=1, seconds=100))
    service.act(session=session, actor=op, alert_id=ids["slow"], move=Move.RESOLVE, outcome=State.RESOLVED,
                now=T0 + timedelta(minutes=31))
    service.act(session=session, actor=op, alert_id=ids["false"], move=Move.RESOLVE, outcome=State.FALSE_ALARM,
                now=T0 + timedelta(minutes=3))
    service.act(session=session, actor=op, alert_id=ids["drill"], move=Move.RESOLVE, outcome=State.DRILL,
                now=T0 + timedelta(minutes=5))
    return {"a": a, "b": b, "op": op, "ids": ids}


def test_a_report_per_source_counts_and_times(session: Session, world: dict[str, object]) -> None:
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="source")
    by = {line.key: line for line in r.lines}
    panic, access = by["panic"], by["access"]
    assert (panic.total, panic.open, panic.false_alarms, panic.drills) == (3, 0, 1, 0)
    assert panic.false_alarm_rate == pytest.approx(1 / 3)
    assert sorted(panic.ack_seconds) == [20.0, 60.0, 100.0]  # closing unacknowledged counts as acknowledging
    assert panic.ack_p(50) == 60.0 and panic.ack_p(90) == 100.0
    assert (access.total, access.open, access.drills) == (2, 1, 1) and access.drill_rate == 0.5
    assert r.total.total == 5 and r.total.close_p(50) == 300.0


def test_a_report_per_district_and_scope(session: Session, world: dict[str, object]) -> None:
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="district")
    assert {line.key: line.total for line in r.lines} == {"TR-99-A": 3, "TR-99-B": 2}
    district_b = actor_for(factories.user(session, "supervisor", scope=["TR-99-B"]))
    r = reports.report(session=session, actor=district_b, start=T0 - timedelta(minutes=1),
                       end=T0 + timedelta(hours=1), group="site")
    assert [line.key for line in r.lines] == [world["b"].code]  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed):
        reports.report(session=session, actor=district_b, start=T0, end=T0 - timedelta(seconds=1))


def test_the_board_shows_overdue_unclaimed_alerts_first_and_each_operators_load(
        session: Session, world: dict[str, object]) -> None:
    sup = actor_for(factories.user(session, "supervisor", scope=["TR-99"]))
    fresh = _alert(session, world["a"].id, priority=Priority.P4, at=timedelta(hours=2))  # type: ignore[attr-defined]
    b = reports.board(session=session, actor=sup, now=T0 + timedelta(hours=2, seconds=5))
    order = [w.alert.id for w in b.waiting]
    assert order[0] == world["ids"]["open"] and b.waiting[0].overdue  # type: ignore[index]
    assert order[-1] == fresh and not b.waiting[-1].overdue
    assert b.open_by_priority == {2: 1, 4: 1}
    with pytest.raises(PermissionDenied):
        reports.board(session=session, actor=world["op"])  # type: ignore[arg-type]


def test_report_and_board_pages(client: TestClient, session: Session, rt: Runtime,
                                world: dict[str, object]) -> None:
    sup = factories.user(session, "supervisor", scope=["TR-99"], box=rt.box)  # supervisors sign in with TOTP
    session.commit()
    browser_login(client, sup)
    page = client.get("/alerts/report?from=" + (T0 - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                      + "&group=priority")
    assert page.status_code == 200 and 'data-key="P1"' in page.text
    assert client.get("/alerts/report?from=yesterday").status_code == 422
    board = client.get("/console/board")
    assert board.status_code == 200 and f'data-alert="{world["ids"]["open"]}"' in board.text  # type: ignore[index]
    api = client.get("/api/v1/alerts/report", params={"from": (T0 - timedelta(minutes=1)).isoformat(),
                                                      "to": (T0 + timedelta(hours=1)).isoformat()})
    assert api.status_code == 200 and api.json()["total"]["total"] == 5 and "from" in api.json()
