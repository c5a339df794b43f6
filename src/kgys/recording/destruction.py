"""Destruction records (imha tutanağı) of the footage the retention job deletes.

Each run notes every contiguous range it deleted of a camera as a
:class:`~kgys.recording.models.PendingDestruction` row, in the transaction that deletes the index rows. About
once an hour per camera (``seal_after``) its pending rows are sealed into
:class:`~kgys.recording.models.Destruction` records, one per contiguous range, rule and policy, audited
through the mechanism: one audited record per camera-hour, not one per run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import Actor
from kgys.audit import mechanism
from kgys.recording.models import Destruction, PendingDestruction, Segment
from kgys.recording.retention import HoldInfo, Policy, Rule

TOUCH = timedelta(milliseconds=10)  # ranges this close are one: a camera's segments tile its time exactly


def ranges(items: Sequence[tuple[Segment, Rule]], holds: Sequence[HoldInfo], failed: Iterable[Segment]
           ) -> list[list[tuple[Segment, Rule]]]:
    """Group deleted segments into contiguous runs per camera and rule; a held or undeleted segment breaks a run."""
    broken = sorted(failed, key=lambda s: (s.camera_id, s.start))
    runs: list[list[tuple[Segment, Rule]]] = []
    for seg, rule in sorted(items, key=lambda it: (it[0].camera_id, it[0].start, it[0].id)):
        if runs:
            prev, prev_rule = runs[-1][-1]
            if prev.camera_id == seg.camera_id and prev_rule is rule and not any(
                h.camera_id == seg.camera_id and h.start <= seg.start and h.end >= prev.end for h in holds
            ) and not any(b.camera_id == seg.camera_id and prev.end <= b.start <= seg.start for b in broken):
                runs[-1].append((seg, rule))
                continue
        runs.append([(seg, rule)])
    return runs


def note(session: Session, *, now: datetime, done: Sequence[tuple[Segment, Rule]], holds: Sequence[HoldInfo],
         failed: Iterable[Segment], policies: Mapping[int, Policy], default: Policy) -> dict[Rule, int]:
    """Write one pending destruction row per contiguous range of the deleted segments; how many went by each rule."""
    counts: dict[Rule, int] = {}
    for run in ranges(done, holds, failed):
        first, rule = run[0]
        policy = policies.get(first.site_id, default)
        reason = (f"{rule.value}: retention {policy.keep.days} days, minimum {policy.minimum.days} days"
                  if rule is Rule.DISK_PRESSURE else f"{rule.value}: retention {policy.keep.days} days")
        session.add(PendingDestruction(camera_id=first.camera_id, site_id=first.site_id, start=first.start,
                                       end=max(s.end for s, _ in run), count=len(run),
                                       bytes=sum(s.bytes for s, _ in run), rule=rule.value, reason=reason, at=now))
        counts[rule] = counts.get(rule, 0) + len(run)
    session.flush()
    return counts


def seal(session: Session, *, now: datetime, seal_after: timedelta, actor: Actor) -> int:
    """Turn the pending deletions of each camera whose oldest one is ``seal_after`` old into destruction records,
    one per contiguous range, rule and policy, audited through the mechanism as ``actor``; how many were made."""
    due = session.scalars(
        select(PendingDestruction.camera_id).group_by(PendingDestruction.camera_id)
        .having(func.min(PendingDestruction.at) <= now - seal_after)
    ).all()
    if not due:
        return 0
    rows = session.scalars(select(PendingDestruction).where(PendingDestruction.camera_id.in_(due))
                           .order_by(PendingDestruction.camera_id, PendingDestruction.start,
                                     PendingDestruction.id)).all()
    groups: list[list[PendingDestruction]] = []
    for row in rows:
        last = groups[-1][-1] if groups else None
        if last is not None and last.camera_id == row.camera_id and last.rule == row.rule \
                and last.reason == row.reason and row.start <= last.end + TOUCH:
            groups[-1].append(row)
        else:
            groups.append([row])
    for group in groups:
        first = group[0]
        with mechanism.acting_as(session, actor, reason=first.reason):
            session.add(Destruction(camera_id=first.camera_id, site_id=first.site_id, start=first.start,
                                    end=max(r.end for r in group), count=sum(r.count for r in group),
                                    bytes=sum(r.bytes for r in group), rule=first.rule,
                                    at=max(r.at for r in group)))
            session.flush()
    session.execute(delete(PendingDestruction).where(PendingDestruction.id.in_([r.id for r in rows])))
    return len(groups)
