"""The loop shared by the jobs worker's builders (footage exports, evidence releases): a job claimed by a
conditional UPDATE is built with no transaction open, its progress and heartbeat written at most every few seconds,
and a builder whose claim was lost meanwhile (it stalled, the job was queued again and taken by another) stops and
writes nothing. :func:`reporter` is that throttled progress writer, :func:`loop` runs one builder until told to
stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from kgys.db import retrying
from kgys.errors import KgysError

log = logging.getLogger(__name__)


class ClaimLost(KgysError):
    """The job this worker was building was queued again (its heartbeat went stale) or finished elsewhere."""


def reporter(sessions: sessionmaker[Session], write: Callable[[Session, float], bool], every: float,
             lost: str) -> Callable[[float], None]:
    """A progress callback writing ``write(session, progress)`` in its own unit of work at most every ``every``
    seconds; raises ClaimLost (``lost``) once ``write`` answers that the claim is gone."""
    last = [time.monotonic()]

    def report(progress: float) -> None:
        if time.monotonic() - last[0] < every:
            return
        last[0] = time.monotonic()
        if not retrying(sessions, lambda s: write(s, progress)):
            raise ClaimLost(lost)

    return report


def loop(name: str, run_once: Callable[[], int | None], poll_seconds: float, stop: threading.Event) -> None:
    """Call ``run_once`` (it builds one job, None when none was waiting) until ``stop`` is set, waiting
    ``poll_seconds`` whenever nothing was waiting; a failure is logged and the loop goes on."""
    while not stop.is_set():
        try:
            found = run_once()
        except Exception:
            log.exception("the %s loop failed; trying again", name)
            found = None
        if found is None:
            stop.wait(poll_seconds)
