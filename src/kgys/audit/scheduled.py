"""Periodic audit work: signing a checkpoint over the chain head on time, and handing checkpoints to witnesses.

The jobs worker runs both (:mod:`kgys.jobs`, through :mod:`kgys.scheduler`): a checkpoint when it starts,
every ``audit.checkpoint_every_minutes`` and once more when it stops; hand-overs every
``audit.witness_poll_seconds``. ``kgys audit checkpoint`` and ``kgys audit witness`` do the same once, and
may run next to the worker: signing is serialised by the audit append lock, and a hand-over is claimed
before it is sent (:mod:`kgys.audit.witness`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.signing import Signer
from kgys.config import AuditSettings
from kgys.db import transaction
from kgys.scheduler import Task

log = logging.getLogger(__name__)


def checkpoint(session: Session, signer: Signer) -> int | None:
    """Sign the chain head in ``session`` if entries were added since the last checkpoint; its seq."""
    seq = audit_service.checkpoint(session, signer)
    if seq is not None:
        log.info("audit checkpoint signed at entry %s", seq)
    return seq


def sign_checkpoint(sessions: sessionmaker[Session], signer: Signer) -> int | None:
    """Sign the chain head in a transaction of its own if entries were added since the last checkpoint."""
    with transaction(sessions) as session:
        return checkpoint(session, signer)


def deliver(sessions: sessionmaker[Session], audit: AuditSettings,
            witnesses: Mapping[str, witness_mod.Witness] | None = None) -> witness_mod.DeliveryReport:
    """Hand every due checkpoint to the configured witnesses (after the transactions that signed them)."""
    found = witness_mod.build(audit.witnesses) if witnesses is None else witnesses
    report = witness_mod.deliver_pending(sessions=sessions, witnesses=found,
                                         retry=witness_mod.RetryPolicy.from_settings(audit))
    if report.delivered:
        log.info("%s checkpoint record(s) handed to witnesses", report.delivered)
    return report


def tasks(*, sessions: sessionmaker[Session], signer: Signer, audit: AuditSettings,
          witnesses: Mapping[str, witness_mod.Witness] | None = None) -> list[Task]:
    """The audit tasks of the jobs worker: the checkpoint (also at stop) and, with witnesses, the hand-over."""

    def sign(session: Session, _now: datetime) -> int | None:
        return checkpoint(session, signer)

    found = witness_mod.build(audit.witnesses) if witnesses is None else dict(witnesses)
    out = [Task("audit.checkpoint", audit.checkpoint_every_minutes * 60, work=sign, at_stop=True)]
    if found:
        def hand_over(_now: datetime) -> int:
            return deliver(sessions, audit, found).delivered

        out.append(Task("audit.witness", audit.witness_poll_seconds, outside=hand_over))
    return out
