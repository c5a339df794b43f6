"""Dispatch reports for a period [start, end) within the actor's scope: response times and units' utilisation.

Response times are measured per incident reported in the period, in seconds: ``to_dispatch`` (reported → first
unit assigned), ``to_acknowledge`` (first assigned → first acknowledgement), ``to_en_route`` (first assigned →
first unit en route), ``to_arrive`` (reported → first unit on scene), ``on_scene`` (first on scene → last unit
clear) and ``to_close`` (reported → closed); each group gives the count, p50 and p90 (nearest rank,
:func:`kgys.figures.percentile`) of each figure, per district, per shift (of the report's local time, see
:class:`~kgys.config.DispatchSettings`) and per priority. Per unit kind the figures are per assignment made in the
period: ``to_acknowledge`` (assigned → acknowledged) and ``to_arrive`` (assigned → on scene).

The forwarding rule: an incident should have a unit assigned within ``target_dispatch_seconds`` of its report.
An incident dispatched, or still waiting for a unit longer than the target, counts; one waiting less long, or
closed without a unit sent, does not. Those that missed the target are listed.

Utilisation comes from each unit's status history: the time in each status between the period's start and its
end (or now, while the period lasts), a status begun before the period counting from its start; and the number
of assignments made in the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.accounts.actor import Actor
from kgys.accounts.models import Jurisdiction
from kgys.accounts.permissions import Perm
from kgys.config import DispatchSettings
from kgys.db import utcnow
from kgys.dispatch.models import Assignment, Unit, UnitStatusChange
from kgys.dispatch.states import UnitStatus
from kgys.errors import FieldError, ValidationFailed
from kgys.figures import csv_bytes, percentile
from kgys.incidents.models import Incident
from kgys.said import _

MAX_DAYS = 400
DEFAULT_DAYS = 7
PERIOD = _("the period must end after it starts and last at most %(days)s days")
INCIDENT_FIGURES = ("to_dispatch", "to_acknowledge", "to_en_route", "to_arrive", "on_scene", "to_close")
UNIT_FIGURES = ("to_acknowledge", "to_arrive")
STATUSES: tuple[str, ...] = tuple(s.value for s in UnitStatus)


def check_period(start: datetime, end: datetime) -> None:
    """ValidationFailed naming ``to`` unless the period is positive and at most :data:`MAX_DAYS` long."""
    if end <= start or end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed([FieldError.said("to", PERIOD, days=MAX_DAYS)])


def _utc(moment: datetime, name: str) -> datetime:
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:
        raise ValidationFailed([FieldError(name, "not a time kgys can report on")]) from None


def period(start: datetime | None, end: datetime | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period asked for, in UTC (a time without an offset is UTC); the end defaults to now, the start to
    :data:`DEFAULT_DAYS` before the end; ValidationFailed naming the field unless :func:`check_period` holds."""
    end = _utc(end, "to") if end else (now or utcnow())
    try:
        start = _utc(start, "from") if start else end - timedelta(days=DEFAULT_DAYS)
    except OverflowError:
        raise ValidationFailed([FieldError("to", "not a time kgys can report on")]) from None
    check_period(start, end)
    return start, end


def _between(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else max(0.0, (b - a).total_seconds())


def shift_of(moment: datetime, starts: list[time], zone: ZoneInfo) -> str:
    """The shift ("08:00-16:00") that ``moment`` falls in, in local time of ``zone``; before the day's first
    boundary it is the last shift, the one across midnight."""
    local = moment.astimezone(zone).time().replace(tzinfo=None)
    ordered = sorted(starts)
    begun = [s for s in ordered if s <= local]
    begin = begun[-1] if begun else ordered[-1]
    end = ordered[(ordered.index(begin) + 1) % len(ordered)]
    return f"{begin:%H:%M}-{end:%H:%M}"


def shift_keys(starts: list[time]) -> list[str]:
    """Every shift's key, in the order of the day."""
    ordered = sorted(starts)
    return [f"{s:%H:%M}-{ordered[(i + 1) % len(ordered)]:%H:%M}" for i, s in enumerate(ordered)]


@dataclass
class Line:
    """One group's response times: how many incidents (or assignments) and the seconds of each figure."""

    key: str
    label: str
    count: int = 0
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list), repr=False)

    def add(self, figures: dict[str, float | None]) -> None:
        """Count one incident (or assignment) with its figures (None: not reached)."""
        self.count += 1
        for name, value in figures.items():
            if value is not None:
                self.seconds[name].append(value)

    def n(self, figure: str) -> int:
        """How many reached ``figure``."""
        return len(self.seconds.get(figure, ()))

    def p(self, figure: str, pct: float) -> float | None:
        """The ``pct`` percentile of ``figure`` in seconds; None when none reached it."""
        return percentile(self.seconds.get(figure, []), pct)


