"""The one scheduler of the jobs worker: tasks run when due, each in its own unit of work; one that fails is
logged and neither stops the others nor keeps its changes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.audit import service as audit_service
from kgys.audit.models import AuditEntry
from kgys.runtime import Runtime
from kgys.scheduler import Scheduler, Task
from tests import factories

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


def _entries(rt: Runtime) -> int:
    with rt.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _write(name: str) -> Task:
    def work(session: Session, now: datetime) -> str:
        audit_service.append(session, actor=factories.admin(), action="test.write", object_type=name, object_id=1)
        return now.isoformat()
    return Task(name, 10, work=work)


def test_tasks_run_first_at_once_then_each_at_its_interval(rt: Runtime) -> None:
    seen: list[tuple[str, datetime]] = []
    fast = Task("a.fast", 5, outside=lambda now: seen.append(("fast", now)))
    slow = Task("b.slow", 60, outside=lambda now: seen.append(("slow", now)))
    scheduler = Scheduler(sessions=rt.sessions, tasks=[fast, slow])
    for s in (0, 4, 5, 9, 10, 59, 60):
        scheduler.tick(NOW + s * S)
    assert seen == [("fast", NOW), ("slow", NOW), ("fast", NOW + 5 * S), ("fast", NOW + 10 * S),
                    ("fast", NOW + 59 * S), ("slow", NOW + 60 * S)]
    assert scheduler.last_tick == NOW + 60 * S
    scheduler.tick(NOW)  # the clock was set back: nothing waits for it to catch up
    assert seen[-2:] == [("fast", NOW), ("slow", NOW)]


def test_each_task_commits_on_its_own_and_a_failing_one_stops_nothing(rt: Runtime,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken(session: Session, now: datetime) -> None:
        audit_service.append(session, actor=factories.admin(), action="test.write", object_type="x", object_id=1)
        raise RuntimeError("the task broke")

    beats: list[datetime] = []
    scheduler = Scheduler(sessions=rt.sessions, tasks=[_write("a.one"), Task("b.broken", 10, work=broken),
                                                       _write("c.two")], on_beat=beats.append)
    before = _entries(rt)
    with caplog.at_level(logging.ERROR, logger="kgys.scheduler"):
        tick = scheduler.tick(NOW)
    assert tick.failed == ["b.broken"] and tick.ran == {"a.one": NOW.isoformat(), "c.two": NOW.isoformat()}
    assert _entries(rt) == before + 2  # the broken task's entry was rolled back, the others' committed
    assert "task b.broken failed" in caplog.text and "the task broke" in caplog.text
    assert beats == [NOW]
    assert scheduler.tick(NOW + 10 * S).failed == ["b.broken"]  # and it runs again at its next interval


def test_only_at_stop_tasks_run_when_the_worker_stops(rt: Runtime) -> None:
    seen: list[str] = []
    scheduler = Scheduler(sessions=rt.sessions, tasks=[
        Task("a.last", 600, outside=lambda now: seen.append("last"), at_stop=True),
        Task("b.other", 600, outside=lambda now: seen.append("other"))])
    assert list(scheduler.stop(NOW).ran) == ["a.last"] and seen == ["last"]


def test_a_task_is_declared_with_one_kind_of_work_and_a_unique_name(rt: Runtime) -> None:
    with pytest.raises(ValueError):
        Task("x", 1)
    with pytest.raises(ValueError):
        Task("x", 0, outside=lambda now: None)
    with pytest.raises(ValueError):
        Scheduler(sessions=rt.sessions, tasks=[_write("same"), _write("same")])
