"""Reports on the alert queue for a period: how many alerts per source, site or district; how many were false
alarms, drills and tests; how soon they were acknowledged (p50, p90) and closed; and the supervisor's board — what
waits too long now and what each operator holds.

Scope applies as everywhere: a district's supervisor reports on the district. Times to acknowledge are measured
from the moment kgys received the alert (not the sender's clock). Devices offline: the ``device_offline`` alerts
received in the period and the time each device was silent — from its last sign of life to the alert's close, or
to now while it is still silent. :func:`to_csv` writes a report for a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.alerts.models import Alert, AlertChange
from kgys.alerts.service import scope_clause
from kgys.alerts.states import OPEN, State
from kgys.db import utcnow
from kgys.errors import FieldError, ValidationFailed
from kgys.figures import csv_cell as _cell
from kgys.figures import percentile as _pct
from kgys.said import _
from kgys.sites.models import Site

Group = Literal["source", "site", "district", "priority"]
GROUPS: tuple[Group, ...] = ("source", "site", "district", "priority")
MAX_DAYS = 400
PERIOD = _("the period must be positive and at most %(days)s days")
DEFAULT_DAYS = 7
DEVICE_OFFLINE = "device_offline"


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
    offline_alerts: int = 0
    offline_seconds: float = 0.0
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


def _silent_since(data: dict[str, Any] | None, received: datetime) -> datetime:
    """When a device_offline alert's device was last heard (its data says), else when the alert came in."""
    try:
        found = datetime.fromisoformat(str((data or {})["last_seen_at"]))
    except (KeyError, TypeError, ValueError):
        return received
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _add(line: Line, state: str, drill: bool, received: datetime, acked: datetime | None,
         closed: datetime | None, offline: float | None) -> None:
    line.total += 1
    line.open += state in OPEN
    line.false_alarms += state == State.FALSE_ALARM
    line.drills += drill or state == State.DRILL
    line.tests += state == State.TEST
    if offline is not None:
        line.offline_alerts += 1
        line.offline_seconds += offline
    if acked is not None:
        line.ack_seconds.append(max(0.0, (acked - received).total_seconds()))
    if closed is not None:
        line.close_seconds.append(max(0.0, (closed - received).total_seconds()))


def report(*, session: Session, actor: Actor, start: datetime, end: datetime, group: Group = "source",
           now: datetime | None = None) -> Report:
    """The report of alerts received in [start, end) that the actor may see, grouped by ``group``."""
    actor.require(Perm.ALERTS_READ)
    if end <= start or end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed([FieldError.said("to", PERIOD, days=MAX_DAYS)])
    now = now or utcnow()
    district = Jurisdiction.__table__.alias("district")
    stmt = (select(Alert.source, Alert.priority, Alert.state, Alert.drill, Alert.received_at, Alert.acknowledged_at,
                   Alert.closed_at, Alert.kind, Alert.data, Site.code, Site.name, district.c.code, district.c.name)
            .outerjoin(Site, Site.id == Alert.site_id)
            .outerjoin(district, district.c.path == Alert.scope_path)  # a protected person's: no site
            .where(scope_clause(actor), Alert.received_at >= start, Alert.received_at < end))
    lines: dict[str, Line] = {}
    total = Line(key="", label="")
    for (source, priority, state, drill, received, acked, closed, kind, data, code, name, d_code,
         d_name) in session.execute(stmt):
        key, label = {
            "source": (source, source),
            "priority": (f"P{priority}", f"P{priority}"),
            "site": (code or "", name or ""),
            "district": (d_code or "", d_name or ""),
        }[group]
        offline = None
        if kind == DEVICE_OFFLINE:
            offline = max(0.0, ((closed or now) - _silent_since(data, received)).total_seconds())
        line = lines.setdefault(key, Line(key=key, label=label))
        _add(line, state, drill, received, acked, closed, offline)
        _add(total, state, drill, received, acked, closed, offline)
    ordered = sorted(lines.values(), key=lambda ln: (-ln.total, ln.key))
    return Report(start=start, end=end, group=group, lines=ordered, total=total)


CSV_COLUMNS = ("key", "label", "total", "open", "false_alarms", "false_alarm_rate", "drills", "drill_rate", "tests",
               "ack_p50", "ack_p90", "close_p50", "close_p90", "offline_alerts", "offline_seconds")