@dataclass(frozen=True)
class Missed:
    """An incident not dispatched within the target: how long it took, or has waited so far."""

    number: str
    priority: int
    district: str
    reported_at: datetime
    dispatched_at: datetime | None
    seconds: float


@dataclass
class ResponseReport:
    """Response times of a period, grouped, with the forwarding rule's figures."""

    start: datetime
    end: datetime
    target_seconds: float
    time_zone: str
    by_district: list[Line]
    by_shift: list[Line]
    by_priority: list[Line]
    by_unit_kind: list[Line]
    total: Line
    counted: int = 0
    within: int = 0
    missed: list[Missed] = field(default_factory=list)

    @property
    def within_share(self) -> float | None:
        """Share of the counted incidents dispatched within the target."""
        return self.within / self.counted if self.counted else None


def _grouped(lines: dict[str, Line], order: Iterable[str] | None = None) -> list[Line]:
    if order is None:
        return sorted(lines.values(), key=lambda ln: (-ln.count, ln.key))
    return [lines[k] for k in order if k in lines]


def response(*, session: Session, actor: Actor, start: datetime, end: datetime, settings: DispatchSettings,
             now: datetime | None = None) -> ResponseReport:
    """Response times of the incidents reported in [start, end) within the actor's scope."""
    actor.require(Perm.DISPATCH_READ)
    check_period(start, end)
    now = now or utcnow()
    zone, starts = ZoneInfo(settings.time_zone), settings.shift_starts()
    en_route = (select(Assignment.incident_id, func.min(Assignment.en_route_at).label("at"))
                .group_by(Assignment.incident_id).subquery())
    rows = session.execute(
        select(Incident.number, Incident.priority, Incident.scope_path, Incident.reported_at, Incident.dispatched_at,
               Incident.acknowledged_at, en_route.c.at, Incident.arrived_at, Incident.cleared_at, Incident.closed_at,
               Jurisdiction.code, Jurisdiction.name)
        .outerjoin(en_route, en_route.c.incident_id == Incident.id)
        .outerjoin(Jurisdiction, Jurisdiction.path == Incident.scope_path)
        .where(actor.scope.clause(Incident.scope_path, Incident.site_id), Incident.reported_at >= start,
               Incident.reported_at < end)
        .order_by(Incident.reported_at, Incident.id)).all()
    districts: dict[str, Line] = {}
    shifts: dict[str, Line] = {}
    priorities: dict[str, Line] = {}
    r = ResponseReport(start=start, end=end, target_seconds=settings.target_dispatch_seconds,
                       time_zone=settings.time_zone, by_district=[], by_shift=[], by_priority=[], by_unit_kind=[],
                       total=Line(key="", label=""))
    for (number, priority, path, reported, dispatched, acked, first_en_route, arrived, cleared, closed, d_code,
         d_name) in rows:
        figures = {"to_dispatch": _between(reported, dispatched), "to_acknowledge": _between(dispatched, acked),
                   "to_en_route": _between(dispatched, first_en_route), "to_arrive": _between(reported, arrived),
                   "on_scene": _between(arrived, cleared), "to_close": _between(reported, closed)}
        district = d_code or path.rstrip("/").rsplit("/", 1)[-1]
        shift = shift_of(reported, starts, zone)
        for lines, key, label in ((districts, district, d_name or district), (shifts, shift, shift),
                                  (priorities, f"P{priority}", f"P{priority}")):
            lines.setdefault(key, Line(key=key, label=label)).add(figures)
        r.total.add(figures)
        waited = _between(reported, dispatched if dispatched is not None else now) or 0.0
        if dispatched is None and (closed is not None or waited <= r.target_seconds):
            continue
        r.counted += 1
        if dispatched is not None and waited <= r.target_seconds:
            r.within += 1
        else:
            r.missed.append(Missed(number=number, priority=priority, district=district, reported_at=reported,
                                   dispatched_at=dispatched, seconds=waited))
    r.by_district, r.by_priority = _grouped(districts), _grouped(priorities, sorted(priorities))
    r.by_shift = _grouped(shifts, shift_keys(starts))
    kinds: dict[str, Line] = {}
    for kind, assigned, acked, on_scene in session.execute(
            select(Unit.kind, Assignment.assigned_at, Assignment.acknowledged_at, Assignment.on_scene_at)
            .join(Unit, Unit.id == Assignment.unit_id).join(Incident, Incident.id == Assignment.incident_id)
            .where(actor.scope.clause(Incident.scope_path, Incident.site_id), Assignment.assigned_at >= start,
                   Assignment.assigned_at < end)):
        kinds.setdefault(kind, Line(key=kind, label=kind)).add(
            {"to_acknowledge": _between(assigned, acked), "to_arrive": _between(assigned, on_scene)})
    r.by_unit_kind = _grouped(kinds)
    return r


