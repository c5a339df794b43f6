"""Dispatch reports on both engines: response times (p50/p90 per district, shift, priority and unit kind), the
forwarding rule, units' utilisation clipped to the period, shifts across midnight and time zones, bad periods,
scope, and CSV a spreadsheet cannot be tricked by."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from kgys.accounts.service import actor_for
from kgys.audit.mechanism import set_actor
from kgys.config import DispatchSettings
from kgys.db import utcnow
from kgys.dispatch import reports
from kgys.dispatch.models import Assignment, Unit, UnitStatusChange
from kgys.errors import PermissionDenied, ValidationFailed
from kgys.figures import percentile
from kgys.incidents.models import Incident
from tests import factories
from tests.dispatch.conftest import API, World
from tests.web.conftest import browser_login

T0 = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 08:00 in Istanbul (UTC+3): a shift begins
PERIOD = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"}
_n = itertools.count(1)


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def incident(w: World, reported: datetime, *, district: str = "TR-99-A", priority: int = 1,
             **times: datetime | None) -> Incident:
    """An incident with explicit times (dispatched_at, acknowledged_at, arrived_at, cleared_at, closed_at)."""
    node = w.nodes[district]
    inc = Incident(number=f"2026-{next(_n) + 900000:06d}", category="violence", priority=priority,
                   latitude=39.92, longitude=32.85, scope_path=node.path, created_by="test", created_at=reported,
                   reported_at=reported, state="closed" if times.get("closed_at") else "open", **times)
    w.session.add(inc)
    w.session.flush()
    return inc


def unit(w: World, call_sign: str, at: datetime, *, kind: str = "patrol_car", district: str = "TR-99-A",
         station: str = "") -> Unit:
    """A unit registered (available) at ``at``."""
    node = w.nodes[district]
    u = Unit(call_sign=call_sign, kind=kind, station=station, jurisdiction_id=node.id, jurisdiction_path=node.path,
             capabilities=[], members="", status="available", status_since=at, created_at=at)
    w.session.add(u)
    w.session.flush()
    status(w, u, at, "available", None)
    return u


def status(w: World, u: Unit, at: datetime, to: str, before: str | None = "x") -> None:
    w.session.add(UnitStatusChange(unit_id=u.id, at=at, from_status=before, to_status=to, by="test"))
    w.session.flush()


def assign(w: World, inc: Incident, u: Unit, assigned: datetime, **times: datetime | None) -> None:
    w.session.add(Assignment(incident_id=inc.id, unit_id=u.id, state="cleared", assigned_at=assigned,
                             assigned_by="test", **times))
    w.session.flush()


@pytest.fixture
def world(world: World) -> World:
    set_actor(world.session, factories.admin())
    return world


def lines(body: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    return {x["key"]: x for x in body[group]}


def test_percentiles_are_nearest_rank() -> None:
    series = [float(x) for x in (70, 10, 40, 20, 100, 30, 60, 50, 90, 80)]
    assert percentile(series, 50) == 50 and percentile(series, 90) == 90
    assert percentile([7.0], 90) == 7 and percentile([10.0, 20.0, 30.0], 50) == 20 and percentile([], 50) is None


def test_response_times_forwarding_rule_and_unit_kinds(world: World) -> None:
    w = world
    car, moto = unit(w, "A-1", T0 - s(3600)), unit(w, "A-2", T0 - s(3600), kind="motorcycle")
    x = incident(w, T0, dispatched_at=T0 + s(120), acknowledged_at=T0 + s(150), arrived_at=T0 + s(600),
                 cleared_at=T0 + s(1800), closed_at=T0 + s(2000))
    assign(w, x, car, T0 + s(120), acknowledged_at=T0 + s(150), en_route_at=T0 + s(180), on_scene_at=T0 + s(600))
    assign(w, x, moto, T0 + s(300), acknowledged_at=T0 + s(400), en_route_at=T0 + s(420))
    late = incident(w, T0 + s(3600), priority=2, dispatched_at=T0 + s(4300))  # 700 s: missed
    waiting = incident(w, T0 + s(7200), priority=2)  # never dispatched, still open: missed
    incident(w, T0 + s(7300), priority=3, closed_at=T0 + s(7400))  # closed without a unit: not counted
    incident(w, T0 + s(8000), dispatched_at=T0 + s(8600))  # exactly the target: within
    incident(w, T0, district="TR-99-B", dispatched_at=T0 + s(5000))  # another district
    w.session.commit()
    r = w.client.get(f"{API}/dispatch/reports/response", headers=w.h["op_a"], params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from"] == "2026-03-01T00:00:00Z" and body["target_dispatch_seconds"] == 600
    assert (body["counted"], body["dispatched_within_target"], body["within_target_share"]) == (4, 2, 0.5)
    assert [m["number"] for m in body["missed"]] == [late.number, waiting.number]
    assert body["missed"][0]["seconds"] == 700 and body["missed"][1]["dispatched_at"] is None
    assert list(lines(body, "by_district")) == ["TR-99-A"]  # scope: district B is not seen
    a = lines(body, "by_district")["TR-99-A"]
    assert a["label"] == "Merkez" and a["count"] == 5
    fx = body["total"]["figures"]
    assert fx["to_dispatch"] == {"count": 3, "p50": 600, "p90": 700}  # 120, 600, 700
    assert fx["to_acknowledge"] == {"count": 1, "p50": 30, "p90": 30}
    assert fx["to_en_route"] == {"count": 1, "p50": 60, "p90": 60}  # first assigned → first en route
    assert fx["to_arrive"]["p50"] == 600 and fx["on_scene"]["p50"] == 1200
    assert fx["to_close"] == {"count": 2, "p50": 100, "p90": 2000}  # 2000, and 100 closed without a unit
    assert {k: v["count"] for k, v in lines(body, "by_priority").items()} == {"P1": 2, "P2": 2, "P3": 1}
    kinds = lines(body, "by_unit_kind")
    assert kinds["patrol_car"]["figures"] == {"to_acknowledge": {"count": 1, "p50": 30, "p90": 30},
                                              "to_arrive": {"count": 1, "p50": 480, "p90": 480}}
    assert kinds["motorcycle"]["figures"]["to_acknowledge"]["p50"] == 100
    assert kinds["motorcycle"]["figures"]["to_arrive"] == {"count": 0, "p50": None, "p90": None}
    b = w.client.get(f"{API}/dispatch/reports/response", headers=w.h["op_b"], params=PERIOD).json()
    assert list(lines(b, "by_district")) == ["TR-99-B"] and b["total"]["count"] == 1
    assert [(m["district"], m["seconds"]) for m in b["missed"]] == [("TR-99-B", 5000)]


def test_percentiles_of_a_known_series_per_group(world: World) -> None:
    for i in range(10):  # to dispatch: 60, 120, ... 600 s
        incident(world, T0 + s(i * 60), dispatched_at=T0 + s(i * 60 + (i + 1) * 60))
    r = reports.response(session=world.session, actor=factories.admin(), start=T0, end=T0 + s(86400),
                         settings=DispatchSettings())
    line = r.by_district[0]
    assert (line.count, line.p("to_dispatch", 50), line.p("to_dispatch", 90)) == (10, 300, 540)
    assert (r.counted, r.within, r.missed) == (10, 10, [])


def test_an_incident_belongs_to_the_shift_of_its_local_report_time(world: World) -> None:
    for at in (T0 - s(60), T0, T0 + s(8 * 3600 - 60), T0 + s(16 * 3600 - 60), T0 + s(16 * 3600)):
        incident(world, at, dispatched_at=at + s(30))
    r = reports.response(session=world.session, actor=factories.admin(), start=T0 - s(86400), end=T0 + s(86400),
                         settings=DispatchSettings())
    # 07:59 and 00:00 local (21:00 UTC) fall in the night shift; 08:00 and 15:59 in the day; 23:59 in the evening
    assert [(x.key, x.count) for x in r.by_shift] == [("00:00-08:00", 2), ("08:00-16:00", 2), ("16:00-00:00", 1)]
    utc = reports.response(session=world.session, actor=factories.admin(), start=T0 - s(86400),
                           end=T0 + s(86400), settings=DispatchSettings(shifts="07:00,15:00,23:00", time_zone="UTC"))
    # in UTC: 04:59 and 05:00 in the night shift across midnight; 12:59 in the day; 20:59 and 21:00 late
    assert [(x.key, x.count) for x in utc.by_shift] == [("07:00-15:00", 1), ("15:00-23:00", 2),
                                                         ("23:00-07:00", 2)]


@pytest.mark.parametrize(("local", "expected"), [
    (time(2, 0), "23:00-07:00"), (time(6, 59), "23:00-07:00"), (time(7, 0), "07:00-15:00"),
    (time(14, 59), "07:00-15:00"), (time(15, 0), "15:00-23:00"), (time(23, 0), "23:00-07:00"),
    (time(0, 0), "23:00-07:00")])
def test_shift_boundaries_wrap_at_midnight(local: time, expected: str) -> None:
    zone = ZoneInfo("Europe/Istanbul")
    moment = datetime.combine(datetime(2026, 7, 1).date(), local, tzinfo=zone).astimezone(UTC)
    starts = DispatchSettings(shifts="15:00,07:00,23:00").shift_starts()
    assert reports.shift_of(moment, starts, zone) == expected


def test_shift_and_zone_settings_are_checked() -> None:
    for bad in ({"shifts": "25:00"}, {"shifts": "08:00,08:00"}, {"shifts": "8-16"}, {"time_zone": "Mars/Base"}):
        with pytest.raises(ValidationError):
            DispatchSettings(**bad)
    ok = DispatchSettings(shifts=" 16:00, 08:00,00:00 ")
    assert ok.shift_starts() == [time(0), time(8), time(16)] and ok.target_dispatch_seconds == 600


def _history(w: World) -> tuple[datetime, Unit, Unit]:
    p0 = T0
    u1 = unit(w, "A-1", p0 - s(7200))
    status(w, u1, p0 - s(3600), "busy")  # began before the period: counts from its start
    status(w, u1, p0 + s(3600), "available")
    status(w, u1, p0 + s(7200), "en_route")
    status(w, u1, p0 + s(9000), "on_scene")
    status(w, u1, p0 + s(14400), "available")
    status(w, u1, p0 + s(28800), "off_duty")  # still going at the end: counts to the end
    u2 = unit(w, "A-2", p0 + s(18000), kind="motorcycle")  # registered during the period
    unit(w, "B-1", p0 - s(7200), district="TR-99-B")
    inc = incident(w, p0)
    assign(w, inc, u1, p0 + s(6840))
    assign(w, inc, u1, p0 - s(3600))  # before the period: not counted
    w.session.commit()
    return p0, u1, u2


def test_utilisation_clips_statuses_to_the_period(world: World) -> None:
    p0, _u1, _u2 = _history(world)
    r = world.client.get(f"{API}/dispatch/reports/utilisation", headers=world.h["op_a"],
                         params={"from": p0.isoformat(), "to": (p0 + s(36000)).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    units = lines(body, "units")
    assert list(units) == ["A-1", "A-2"]  # B-1 is another district's
    a1 = units["A-1"]
    assert a1["observed_seconds"] == 36000 and a1["assignments"] == 1
    assert a1["seconds"] == {"available": 18000, "en_route": 1800, "on_scene": 5400, "busy": 3600,
                             "off_duty": 7200}
    assert a1["shares"] == {"available": 0.5, "en_route": 0.05, "on_scene": 0.15, "busy": 0.1, "off_duty": 0.2}
    assert units["A-2"]["observed_seconds"] == 18000 and units["A-2"]["shares"]["available"] == 1
    kinds = lines(body, "kinds")
    assert kinds["motorcycle"]["units"] == 1 and kinds["patrol_car"]["shares"]["off_duty"] == 0.2


def test_utilisation_of_a_period_still_going_counts_to_now(world: World) -> None:
    p0, _u1, _u2 = _history(world)
    u = reports.utilisation(session=world.session, actor=factories.admin(), start=p0, end=p0 + s(36000),
                            now=p0 + s(10800))
    a1 = next(x for x in u.units if x.key == "A-1")
    assert a1.observed == 10800
    assert a1.seconds == {"available": 3600, "en_route": 1800, "on_scene": 1800, "busy": 3600, "off_duty": 0}
    assert [(x.key, x.observed) for x in u.units] == [("A-1", 10800), ("A-2", 0), ("B-1", 10800)]
    assert reports.time_in_status([], p0, p0 + s(60)) == dict.fromkeys(reports.STATUSES, 0.0)


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "yesterday"}, "from"), ({"to": "2026-13-01T00:00:00Z"}, "to"),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"from": "2024-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"), ({"to": "0001-01-01T00:00:00Z"}, "to"),
    ({"from": "0001-01-01T00:00:00+05:00", "to": "0001-01-02T00:00:00Z"}, "from")])
@pytest.mark.parametrize("report", ["response", "utilisation.csv"])
def test_a_bad_period_is_refused_naming_the_field(world: World, report: str, params: dict[str, str],
                                                  field: str) -> None:
    r = world.client.get(f"{API}/dispatch/reports/{report}", headers=world.h["op_a"], params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["fields"][0]["field"] == field


def test_a_time_without_an_offset_is_utc(world: World) -> None:
    r = world.client.get(f"{API}/dispatch/reports/utilisation", headers=world.h["op_a"],
                         params={"from": "2026-03-01T00:00:00", "to": "2026-03-02T00:00:00+03:00"})
    assert r.status_code == 200, r.text
    assert (r.json()["from"], r.json()["to"]) == ("2026-03-01T00:00:00Z", "2026-03-01T21:00:00Z")
    since = (utcnow() - timedelta(days=2)).replace(tzinfo=None)
    r = world.client.get(f"{API}/dispatch/reports/response", headers=world.h["op_a"],
                         params={"from": since.isoformat()})  # to: now
    assert r.status_code == 200, r.text


def test_reports_need_dispatch_read(world: World) -> None:
    for report in ("response", "utilisation"):
        r = world.client.get(f"{API}/dispatch/reports/{report}", headers=world.h["field"])
        assert r.status_code == 403
    field_actor = actor_for(world.field_user)
    with pytest.raises(PermissionDenied):
        reports.utilisation(session=world.session, actor=field_actor, start=T0, end=T0 + s(60))
    with pytest.raises(ValidationFailed):
        reports.utilisation(session=world.session, actor=factories.admin(), start=T0, end=T0)


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_cannot_carry_a_formula(world: World) -> None:
    w = world
    u = unit(w, "@SUM", T0 - s(60), station='=HYPERLINK("http://evil.example","x")')
    inc = incident(w, T0, dispatched_at=T0 + s(90))
    assign(w, inc, u, T0 + s(90), acknowledged_at=T0 + s(100))
    w.session.commit()
    r = w.client.get(f"{API}/dispatch/reports/utilisation.csv", headers=w.h["op_a"], params=PERIOD)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = _csv(r.content)
    assert rows[0][:3] == ["level", "key", "kind"]
    mine = next(row for row in rows if row[0] == "unit")
    assert mine[1] == "'@SUM" and mine[4] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    r = w.client.get(f"{API}/dispatch/reports/response.csv", headers=w.h["op_a"], params=PERIOD)
    rows = _csv(r.content)
    by = {(row[0], row[1]): row for row in rows[1:]}
    head = rows[0]
    assert by[("district", "TR-99-A")][head.index("to_dispatch_p50")] == "90"
    assert by[("unit_kind", "patrol_car")][head.index("to_acknowledge_p50")] == "10"
    assert by[("all", "")][head.index("count")] == "1"


def test_the_page_shows_the_district_its_csv_and_refuses_a_bad_period(world: World) -> None:
    w = world
    unit(w, "A-1", T0 - s(60), station="Merkez Karakolu")
    unit(w, "B-9", T0 - s(60), district="TR-99-B")
    late = incident(w, T0, dispatched_at=T0 + s(900))
    incident(w, T0, district="TR-99-B", dispatched_at=T0 + s(1900))
    op = factories.user(w.session, "operator", scope=["TR-99-A"])
    w.session.commit()
    browser_login(w.client, op)
    page = w.client.get("/dispatch/reports", params=PERIOD)
    assert page.status_code == 200, page.text
    assert late.number in page.text and "Merkez Karakolu" in page.text and "B-9" not in page.text
    assert 'id="response-csv"' in page.text and "/dispatch/reports/utilisation.csv?from=" in page.text
    bad = w.client.get("/dispatch/reports", params={"from": "nonsense"})
    assert bad.status_code == 422 and 'id="response-csv"' not in bad.text
    rows = _csv(w.client.get("/dispatch/reports/response.csv", params=PERIOD).content)
    assert [row[1] for row in rows if row[0] == "district"] == ["TR-99-A"]
    rows = _csv(w.client.get("/dispatch/reports/utilisation.csv", params=PERIOD).content)
    assert [row[1] for row in rows if row[0] == "unit"] == ["A-1"]
