"""Periodic work of exports: exports whose worker went silent for ``exports.stale_seconds`` are queued again,
and finished exports past ``exports.keep_hours`` lose their zip (:func:`kgys.exports.worker.housekeeping`). Run
by the one scheduler of ``kgys worker jobs``; the exports themselves are built by its exports thread."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kgys.config import ExportsSettings
from kgys.exports import worker
from kgys.scheduler import Task

EVERY_SECONDS = 10.0


def tasks(*, settings: ExportsSettings, data_dir: Path) -> list[Task]:
    """The exports tasks of the jobs worker."""
    stale = timedelta(seconds=settings.stale_seconds)
    return [Task("exports.housekeeping", EVERY_SECONDS,
                 work=lambda session, now: worker.housekeeping(session, now, data_dir=data_dir, stale=stale))]
