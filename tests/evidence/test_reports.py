"""The evidence report: per period and requesting unit, how many requests were made, decided, granted, refused,
expired, approved and released, and the median and 90th percentile of request → decision and decision → approval;
the pure summary over a table of facts, and the report read from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kgys.errors import PermissionDenied, ValidationFailed
from kgys.evidence import reports
from kgys.evidence.flows import decisions, requests
from kgys.evidence.reports import Fact
from kgys.evidence.rules import Range
from tests.evidence.conftest import Ev
from tests.recording.test_retention_job import T0

IST = ZoneInfo("Europe/Istanbul")
H = timedelta(hours=1)
D = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April 01:30 in Istanbul


@pytest.mark.parametrize(("at", "period", "want"), [
    (D, "month", "2026-04"), (D, "week", "2026-W14"), (D, "day", "2026-04-01"),
    (datetime(2026, 1, 1, 12, tzinfo=UTC), "week", "2026-W01"),
    (datetime(2027, 1, 1, 12, tzinfo=UTC), "week", "2026-W53"),
])
def test_periods_are_read_in_the_readers_zone(at: datetime, period: str, want: str) -> None:
    assert reports.bucket(at, period, IST) == want


def test_the_summary_counts_each_unit_and_period_and_times_the_steps() -> None:
    t = datetime(2026, 3, 2, 9, tzinfo=UTC)
    facts = [
        Fact(t, "Asayiş", "approved", t + 2 * H, "granted", t + 5 * H, "approved", 2),
        Fact(t, "Asayiş", "withheld", t + 4 * H, "granted", t + 5 * H, "withheld", 0),
        Fact(t, "Asayiş", "refused", t + 6 * H, "refused", None, None, 0),
        Fact(t, "Asayiş", "expired", None, None, None, None, 0),
        Fact(t, "Narkotik", "awaiting", None, None, None, None, 0),
        Fact(t + timedelta(days=31), "Asayiş", "granted", t + timedelta(days=31) + H, "granted", None, None, 0),
    ]
    rows = reports.summarise(facts, "month", IST)
    assert [(r.period, r.unit, r.requests, r.decisions, r.granted, r.refusals, r.expired, r.approvals, r.releases)
            for r in rows] == [("2026-03", "Asayiş", 4, 3, 2, 1, 1, 1, 2), ("2026-03", "Narkotik", 1, 0, 0, 0, 0, 0, 0),
                               ("2026-04", "Asayiş", 1, 1, 1, 0, 0, 0, 0)]
    assert reports.timing(rows[0].to_decision) == (3, 4.0, 5.6)
    assert reports.timing(rows[0].to_approval) == (2, 2.0, 2.8)
    assert reports.timing(rows[1].to_decision) == (0, None, None)


def test_the_report_reads_the_requests_in_scope(ev: Ev) -> None:
    a1 = ev.cam("a1")
    quick = ev.open(requesting_unit="Asayiş")
    slow = ev.open(requesting_unit="Asayiş", items=[Range(a1, T0, T0 + H)])
    ev.open(requesting_unit="Narkotik", items=[Range(a1, T0, T0 + H)])
    ev.open(who="inv_b", requesting_unit="Sahil", items=[Range(ev.cam("b1"), T0, T0 + H)])  # another district
    ev.w.clock.now += 2 * H
    ev.decide(quick)
    ev.w.clock.now += 1 * H
    ev.approve(quick)
    decisions.record_release(session=ev.session, actor=ev.actors["inv"], request_id=quick.id,
                             items=[Range(a1, T0, T0 + H)], recipient="Savcılık", now=ev.now)
    ev.w.clock.now += 3 * H
    ev.decide(slow, outcome="refused")
    ev.w.clock.now = T0 + timedelta(days=16)
    requests.expire_due(ev.session, ev.now)
    rows = reports.report(session=ev.session, actor=ev.actors["sup"], start=T0 - H, end=T0 + H, period="day",
                          where=IST)
    assert [(r.unit, r.requests, r.decisions, r.granted, r.refusals, r.expired, r.approvals, r.releases)
            for r in rows] == [("Asayiş", 2, 2, 1, 1, 0, 1, 1), ("Narkotik", 1, 0, 0, 0, 1, 0, 0)]
    assert reports.timing(rows[0].to_decision) == (2, 4.0, 5.6) and reports.timing(rows[0].to_approval)[1] == 1.0
    with pytest.raises(PermissionDenied):
        reports.report(session=ev.session, actor=ev.actors["inv"], start=T0, end=T0 + H, period="day", where=IST)
    with pytest.raises(ValidationFailed) as exc:
        reports.report(session=ev.session, actor=ev.actors["sup"], start=T0, end=T0 - H, period="year", where=IST)
    assert sorted(e.field for e in exc.value.errors) == ["period", "to"]
