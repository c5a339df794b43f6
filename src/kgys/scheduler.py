"""The one scheduler of ``kgys worker jobs``: named tasks, each with an interval, run when due.

Each domain declares its periodic work in its own ``scheduled.py`` as a list of :class:`Task`; the jobs
worker (:mod:`kgys.jobs`) puts the lists together in one :class:`Scheduler` and calls :meth:`Scheduler.tick`
about once a second. The scheduler holds no clock of its own: ``tick(now)`` runs the tasks due at ``now``,
so a test moves time by passing a later ``now``.

- A task with ``work`` runs in a unit of work of its own (:func:`kgys.db.retrying`: committed when it
  returns, rolled back when it raises, run again as a whole while the database is busy).
- A task with ``outside`` talks to something outside the database after a commit (a witness, say) and
  opens its own units of work.
- A task that raises is logged and runs again at its next interval; the other tasks run as planned.
- ``at_stop`` tasks run once more when the worker stops (:meth:`Scheduler.stop`).
- Every tick is a heartbeat: :attr:`Scheduler.last_tick`, and the ``on_beat`` callback when given.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kgys.db import retrying

log = logging.getLogger(__name__)

UnitWork = Callable[[Session, datetime], object]
OutsideWork = Callable[[datetime], object]


@dataclass(frozen=True)
class Task:
    """One periodic task: ``name`` (``domain.what``), its interval in seconds, and exactly one of ``work``
    (in a unit of work of its own) or ``outside`` (opens its own units of work)."""

    name: str
    every: float
    work: UnitWork | None = None
    outside: OutsideWork | None = None
    at_stop: bool = False

    def __post_init__(self) -> None:
        if (self.work is None) == (self.outside is None):
            raise ValueError(f"task {self.name}: give exactly one of work and outside")
        if self.every <= 0:
            raise ValueError(f"task {self.name}: the interval must be positive")


@dataclass
class Tick:
    """What one tick did: each task that ran with what it returned, and the tasks that failed."""

    at: datetime
    ran: dict[str, object] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    def __contains__(self, name: str) -> bool:
        return name in self.ran


class Scheduler:
    """Runs each task when its interval has passed since its last run (every task runs at the first tick)."""

    def __init__(self, *, sessions: sessionmaker[Session], tasks: Iterable[Task],
                 on_beat: Callable[[datetime], None] | None = None) -> None:
        self.sessions = sessions
        self.tasks = list(tasks)
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names must be unique: {names}")
        self.on_beat = on_beat
        self.last_tick: datetime | None = None
        self._last_run: dict[str, datetime] = {}

    def due(self, task: Task, now: datetime) -> bool:
        """Whether ``task`` should run at ``now`` (also when the clock was set back past its last run)."""
        last = self._last_run.get(task.name)
        if last is None:
            return True
        elapsed = (now - last).total_seconds()
        return elapsed >= task.every or elapsed < 0

    def run(self, task: Task, now: datetime) -> object:
        """Run one task now, in its own unit of work unless it opens its own."""
        if task.work is not None:
            work = task.work
            return retrying(self.sessions, lambda session: work(session, now))
        assert task.outside is not None
        return task.outside(now)

    def _run_logged(self, task: Task, now: datetime, tick: Tick) -> None:
        try:
            tick.ran[task.name] = self.run(task, now)
        except Exception:
            tick.failed.append(task.name)
            log.exception("task %s failed; it runs again in %s s", task.name, task.every)

    def tick(self, now: datetime) -> Tick:
        """Run every task due at ``now``; a failing task is logged and does not stop the others."""
        tick = Tick(at=now)
        for task in self.tasks:
            if not self.due(task, now):
                continue
            self._last_run[task.name] = now
            self._run_logged(task, now, tick)
        self.last_tick = now
        if self.on_beat is not None:
            try:
                self.on_beat(now)
            except Exception:
                log.exception("the jobs heartbeat failed")
        return tick

    def stop(self, now: datetime) -> Tick:
        """Run the ``at_stop`` tasks once more (a clean stop leaves no work behind)."""
        tick = Tick(at=now)
        for task in self.tasks:
            if task.at_stop:
                self._run_logged(task, now, tick)
        return tick
