"""Periodic work of evidence: a footage request still awaiting its decision when ``evidence.decision_wait_days``
have passed is marked expired (its provisional holds lapsed by themselves at that moment, so the footage falls
back under retention); releases whose worker went silent for ``evidence.release_stale_seconds`` are queued again and
packages past ``evidence.download_hours`` (or downloaded) are deleted (:func:`kgys.evidence.release_worker.
housekeeping`). Run by the one scheduler of ``kgys worker jobs``; the releases themselves are built by its releases
thread."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kgys.config import EvidenceSettings
from kgys.evidence import release_worker
from kgys.evidence.flows import requests
from kgys.scheduler import Task

HOUSEKEEPING_SECONDS = 10.0


def tasks(*, settings: EvidenceSettings, data_dir: Path | None = None) -> list[Task]:
    """The evidence tasks of the jobs worker."""
    out = [Task("evidence.expiry", settings.expiry_check_seconds,
                work=lambda session, now: len(requests.expire_due(session, now)))]
    if data_dir is not None:
        stale = timedelta(seconds=settings.release_stale_seconds)
        out.append(Task("evidence.releases", HOUSEKEEPING_SECONDS,
                        work=lambda session, now: release_worker.housekeeping(session, now, data_dir=data_dir,
                                                                              stale=stale)))
    return out
