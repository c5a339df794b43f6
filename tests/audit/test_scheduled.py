"""The periodic audit work of the jobs worker: it signs checkpoints and hands them to witnesses."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.audit import scheduled as audit_scheduled
from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.models import AuditCheckpoint
from kgys.config import AuditSettings
from kgys.runtime import Runtime
from kgys.scheduler import Scheduler
from tests import factories

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def _append(rt: Runtime, n: int) -> None:
    with rt.sessions.begin() as s:
        for i in range(n):
            audit_service.append(s, actor=factories.admin(), action="test.write", object_type="thing", object_id=i)


def _lines(folder: Path) -> list[str]:
    path = folder / witness_mod.WITNESS_FILE
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _with_witness(rt: Runtime, folder: Path) -> Runtime:
    """The runtime with a directory witness configured (queued by signing, delivered by the loops)."""
    audit = AuditSettings(witnesses=[{"type": "directory", "name": "disk", "path": str(folder)}],  # type: ignore[list-item]
                          witness_poll_seconds=0.05)
    rt.sessions.kw["info"][audit_service.WITNESSES_KEY] = ("disk",)
    return dataclasses.replace(rt, settings=rt.settings.model_copy(update={"audit": audit}))


def _scheduler(rt: Runtime) -> Scheduler:
    return Scheduler(sessions=rt.sessions, tasks=audit_scheduled.tasks(
        sessions=rt.sessions, signer=rt.signer, audit=rt.settings.audit))


def test_the_jobs_worker_signs_and_hands_the_checkpoint_over_in_one_pass(rt: Runtime, session: Session,
                                                                          tmp_path: Path) -> None:
    rt = _with_witness(rt, tmp_path / "disk")
    _append(rt, 3)
    scheduler = _scheduler(rt)
    tick = scheduler.tick(NOW)
    assert (tick.ran["audit.checkpoint"], tick.ran["audit.witness"]) == (3, 1)
    assert len(_lines(tmp_path / "disk")) == 1
    assert "audit.witness" not in scheduler.tick(NOW + timedelta(seconds=0.01))  # not due again yet


def test_the_worker_signs_at_start_on_time_and_once_more_when_it_stops(rt: Runtime, session: Session) -> None:
    scheduler = _scheduler(rt)
    every = timedelta(minutes=rt.settings.audit.checkpoint_every_minutes)
    _append(rt, 3)
    assert scheduler.tick(NOW).ran["audit.checkpoint"] == 3  # at start
    _append(rt, 2)
    assert "audit.checkpoint" not in scheduler.tick(NOW + every / 2)
    assert scheduler.tick(NOW + every).ran["audit.checkpoint"] == 5  # on time
    _append(rt, 1)
    assert scheduler.stop(NOW + every + timedelta(seconds=1)).ran["audit.checkpoint"] == 6  # at the stop
    assert scheduler.tick(NOW + 2 * every).ran["audit.checkpoint"] is None  # nothing new to sign
    seqs = session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).all()
    assert list(seqs) == [3, 5, 6]
