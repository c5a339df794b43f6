"""Reports on the alert queue and the supervisor's board, on both engines: counts per group, false-alarm and drill
rates, times to acknowledge and close; overdue unclaimed alerts first; each operator's load; scope applies."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

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


def _offline(session: Session, site_id: int, serial: str, silent_from: timedelta, at: timedelta) -> int:
    return raising.raise_alert(session, Alarm(
        source=Source.PANIC, kind="device_offline", priority=Priority.P4, site_id=site_id, device=serial,
        dedup_key=f"offline:{serial}", data={"last_seen_at": (T0 + silent_from).isoformat()}), now=T0 + at).id


def test_devices_offline_counted_with_the_time_they_were_silent(session: Session, world: dict[str, object]) -> None:
    a, b = world["a"], world["b"]
    _offline(session, a.id, "PB-1", timedelta(minutes=-3), timedelta(0))  # type: ignore[attr-defined]
    raising.clear(session, kinds=["device_offline"], device="PB-1", now=T0 + timedelta(minutes=7))
    _offline(session, b.id, "PB-2", timedelta(minutes=1), timedelta(minutes=4))  # type: ignore[attr-defined]
    now = T0 + timedelta(minutes=31)  # PB-2 is still silent
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="site", now=now)
    by = {line.key: line for line in r.lines}
    assert (by[a.code].offline_alerts, by[a.code].offline_seconds) == (1, 600.0)  # type: ignore[attr-defined]
    assert (by[b.code].offline_alerts, by[b.code].offline_seconds) == (1, 1800.0)  # type: ignore[attr-defined]
    assert (r.total.offline_alerts, r.total.offline_seconds, r.total.total) == (2, 2400.0, 7)


def test_a_report_per_district_source_and_site_with_hand_counted_figures(session: Session,
                                                                        world: dict[str, object]) -> None:
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="district")
    a, b = (next(x for x in r.lines if x.key == k) for k in ("TR-99-A", "TR-99-B"))
    # A: fast (ack 20 s, closed 600 s), slow (ack 100 s, closed 1800 s), open; B: false (60 s), drill (300 s)
    # p50 and p90 by nearest rank: the value at rank ceil(p/100 × n)
    assert (a.total, a.open, a.false_alarms, a.drills, a.false_alarm_rate) == (3, 1, 0, 0, 0.0)
    assert (a.ack_p(50), a.ack_p(90), a.close_p(50), a.close_p(90)) == (20.0, 100.0, 600.0, 1800.0)
    assert (b.total, b.false_alarms, b.drills, b.false_alarm_rate, b.drill_rate) == (2, 1, 1, 0.5, 0.5)
    assert (b.ack_p(50), b.ack_p(90)) == (60.0, 300.0)
    t = r.total
    assert sorted(t.ack_seconds) == [20.0, 60.0, 100.0, 300.0] and t.ack_p(50) == 60.0 and t.ack_p(90) == 300.0
    assert t.false_alarm_rate == 0.25 and t.drill_rate == 0.2


def test_the_csv_has_a_byte_order_mark_and_no_formula(session: Session, world: dict[str, object]) -> None:
    world["a"].name = "=HYPERLINK(\"http://x\") Şişli Ölçü"  # type: ignore[attr-defined]
    world["b"].name = "-1+2 @Çankaya"  # type: ignore[attr-defined]
    session.flush()
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="site")
    body = reports.to_csv(r)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["key", "label", "total"]
    labels = {row[0]: row[1] for row in rows[1:]}
    assert labels[world["a"].code] == "'=HYPERLINK(\"http://x\") Şişli Ölçü"  # type: ignore[attr-defined]
    assert labels[world["b"].code] == "'-1+2 @Çankaya"  # type: ignore[attr-defined]
    assert rows[-1][2] == "5" and rows[1][2] == "3" and rows[1][5] == "0"  # A: 3 alerts, no false alarm


def test_the_report_defaults_to_the_last_seven_days_and_downloads(client: TestClient, session: Session, rt: Runtime,
                                                                  world: dict[str, object]) -> None:
    _alert(session, world["a"].id, at=-timedelta(days=8))  # type: ignore[attr-defined]  # before the period
    sup = factories.user(session, "supervisor", scope=["TR-99"], box=rt.box)
    session.commit()
    browser_login(client, sup)
    api = client.get("/api/v1/alerts/report").json()
    assert api["total"]["total"] == 5 and api["total"]["offline_alerts"] == 0
    assert datetime.fromisoformat(api["to"]) - datetime.fromisoformat(api["from"]) == timedelta(days=7)
    got = client.get("/api/v1/alerts/report.csv", params={"group": "source"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert got.content.startswith(b"\xef\xbb\xbf") and "attachment" in got.headers["content-disposition"]
    page = client.get("/alerts/report")
    assert page.status_code == 200 and 'id="report-csv"' in page.text
    mine = client.get("/alerts/report.csv", params={"group": "district"})
    assert mine.status_code == 200
    rows = list(csv.reader(io.StringIO(mine.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["TR-99-A", "TR-99-B", ""] and rows[-1][2] == "5"
    assert client.get("/alerts/report.csv", params={"from": "dün"}).status_code == 422
    assert client.get("/api/v1/alerts/report.csv", params={"from": "2026-01-02T00:00:00Z",
                                                           "to": "2026-01-01T00:00:00Z"}).status_code == 422


def test_an_alert_of_no_site_counts_for_its_district(session: Session, world: dict[str, object]) -> None:
    raising.raise_alert(session, Alarm(source=Source.KADES, kind="kades_press", priority=Priority.P1,
                                       scope_path="/TR/TR-99/TR-99-B/"), now=T0 + timedelta(minutes=5))
    r = reports.report(session=session, actor=world["op"], start=T0 - timedelta(minutes=1),  # type: ignore[arg-type]
                       end=T0 + timedelta(hours=1), group="district")
    assert {(line.key, line.label): line.total for line in r.lines} == {("TR-99-A", "Merkez"): 3,
                                                                       ("TR-99-B", "Sahil"): 3}