# --- utilisation ---------------------------------------------------------------------------------------------------


@dataclass
class Use:
    """Time a unit (or every unit of a kind) spent in each status in the period, and its assignments."""

    key: str
    kind: str
    district: str = ""
    station: str = ""
    units: int = 1
    observed: float = 0.0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0.0))
    assignments: int = 0

    def share(self, status: str) -> float | None:
        """Share of the observed time spent in ``status``; None when nothing was observed."""
        return self.seconds.get(status, 0.0) / self.observed if self.observed else None

    def absorb(self, other: Use) -> None:
        """Add another unit's figures to these."""
        self.units += 1
        self.observed += other.observed
        self.assignments += other.assignments
        for status, secs in other.seconds.items():
            self.seconds[status] = self.seconds.get(status, 0.0) + secs


@dataclass
class Utilisation:
    """Units' utilisation in a period: per unit (by call sign) and per kind."""

    start: datetime
    end: datetime
    units: list[Use]
    kinds: list[Use]


def time_in_status(steps: list[tuple[datetime, str]], start: datetime, stop: datetime) -> dict[str, float]:
    """Seconds in each status between ``start`` and ``stop``, given the status changes ``(at, to_status)`` in
    order: each status lasts to the next change (or to ``stop``), clipped to the period."""
    seconds: dict[str, float] = dict.fromkeys(STATUSES, 0.0)
    for i, (at, status) in enumerate(steps):
        until = steps[i + 1][0] if i + 1 < len(steps) else stop
        span = (min(until, stop) - max(at, start)).total_seconds()
        if span > 0:
            seconds[status] = seconds.get(status, 0.0) + span
    return seconds


def _history(session: Session, unit_ids: list[int], start: datetime,
             stop: datetime) -> dict[int, list[tuple[datetime, str]]]:
    """Each unit's status changes in [start, stop), after the last change at or before ``start`` (its status as
    the period begins)."""
    last = (select(UnitStatusChange.unit_id, func.max(UnitStatusChange.at).label("at"))
            .where(UnitStatusChange.unit_id.in_(unit_ids), UnitStatusChange.at <= start)
            .group_by(UnitStatusChange.unit_id).subquery())
    before = session.execute(
        select(UnitStatusChange.unit_id, UnitStatusChange.at, UnitStatusChange.to_status)
        .join(last, (last.c.unit_id == UnitStatusChange.unit_id) & (last.c.at == UnitStatusChange.at))
        .order_by(UnitStatusChange.id)).all()
    steps: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    for unit_id, at, status in before:  # the latest of equal times wins
        steps[unit_id] = [(at, status)]
    for unit_id, at, status in session.execute(
            select(UnitStatusChange.unit_id, UnitStatusChange.at, UnitStatusChange.to_status)
            .where(UnitStatusChange.unit_id.in_(unit_ids), UnitStatusChange.at > start, UnitStatusChange.at < stop)
            .order_by(UnitStatusChange.at, UnitStatusChange.id)):
        steps[unit_id].append((at, status))
    return steps


