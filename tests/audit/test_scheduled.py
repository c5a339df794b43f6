"""The periodic audit work: the jobs worker and ``kgys serve`` sign checkpoints and hand them to witnesses."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.audit import scheduled as audit_scheduled
from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.models import AuditCheckpoint
from kgys.config import AuditSettings
from kgys.recording import jobs
from kgys.runtime import Runtime
from tests import factories


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


def test_the_jobs_worker_signs_and_hands_the_checkpoint_over_in_one_pass(rt: Runtime, session: Session,
                                                                          tmp_path: Path) -> None:
    rt = _with_witness(rt, tmp_path / "disk")
    _append(rt, 3)
    worker = jobs.Jobs(sessions=rt.sessions, signer=rt.signer, heartbeat_path=tmp_path / "hb",
                       config=jobs.JobsConfig(), witnesses=witness_mod.build(rt.settings.audit.witnesses))
    report = worker.tick()
    assert (report.checkpoint, report.witnessed) == (3, 1)
    assert len(_lines(tmp_path / "disk")) == 1
    assert worker.tick().witnessed is None  # not due again yet


def test_the_server_signs_at_start_hands_over_and_signs_once_more_when_stopped(rt: Runtime, session: Session,
                                                                               tmp_path: Path) -> None:
    rt = _with_witness(rt, tmp_path / "disk")
    _append(rt, 3)

    async def scenario() -> None:
        task = asyncio.create_task(audit_scheduled.run_in_server(rt))
        for _ in range(400):  # up to 20 s for the first checkpoint to reach the witness
            if _lines(tmp_path / "disk"):
                break
            await asyncio.sleep(0.05)
        assert len(_lines(tmp_path / "disk")) == 1
        await asyncio.to_thread(_append, rt, 2)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(scenario())
    seqs = session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).all()
    assert list(seqs) == [3, 5]  # at start, and at the stop over the two entries added meanwhile
    assert session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 2
