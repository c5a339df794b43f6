"""The pure retention rules: one table of cases worked out by hand, and properties checked by Hypothesis."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgys.recording.retention import (
    AlarmLevel,
    Decision,
    HoldInfo,
    Policy,
    Pressure,
    Rule,
    SegmentInfo,
    days_achievable,
    default_policy,
    expires_at,
    forecast_alarm,
    free_marks,
    may_delete,
    oldest_first,
    pressure_for,
    select_for_pressure,
)

T0 = datetime(2025, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)
SEC = timedelta(seconds=1)
P30 = Policy.days(30)
P60_30 = Policy.days(60, 30)
P10 = Policy.days(10)


def seg(start: datetime = T0, seconds: float = 10, camera: int = 1, id: int = 1, size: int = 1000) -> SegmentInfo:
    """A segment of ``seconds`` starting at ``start``."""
    return SegmentInfo(id=id, camera_id=camera, start=start, end=start + timedelta(seconds=seconds), bytes=size)


def hold(start: datetime, end: datetime, camera: int = 1, id: int = 7, until: datetime | None = None,
         released_at: datetime | None = None) -> HoldInfo:
    """A hold on ``camera`` over [start, end]."""
    return HoldInfo(id=id, camera_id=camera, start=start, end=end, until=until, released_at=released_at)


END = T0 + 10 * SEC  # end of the default segment

CASES = [
    # (id, policy, holds, now, pressure, expected)
    ("younger than policy stays", P30, [], END + 29 * DAY, None, Decision(False, Rule.NOT_EXPIRED)),
    ("one second before expiry stays", P30, [], END + 30 * DAY - SEC, None, Decision(False, Rule.NOT_EXPIRED)),
    ("exactly at expiry goes", P30, [], END + 30 * DAY, None, Decision(True, Rule.RETENTION)),
    ("expiry counts from the segment's end, not its start", P30, [], T0 + 30 * DAY + 5 * SEC, None,
     Decision(False, Rule.NOT_EXPIRED)),
    ("central 10 days", P10, [], END + 10 * DAY, None, Decision(True, Rule.RETENTION)),
    ("held and expired stays", P30, [hold(T0, T0 + 10 * SEC)], END + 90 * DAY, None, Decision(False, Rule.HELD, 7)),
    ("hold overlapping the start stays", P30, [hold(T0 - DAY, T0 + 1 * SEC)], END + 90 * DAY, None,
     Decision(False, Rule.HELD, 7)),
    ("hold overlapping the end stays", P30, [hold(T0 + 9 * SEC, T0 + DAY)], END + 90 * DAY, None,
     Decision(False, Rule.HELD, 7)),
    ("hold inside the segment stays", P30, [hold(T0 + 2 * SEC, T0 + 3 * SEC)], END + 90 * DAY, None,
     Decision(False, Rule.HELD, 7)),
    ("hold touching only the end instant stays", P30, [hold(END, END + DAY)], END + 90 * DAY, None,
     Decision(False, Rule.HELD, 7)),
    ("hold ending one second before goes", P30, [hold(T0 - DAY, T0 - SEC)], END + 90 * DAY, None,
     Decision(True, Rule.RETENTION)),
    ("hold on another camera goes", P30, [hold(T0, END, camera=2)], END + 90 * DAY, None,
     Decision(True, Rule.RETENTION)),
    ("released hold goes", P30, [hold(T0, END, released_at=END + 40 * DAY)], END + 90 * DAY, None,
     Decision(True, Rule.RETENTION)),
    ("hold released in the future still holds", P30, [hold(T0, END, released_at=END + 91 * DAY)], END + 90 * DAY,
     None, Decision(False, Rule.HELD, 7)),
    ("lapsed hold goes", P30, [hold(T0, END, until=END + 60 * DAY)], END + 90 * DAY, None,
     Decision(True, Rule.RETENTION)),
    ("hold until a later date stays", P30, [hold(T0, END, until=END + 120 * DAY)], END + 90 * DAY, None,
     Decision(False, Rule.HELD, 7)),
    ("pressure: beyond minimum goes", P60_30, [], END + 31 * DAY, Pressure(1), Decision(True, Rule.DISK_PRESSURE)),
    ("pressure: exactly at minimum goes", P60_30, [], END + 30 * DAY, Pressure(1),
     Decision(True, Rule.DISK_PRESSURE)),
    ("pressure: below minimum stays", P60_30, [], END + 29 * DAY, Pressure(1), Decision(False, Rule.BELOW_MINIMUM)),
    ("no pressure: between minimum and policy stays", P60_30, [], END + 31 * DAY, None,
     Decision(False, Rule.NOT_EXPIRED)),
    ("pressure: expired is plain retention", P60_30, [], END + 61 * DAY, Pressure(1), Decision(True, Rule.RETENTION)),
    ("pressure: held stays", P60_30, [hold(T0, END)], END + 365 * DAY, Pressure(10**12),
     Decision(False, Rule.HELD, 7)),
]


@pytest.mark.parametrize(("policy", "holds", "now", "pressure", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_may_delete(policy: Policy, holds: list[HoldInfo], now: datetime, pressure: Pressure | None,
                    expected: Decision) -> None:
    assert may_delete(seg(), policy, holds, now, pressure) == expected


def test_defaults_are_thirty_days_at_school_edge_and_ten_centrally() -> None:
    assert default_policy("edge") == Policy(keep=30 * DAY, minimum=30 * DAY)
    assert default_policy("central") == Policy(keep=10 * DAY, minimum=10 * DAY)
    with pytest.raises(ValueError, match="unknown recording role"):
        default_policy("cloud")


def test_a_minimum_above_the_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="minimum"):
        Policy.days(10, 30)
    with pytest.raises(ValueError, match="positive"):
        Policy.days(0)


def test_expires_at_is_end_plus_policy() -> None:
    assert expires_at(seg(), P30) == END + 30 * DAY


# --- disk pressure selection -----------------------------------------------------------------------------

NOW = T0 + 100 * DAY


def test_pressure_takes_the_oldest_unheld_beyond_minimum_in_order_and_stops_when_enough() -> None:
    segs = [
        seg(NOW - 50 * DAY, id=1, camera=1),  # beyond minimum 30: candidate
        seg(NOW - 70 * DAY, id=2, camera=2),  # oldest, camera 2 has policy 60/30 → expired, candidate
        seg(NOW - 45 * DAY, id=3, camera=1),  # held
        seg(NOW - 40 * DAY, id=4, camera=2),  # candidate
        seg(NOW - 20 * DAY, id=5, camera=1),  # below minimum
        seg(NOW - 35 * DAY, id=6, camera=1),  # candidate, but enough is freed before it
    ]
    holds = [hold(NOW - 45 * DAY, NOW - 45 * DAY + SEC, camera=1)]
    policies = {1: P60_30, 2: P60_30}
    sel = select_for_pressure(segs, policies, holds, NOW, Pressure(bytes_to_free=2500))
    assert [(s.id, r) for s, r in sel.segments] == [(2, Rule.RETENTION), (1, Rule.DISK_PRESSURE),
                                                    (4, Rule.DISK_PRESSURE)]
    assert sel.freed_bytes == 3000
    assert sel.short_bytes == 0
    assert sel.held_count == 1
    assert not sel.nothing_deletable


def test_pressure_never_reaches_below_minimum_and_reports_the_shortfall() -> None:
    segs = [seg(NOW - 40 * DAY, id=1), seg(NOW - 10 * DAY, id=2), seg(NOW - 1 * DAY, id=3)]
    sel = select_for_pressure(segs, {1: P60_30}, [], NOW, Pressure(bytes_to_free=10**9))
    assert [s.id for s, _ in sel.segments] == [1]
    assert sel.short_bytes == 10**9 - 1000
    assert sel.below_minimum_count == 2


def test_pressure_with_nothing_deletable_says_so() -> None:
    segs = [seg(NOW - 40 * DAY, id=1), seg(NOW - 2 * DAY, id=2)]
    holds = [hold(NOW - 41 * DAY, NOW - 30 * DAY, id=9)]
    sel = select_for_pressure(segs, {1: P60_30}, holds, NOW, Pressure(bytes_to_free=1))
    assert sel.segments == ()
    assert sel.nothing_deletable
    assert sel.held_count == 1
    assert sel.below_minimum_count == 1


def test_a_camera_without_a_policy_keeps_everything() -> None:
    sel = select_for_pressure([seg(NOW - 400 * DAY)], {}, [], NOW, Pressure(1))
    assert sel.nothing_deletable


@pytest.mark.parametrize(
    ("free", "low", "target", "expected"),
    [
        pytest.param(50, 5, 10, None, id="plenty free"),
        pytest.param(5, 5, 10, None, id="exactly at the low mark"),
        pytest.param(4, 5, 10, Pressure(6), id="below the low mark: back to the target"),
        pytest.param(0, 50, 100, Pressure(100), id="full"),
        pytest.param(3, 5, 0, Pressure(2), id="a target below the low mark means the low mark"),
    ],
)
def test_pressure_for(free: int, low: int, target: int, expected: Pressure | None) -> None:
    assert pressure_for(free, low_bytes=low, target_bytes=target) == expected


def test_free_marks_are_fractions_of_the_disk() -> None:
    assert free_marks(12 * 10**12) == (6 * 10**11, 12 * 10**11)
    assert free_marks(1000, low_fraction=0.01, target_fraction=0.02) == (10, 20)


# --- forecast ---------------------------------------------------------------------------------------------

MBIT4 = 4_000_000 / 8  # one 4 Mbit/s camera in bytes per second (43.2 GB a day)


@pytest.mark.parametrize(
    ("free", "rate", "stored", "reserve", "days"),
    [
        pytest.param(43_200_000_000, MBIT4, 0, 0, 1.0, id="one day free"),
        pytest.param(12 * 10**12, 16 * MBIT4, 0, 0, 12 * 10**12 / (16 * MBIT4 * 86400), id="12 TB, 16 cameras"),
        pytest.param(43_200_000_000, MBIT4, 43_200_000_000 * 9, 0, 10.0, id="stored footage counts"),
        pytest.param(43_200_000_000 * 2, MBIT4, 0, 43_200_000_000, 1.0, id="reserve is not usable"),
        pytest.param(0, MBIT4, 0, 10, 0.0, id="full disk"),
    ],
)
def test_days_achievable(free: int, rate: float, stored: int, reserve: int, days: float) -> None:
    assert days_achievable(free, rate, stored_bytes=stored, reserve_bytes=reserve) == pytest.approx(days)


def test_days_achievable_with_nothing_recording_is_unbounded() -> None:
    assert math.isinf(days_achievable(10, 0.0))


GB_DAY = 43_200_000_000  # bytes a 4 Mbit/s camera writes a day


@pytest.mark.parametrize(
    ("free_days", "stored_days", "policy", "level"),
    [
        pytest.param(40, 0, P30, AlarmLevel.OK, id="room for more than 1.2 × policy"),
        pytest.param(10, 26, P30, AlarmLevel.OK, id="stored plus free is 36 days: exactly the margin"),
        pytest.param(5, 26, P30, AlarmLevel.WARNING, id="31 days: warn before the policy is breached"),
        pytest.param(3, 26, P30, AlarmLevel.CRITICAL, id="29 days: below the minimum"),
        pytest.param(3, 26, P60_30, AlarmLevel.CRITICAL, id="29 days, minimum 30"),
        pytest.param(20, 20, P60_30, AlarmLevel.WARNING, id="40 days, policy 60 minimum 30"),
    ],
)
def test_forecast_alarm(free_days: int, stored_days: int, policy: Policy, level: AlarmLevel) -> None:
    f = forecast_alarm(free_bytes=free_days * GB_DAY, stored_bytes=stored_days * GB_DAY, measured_bytes_per_s=MBIT4,
                       policy=policy)
    assert f.level is level
    assert f.days_achievable == pytest.approx(free_days + stored_days)
    assert f.days_until_full == pytest.approx(free_days)
    assert f"{f.days_achievable:.1f} days" in f.message


# --- properties -------------------------------------------------------------------------------------------

times = st.integers(min_value=0, max_value=400 * 86400).map(lambda s: T0 + timedelta(seconds=s))
durations = st.integers(min_value=0, max_value=3600)
policies = st.tuples(st.integers(1, 120), st.integers(1, 120)).map(
    lambda t: Policy.days(max(t), min(t)))
pressures = st.none() | st.integers(1, 10**12).map(Pressure)


@st.composite
def segments(draw: st.DrawFn, camera: int | None = None, id: int | None = None) -> SegmentInfo:
    """Any segment of up to an hour."""
    start = draw(times)
    return SegmentInfo(id=draw(st.integers(1, 10**6)) if id is None else id,
                       camera_id=draw(st.integers(1, 3)) if camera is None else camera,
                       start=start, end=start + timedelta(seconds=draw(durations)),
                       bytes=draw(st.integers(0, 10**7)))


@st.composite
def holds_on(draw: st.DrawFn, camera: int) -> HoldInfo:
    """Any hold on ``camera``, active or not."""
    start = draw(times)
    return HoldInfo(id=draw(st.integers(1, 1000)), camera_id=camera, start=start,
                    end=start + timedelta(seconds=draw(st.integers(0, 30 * 86400))),
                    until=draw(st.none() | times), released_at=draw(st.none() | times))


@settings(max_examples=400)
@given(s=segments(), policy=policies, now=times, pressure=pressures, data=st.data())
def test_an_active_hold_touching_a_segment_always_protects_it(
    s: SegmentInfo, policy: Policy, now: datetime, pressure: Pressure | None, data: st.DataObject
) -> None:
    # a hold that overlaps the segment anywhere, and is active at `now`
    h_start = data.draw(st.integers(-86400, int((s.end - s.start).total_seconds())))
    h_len = data.draw(st.integers(max(0, -h_start), 86400 * 3))
    h = HoldInfo(id=1, camera_id=s.camera_id, start=s.start + timedelta(seconds=h_start),
                 end=s.start + timedelta(seconds=h_start + h_len),
                 until=data.draw(st.none() | st.just(now + timedelta(seconds=1))),
                 released_at=data.draw(st.none() | st.just(now + timedelta(days=1))))
    others = data.draw(st.lists(holds_on(s.camera_id), max_size=3))
    decision = may_delete(s, policy, [*others, h], now, pressure)
    assert not decision.delete
    assert decision.rule is Rule.HELD


@settings(max_examples=400)
@given(s=segments(), policy=policies, now=times)
def test_without_pressure_nothing_goes_before_its_policy(s: SegmentInfo, policy: Policy, now: datetime) -> None:
    decision = may_delete(s, policy, [], now, None)
    assert decision.delete == (now >= s.end + policy.keep)
    assert decision.rule in {Rule.RETENTION, Rule.NOT_EXPIRED}


@settings(max_examples=400)
@given(s=segments(), policy=policies, now=times, pressure=pressures)
def test_nothing_younger_than_the_minimum_is_ever_deleted(
    s: SegmentInfo, policy: Policy, now: datetime, pressure: Pressure | None
) -> None:
    if may_delete(s, policy, [], now, pressure).delete:
        assert now - s.end >= policy.minimum


@settings(max_examples=300)
@given(
    segs=st.lists(segments(), max_size=40, unique_by=lambda s: s.id),
    cam_holds=st.lists(st.integers(1, 3).flatmap(holds_on), max_size=6),
    policy_map=st.dictionaries(st.integers(1, 3), policies, max_size=3),
    now=times,
    need=st.integers(1, 10**8),
)
def test_pressure_selection_is_oldest_first_unheld_and_beyond_minimum(
    segs: list[SegmentInfo], cam_holds: list[HoldInfo], policy_map: dict[int, Policy], now: datetime, need: int
) -> None:
    sel = select_for_pressure(segs, policy_map, cam_holds, now, Pressure(need))
    chosen = [s for s, _ in sel.segments]
    assert [oldest_first(s) for s in chosen] == sorted(oldest_first(s) for s in chosen)
    for s in chosen:
        assert not any(h.active(now) and h.touches(s) for h in cam_holds)
        assert now - s.end >= policy_map[s.camera_id].minimum
    # every deletable segment older than the last one chosen was chosen too: nothing is skipped
    if chosen:
        last = oldest_first(chosen[-1])
        for s in segs:
            policy = policy_map.get(s.camera_id)
            if policy and oldest_first(s) < last and may_delete(s, policy, cam_holds, now, Pressure(need)).delete:
                assert s in chosen
    # it stops as soon as enough is freed: without the last one, it would not have been enough
    if chosen and sel.freed_bytes >= need:
        assert sel.freed_bytes - chosen[-1].bytes < need
    assert sel.nothing_deletable == (not chosen)
