"""The evidence report: footage requests per period and requesting unit — how many were made, decided, granted,
refused, expired, approved and released — and how long the steps took (request → decision, decision → approval:
the median and the 90th percentile). Requests are counted in the period they were made (a cohort), in the reader's
time zone, over the requests the reader may see. :func:`summarise` is pure; :func:`report` reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.accounts.permissions import Perm
from kgys.errors import FieldError, ValidationFailed
from kgys.evidence import rules
from kgys.evidence.models import Approval, Decision, FootageRequest, Release
from kgys.evidence.service import visible_clause

PERIODS = ("month", "week", "day")
MAX_SPAN = timedelta(days=3 * 366)


@dataclass(frozen=True)
class Fact:
    """What the report reads of one request."""

    created_at: datetime
    unit: str
    state: str
    decided_at: datetime | None
    outcome: str | None
    approved_at: datetime | None
    approval: str | None
    releases: int


@dataclass
class Row:
    """The figures of one period and unit; the timings in hours."""

    period: str
    unit: str
    requests: int = 0
    decisions: int = 0
    granted: int = 0
    refusals: int = 0
    expired: int = 0
    approvals: int = 0
    releases: int = 0
    to_decision: list[float] = field(default_factory=list)
    to_approval: list[float] = field(default_factory=list)


def bucket(at: datetime, period: str, where: ZoneInfo) -> str:
    """The period ``at`` falls in, read in ``where``: ``2026-03``, ``2026-W09`` or ``2026-03-01``."""
    local = at.astimezone(where)
    if period == "month":
        return f"{local:%Y-%m}"
    if period == "week":
        year, week, _day = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local:%Y-%m-%d}"


def summarise(facts: Iterable[Fact], period: str, where: ZoneInfo) -> list[Row]:
    """One row per period and unit, in order of period then unit. Pure."""
    rows: dict[tuple[str, str], Row] = {}
    for f in facts:
        key = (bucket(f.created_at, period, where), f.unit)
        row = rows.setdefault(key, Row(*key))
        row.requests += 1
        row.expired += f.state == "expired"
        row.releases += f.releases
        if f.decided_at is not None:
            row.decisions += 1
            row.granted += f.outcome == "granted"
            row.refusals += f.outcome == "refused"
            row.to_decision.append((f.decided_at - f.created_at).total_seconds() / 3600)
            if f.approved_at is not None:
                row.approvals += f.approval == "approved"
                row.to_approval.append((f.approved_at - f.decided_at).total_seconds() / 3600)
    return [rows[k] for k in sorted(rows)]


def timing(values: Sequence[float]) -> tuple[int, float | None, float | None]:
    """How many, the median and the 90th percentile, rounded to hundredths of an hour."""
    med, p90 = rules.percentile(values, 0.5), rules.percentile(values, 0.9)
    return len(values), None if med is None else round(med, 2), None if p90 is None else round(p90, 2)


def check_range(start: datetime, end: datetime, period: str) -> None:
    """ValidationFailed naming ``to`` or ``period`` for a range the report does not cover."""
    errors = []
    if period not in PERIODS:
        errors.append(FieldError("period", "month, week or day"))
    if end <= start:
        errors.append(FieldError("to", "must be after from"))
    elif end - start > MAX_SPAN:
        errors.append(FieldError("to", "the report covers at most three years"))
    if errors:
        raise ValidationFailed(errors)


def report(*, session: Session, actor: Actor, start: datetime, end: datetime, period: str,
           where: ZoneInfo) -> list[Row]:
    """The report over the requests made from ``start`` to ``end`` that the actor may see."""
    actor.require(Perm.EVIDENCE_READ)
    check_range(start, end, period)
    released = (select(Release.request_id, func.count(Release.id).label("n")).group_by(Release.request_id)
                .subquery())
    stmt = (select(FootageRequest.created_at, FootageRequest.requesting_unit, FootageRequest.state,
                   Decision.recorded_at, Decision.outcome, Approval.at, Approval.outcome, released.c.n)
            .outerjoin(Decision, Decision.request_id == FootageRequest.id)
            .outerjoin(Approval, Approval.request_id == FootageRequest.id)
            .outerjoin(released, released.c.request_id == FootageRequest.id)
            .where(FootageRequest.created_at >= start, FootageRequest.created_at < end, visible_clause(actor)))
    facts = [Fact(created, unit, state, decided, outcome, approved, answer, int(n or 0))
             for created, unit, state, decided, outcome, approved, answer, n in session.execute(stmt)]
    return summarise(facts, period, where)
