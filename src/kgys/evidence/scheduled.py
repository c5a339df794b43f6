"""Periodic work of evidence: a footage request still awaiting its decision when ``evidence.decision_wait_days``
have passed is marked expired (its provisional holds lapsed by themselves at that moment, so the footage falls
back under retention). Run by the one scheduler of ``kgys worker jobs``."""

from __future__ import annotations

from kgys.config import EvidenceSettings
from kgys.evidence.flows import requests
from kgys.scheduler import Task


def tasks(*, settings: EvidenceSettings) -> list[Task]:
    """The evidence tasks of the jobs worker."""
    return [Task("evidence.expiry", settings.expiry_check_seconds,
                 work=lambda session, now: len(requests.expire_due(session, now)))]