def to_csv(r: Report, label: Callable[[Line], str] | None = None,
           headers: dict[str, str] | None = None, where: ZoneInfo | None = None) -> bytes:
    """The report as CSV: UTF-8 with a byte-order mark (so that spreadsheets read Turkish letters), one line per
    group and one for all; ``label`` names a line, ``headers`` the columns (both translated by the caller). Each
    line ends with the period in UTC and in the reader's zone ``where`` (Europe/Istanbul when None), named."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    period = localtime.period_cells(r.start, r.end, where or localtime.zone(localtime.DEFAULT_ZONE))
    writer.writerow([_cell((headers or {}).get(c, c)) for c in (*CSV_COLUMNS, *localtime.PERIOD_COLUMNS)])
    for line in [*r.lines, r.total]:
        values: dict[str, object] = {
            "key": line.key, "label": label(line) if label else line.label, "total": line.total, "open": line.open,
            "false_alarms": line.false_alarms, "false_alarm_rate": line.false_alarm_rate, "drills": line.drills,
            "drill_rate": line.drill_rate, "tests": line.tests, "ack_p50": line.ack_p(50), "ack_p90": line.ack_p(90),
            "close_p50": line.close_p(50), "close_p90": line.close_p(90), "offline_alerts": line.offline_alerts,
            "offline_seconds": line.offline_seconds}
        writer.writerow([*(_cell(values[c]) for c in CSV_COLUMNS), *period])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


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
    """What one operator holds now (taken on; acknowledged or dispatched, not closed), since when the oldest of
    them, their last move on any alert, and what they closed in the last hour."""

    operator: str
    claimed: int
    acknowledged: int
    oldest_held_at: datetime | None
    last_action_at: datetime | None
    closed_last_hour: int
    ack_p50_seconds: float | None

    @property
    def holding(self) -> int:
        """How many open alerts the operator holds."""
        return self.claimed + self.acknowledged


@dataclass(frozen=True)
class Board:
    """The supervisor's board."""

    waiting: list[Waiting]
    loads: list[Load]
    open_by_priority: dict[int, int]


@dataclass
class _Held:
    claimed: int = 0
    acknowledged: int = 0
    oldest: datetime | None = None

    def add(self, state: str, since: datetime) -> None:
        if state == State.CLAIMED:
            self.claimed += 1
        else:
            self.acknowledged += 1
        self.oldest = since if self.oldest is None else min(self.oldest, since)


LAST_ACTION_WITHIN = timedelta(days=1)


def last_actions(*, session: Session, operators: list[str], now: datetime) -> dict[str, datetime]:
    """When each of ``operators`` last made a move on an alert still open or received within
    :data:`LAST_ACTION_WITHIN` (so that the board, read every few seconds, reads recent history only)."""
    if not operators:
        return {}
    recent = select(Alert.id).where(or_(Alert.state.in_(sorted(OPEN)), Alert.received_at >= now - LAST_ACTION_WITHIN))
    rows = session.execute(select(AlertChange.by, func.max(AlertChange.at))
                           .where(AlertChange.alert_id.in_(recent), AlertChange.by.in_(sorted(operators)),
                                  AlertChange.user_id.is_not(None))
                           .group_by(AlertChange.by)).all()
    return {str(who): at for who, at in rows if at is not None}


def board(*, session: Session, actor: Actor, now: datetime | None = None, also: list[str] | None = None) -> Board:
    """Open alerts, the unclaimed ones overdue first; and each operator's load (of those who hold alerts or
    closed some in the last hour, and of the operators named in ``also``)."""
    actor.require(Perm.ALERTS_SUPERVISE)
    now = now or utcnow()
    rows = session.execute(select(Alert, Site).outerjoin(Site, Site.id == Alert.site_id)
                           .where(scope_clause(actor), Alert.state.in_(sorted(OPEN)))).all()
    waiting: list[Waiting] = []
    by_priority: dict[int, int] = defaultdict(int)
    held: dict[str, _Held] = defaultdict(_Held)
    for alert, site in rows:
        by_priority[alert.priority] += 1
        since = alert.claimed_at if alert.state != State.NEW and alert.claimed_at else alert.received_at
        waited = now - since
        overdue = alert.state == State.NEW and waited > CLAIM_WITHIN.get(alert.priority, CLAIM_WITHIN[4])
        waiting.append(Waiting(alert, site, waited, overdue))
        if alert.claimed_by_name and alert.state != State.NEW:
            held[alert.claimed_by_name].add(alert.state, since)
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
    operators = sorted(set(held) | set(closed) | set(also or ()))
    last = last_actions(session=session, operators=operators, now=now)
    loads = [Load(operator=who, claimed=held[who].claimed if who in held else 0,
                  acknowledged=held[who].acknowledged if who in held else 0,
                  oldest_held_at=held[who].oldest if who in held else None, last_action_at=last.get(who),
                  closed_last_hour=closed.get(who, 0), ack_p50_seconds=_pct(acks.get(who, []), 50))
             for who in operators]
    return Board(waiting=waiting, loads=loads, open_by_priority=dict(sorted(by_priority.items())))
