"""Footage requests and retention on real segment files (SQLite and PostgreSQL): a provisional hold keeps the
footage asked for while a decision is awaited, then lapses by itself and retention deletes the footage on schedule;
a range released under a decision stays held as long as the decision says, and not a moment longer."""

from __future__ import annotations

from datetime import timedelta

from kgys.evidence.flows import requests
from kgys.evidence.rules import Range
from kgys.recording.retention import Policy
from tests.evidence.conftest import Ev
from tests.recording.test_retention_job import DAY, SEC, T0

TEN_DAYS = Policy.days(10)


def test_a_provisional_hold_keeps_the_footage_then_lapses_and_retention_deletes_it(ev: Ev) -> None:
    w = ev.w
    segs = w.record("a1", T0, n=6)  # T0 .. T0+60 s
    other = w.record("a2", T0, n=2)
    req = ev.open(items=[Range(ev.cam("a1"), T0 + 12 * SEC, T0 + 28 * SEC)])  # touches the 2nd and 3rd
    w.clock.now = T0 + 11 * DAY  # past the 10-day policy, within the 15-day wait
    ev.retention(default_policy=TEN_DAYS)
    assert w.remaining() == {segs[1].id, segs[2].id}
    assert all(w.storage.path(s.path).exists() for s in segs[1:3])
    assert not any(w.storage.path(s.path).exists() for s in [*segs[:1], *segs[3:], *other])
    w.clock.now = req.hold_until - SEC
    assert ev.retention(default_policy=TEN_DAYS) == 0
    w.clock.now = req.hold_until
    assert requests.expire_due(ev.session, w.clock.now) == [req.id]
    ev.retention(default_policy=TEN_DAYS)
    assert w.remaining() == set()
    assert not any(w.storage.path(s.path).exists() for s in segs)
    assert req.state == "expired"


def test_a_released_range_stays_held_until_the_decisions_validity(ev: Ev) -> None:
    w = ev.w
    segs = w.record("a1", T0, n=6)
    req = ev.open(items=[Range(ev.cam("a1"), T0, T0 + 60 * SEC)])
    w.clock.now = T0 + DAY
    ev.decide(req, scope=[Range(ev.cam("a1"), T0 + 41 * SEC, T0 + 49 * SEC)], valid=timedelta(days=90))
    ev.approve(req)
    w.clock.now = T0 + 60 * DAY  # long past retention; the provisional hold was replaced by the decision's
    ev.retention(default_policy=TEN_DAYS)
    assert w.remaining() == {segs[4].id}  # only what the decision released
    assert w.storage.path(segs[4].path).exists()
    w.clock.now = T0 + DAY + timedelta(days=90) - SEC
    assert ev.retention(default_policy=TEN_DAYS) == 0
    w.clock.now += SEC
    ev.retention(default_policy=TEN_DAYS)
    assert w.remaining() == set()
