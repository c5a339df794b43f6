"""Reports on the alert queue for a period: how many alerts per source, site or district; how many were false
alarms, drills and tests; how soon they were acknowledged (p50, p90) and closed; and the supervisor's board — what
waits too long now and what each operator holds.

Scope applies as everywhere: a district's supervisor reports on the district. Times to acknowledge are measured
from the moment kgys received the alert (not the sender's clock).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.alerts.models import Alert
from kgys.alerts.service import scope_clause
from kgys.alerts.states import OPEN, State
from kgys.db import utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.sites.models import Site

Group = Literal["source", "site", "district", "priority"]
GROUPS: tuple[Group, ...] = ("source", "site", "district", "priority")
MAX_DAYS = 400


def _pct(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile (nearest rank) of ``values``; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Line:
    """One group's figures."""

    key: str
    label: str
    total: int = 0
    open: int = 0
    false_alarms: int = 0
    drills: int = 0
    tests: int = 0
    ack_seconds: list[float] = field(default_factory=list, repr=False)
    close_seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def false_alarm_rate(self) -> float | None:
        closed = self.total - self.open
        return self.false_alarms / closed if closed else None

    @property
    def drill_rate(self) -> float | None:
        return self.drills / self.total if self.total else None

    def ack_p(self, pct: float) -> float | None:
        return _pct(self.ack_seconds, pct)

    def close_p(self, pct: float) -> float | None:
        return _pct(self.close_seconds, pct)


@dataclass
class Report:
    """The figures of a period, grouped, with a line for all."""

    start: datetime
    end: datetime
    group: Group
    lines: list[Line]
    total: Line


def _add(line: Line, state: str, drill: bool, received: datetime, acked: datetime | None,
         closed: datetime | None) -> None:
    line.total += 1
    line.open += state in OPEN
    line.false_alarms += state == State.FALSE_ALARM
    line.drills += drill or state == State.DRILL
    line.tests += state == State.TEST
    if acked is not None:
        line.ack_seconds.append(max(0.0, (acked - received).total_seconds()))
    if closed is not None:
        line.close_seconds.append(max(0.0, (closed - received).total_seconds()))


def report(*, session: Session, actor: Actor, start: datetime, end: datetime, group: Group = "source") -> Report:
    """The report of alerts received in [start, end) that the actor may see, grouped by ``group``."""
    actor.require(Perm.ALERTS_READ)
    if end <= start or end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed([FieldError("to", f"the period must be positive and at most {MAX_DAYS} days")])
    district = Jurisdiction.__table__.alias("district")
    stmt = (select(Alert.source, Alert.priority, Alert.state, Alert.drill, Alert.received_at, Alert.acknowledged_at,
                   Alert.closed_at, Site.code, Site.name, district.c.code, district.c.name)
            .outerjoin(Site, Site.id == Alert.site_id)
            .outerjoin(district, district.c.id == Site.jurisdiction_id)
            .where(scope_clause(actor), Alert.received_at >= start, Alert.received_at < end))
    lines: dict[str, Line] = {}
    total = Line(key="", label="")
    for source, priority, state, drill, received, acked, closed, code, name, d_code, d_name in session.execute(stmt):
        key, label = {
            "source": (source, source),
            "priority": (f"P{priority}", f"P{priority}"),
            "site": (code or "", name or ""),
            "district": (d_code or "", d_name or ""),
        }[group]
        line = lines.setdefault(key, Line(key=key, label=label))
        _add(line, state, drill, received, acked, closed)
        _add(total, state, drill, received, acked, closed)
    ordered = sorted(lines.values(), key=lambda ln: (-ln.total, ln.key))
    return Report(start=start, end=end, group=group, lines=ordered, total=total)


# --- the supervisor's board ----------------------------------------------------------------------------------------

# How long an alert of each priority may wait unclaimed before the board shows it as overdue.
CLAIM_WITHIN = {1: timedelta(seconds=60), 2: timedelta(minutes=3), 3: timedelta(minutes=10), 4: timedelta(hours=1)}


@dataclass(frozen=True)
class Waiting:
    """An open alert and how long it has waited in its state."""

    alert: Alert
    site: Site | None
    waited: timedelta
    overdue: bool


@dataclass(frozen=True)
class Load:
    """What one operator holds now and did in the last hour."""

    operator: str
    holding: int
    closed_last_hour: int
    ack_p50_seconds: float | None


@dataclass(frozen=True)
class Board:
    """The supervisor's board."""

    waiting: list[Waiting]
    loads: list[Load]
    open_by_priority: dict[int, int]


def board(*, session: Session, actor: Actor, now: datetime | None = None) -> Board:
    """Open alerts, the unclaimed ones overdue first; and each operator's load."""
    actor.require(Perm.ALERTS_SUPERVISE)
    now = now or utcnow()
    rows = session.execute(select(Alert, Site).outerjoin(Site, Site.id == Alert.site_id)
                           .where(scope_clause(actor), Alert.state.in_(sorted(OPEN)))).all()
    waiting: list[Waiting] = []
    by_priority: dict[int, int] = defaultdict(int)
    holding: dict[str, int] = defaultdict(int)
    for alert, site in rows:
        by_priority[alert.priority] += 1
        since = alert.claimed_at if alert.state != State.NEW and alert.claimed_at else alert.received_at
        waited = now - since
        overdue = alert.state == State.NEW and waited > CLAIM_WITHIN.get(alert.priority, CLAIM_WITHIN[4])
        waiting.append(Waiting(alert, site, waited, overdue))
        if alert.claimed_by_name:
            holding[alert.claimed_by_name] += 1
    waiting.sort(key=lambda w: (not w.overdue, w.alert.priority, -w.waited.total_seconds()))
    hour = session.execute(select(Alert.claimed_by_name, Alert.received_at, Alert.acknowledged_at, Alert.closed_at)
                           .outerjoin(Site, Site.id == Alert.site_id)
                           .where(scope_clause(actor), Alert.claimed_by_name.is_not(None),
                                  Alert.closed_at >= now - timedelta(hours=1))).all()
    closed: dict[str, int] = defaultdict(int)
    acks: dict[str, list[float]] = defaultdict(list)
    for who, received, acked, _closed in hour:
        if who is None:
            continue
        closed[who] += 1
        if acked is not None:
            acks[who].append((acked - received).total_seconds())
    loads = [Load(operator=who, holding=holding.get(who, 0), closed_last_hour=closed.get(who, 0),
                  ack_p50_seconds=_pct(acks.get(who, []), 50))
             for who in sorted(set(holding) | set(closed))]
    return Board(waiting=waiting, loads=loads, open_by_priority=dict(sorted(by_priority.items())))