def utilisation(*, session: Session, actor: Actor, start: datetime, end: datetime,
                now: datetime | None = None) -> Utilisation:
    """Time in each status and assignments of the units within the actor's scope, in [start, end)."""
    actor.require(Perm.DISPATCH_READ)
    check_period(start, end)
    stop = max(start, min(end, now or utcnow()))
    units = session.scalars(select(Unit).where(actor.scope.clause(Unit.jurisdiction_path), Unit.created_at < end)
                            .order_by(Unit.call_sign)).all()
    ids = [u.id for u in units]
    steps = _history(session, ids, start, stop) if ids else {}
    counts: dict[int, int] = {unit_id: int(n) for unit_id, n in session.execute(
        select(Assignment.unit_id, func.count()).where(Assignment.unit_id.in_(ids), Assignment.assigned_at >= start,
                                                       Assignment.assigned_at < end)
        .group_by(Assignment.unit_id))} if ids else {}
    uses: list[Use] = []
    kinds: dict[str, Use] = {}
    for unit in units:
        history = steps.get(unit.id) or [(unit.status_since, unit.status)]
        seconds = time_in_status(history, start, stop)
        use = Use(key=unit.call_sign, kind=unit.kind, district=unit.jurisdiction_path.rstrip("/").rsplit("/", 1)[-1],
                  station=unit.station, observed=sum(seconds.values()), seconds=seconds,
                  assignments=counts.get(unit.id, 0))
        uses.append(use)
        if unit.kind in kinds:
            kinds[unit.kind].absorb(use)
        else:
            kinds[unit.kind] = Use(key=unit.kind, kind=unit.kind, observed=use.observed, seconds=dict(seconds),
                                   assignments=use.assignments)
    return Utilisation(start=start, end=end, units=uses, kinds=[kinds[k] for k in sorted(kinds)])


# --- CSV -----------------------------------------------------------------------------------------------------------

RESPONSE_COLUMNS = ("group", "key", "label", "count",
                    *(f"{f}_{s}" for f in INCIDENT_FIGURES for s in ("n", "p50", "p90")))
USE_COLUMNS = ("level", "key", "kind", "district", "station", "units", "observed_seconds",
               *(f"{s}_share" for s in STATUSES), *(f"{s}_seconds" for s in STATUSES), "assignments")


def response_csv(r: ResponseReport, *, label: Callable[[str, Line], str] | None = None,
                 headers: dict[str, str] | None = None, where: ZoneInfo | None = None) -> bytes:
    """The response times as CSV, a line per group (district, shift, priority, unit kind) and one for all;
    ``label`` names a line, ``headers`` the columns (both translated by the caller). Each line ends with the
    period in UTC and in the reader's zone ``where`` (Europe/Istanbul when None), named."""
    period = localtime.period_cells(r.start, r.end, where or localtime.zone(localtime.DEFAULT_ZONE))
    rows: list[list[object]] = [[(headers or {}).get(c, c) for c in (*RESPONSE_COLUMNS, *localtime.PERIOD_COLUMNS)]]
    for group, lines in (("district", r.by_district), ("shift", r.by_shift), ("priority", r.by_priority),
                         ("unit_kind", r.by_unit_kind), ("all", [r.total])):
        for line in lines:
            rows.append([group, line.key, label(group, line) if label else line.label, line.count,
                         *(v for f in INCIDENT_FIGURES for v in (line.n(f), line.p(f, 50), line.p(f, 90))), *period])
    return csv_bytes(rows)


def utilisation_csv(u: Utilisation, *, label: Callable[[str], str] | None = None,
                    headers: dict[str, str] | None = None, where: ZoneInfo | None = None) -> bytes:
    """The utilisation as CSV, a line per unit and one per kind; ``label`` names a kind, ``headers`` the columns
    (both translated by the caller). Each line ends with the period in UTC and in ``where``, named."""
    period = localtime.period_cells(u.start, u.end, where or localtime.zone(localtime.DEFAULT_ZONE))
    rows: list[list[object]] = [[(headers or {}).get(c, c) for c in (*USE_COLUMNS, *localtime.PERIOD_COLUMNS)]]
    for level, uses in (("unit", u.units), ("kind", u.kinds)):
        for use in uses:
            rows.append([level, use.key, label(use.kind) if label else use.kind, use.district, use.station,
                         use.units, use.observed, *(use.share(s) for s in STATUSES),
                         *(use.seconds.get(s, 0.0) for s in STATUSES), use.assignments, *period])
    return csv_bytes(rows)
