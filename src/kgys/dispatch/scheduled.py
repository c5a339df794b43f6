"""Periodic work of dispatch: assignments not acknowledged within ``dispatch.ack_within_seconds`` raise a P2 alert
(once each; :mod:`kgys.dispatch.flows.escalation`). Run by the one scheduler of ``kgys worker jobs``."""

from __future__ import annotations

from datetime import timedelta

from kgys.config import DispatchSettings
from kgys.dispatch.flows import escalation
from kgys.scheduler import Task


def tasks(*, settings: DispatchSettings) -> list[Task]:
    """The dispatch tasks of the jobs worker."""
    within = timedelta(seconds=settings.ack_within_seconds)
    return [Task("dispatch.ack_escalation", settings.escalation_check_seconds,
                 work=lambda session, now: escalation.escalate_unacknowledged(session, now=now, ack_within=within))]
