"""Periodic audit work: signing a checkpoint over the chain head on time, and handing checkpoints to witnesses.

``kgys worker jobs`` runs both from its task table (:mod:`kgys.recording.jobs`); ``kgys serve`` runs
:func:`run_in_server`. Either may run alone, or both together: signing is serialised by the audit
append lock, and a hand-over is claimed before it is sent (:mod:`kgys.audit.witness`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session, sessionmaker

from kgys.audit import service as audit_service
from kgys.audit import witness as witness_mod
from kgys.audit.signing import Signer
from kgys.config import AuditSettings
from kgys.db import transaction
from kgys.runtime import Runtime

log = logging.getLogger(__name__)


def sign_checkpoint(sessions: sessionmaker[Session], signer: Signer) -> int | None:
    """Sign the chain head in a transaction of its own if entries were added since the last checkpoint."""
    with transaction(sessions) as session:
        seq = audit_service.checkpoint(session, signer)
    if seq is not None:
        log.info("audit checkpoint signed at entry %s", seq)
    return seq


def deliver(sessions: sessionmaker[Session], audit: AuditSettings,
            witnesses: Mapping[str, witness_mod.Witness] | None = None) -> witness_mod.DeliveryReport:
    """Hand every due checkpoint to the configured witnesses (after the transactions that signed them)."""
    found = witness_mod.build(audit.witnesses) if witnesses is None else witnesses
    report = witness_mod.deliver_pending(sessions=sessions, witnesses=found,
                                         retry=witness_mod.RetryPolicy.from_settings(audit))
    if report.delivered:
        log.info("%s checkpoint record(s) handed to witnesses", report.delivered)
    return report


async def run_in_server(rt: Runtime) -> None:
    """Sign a checkpoint at start, then every ``audit.checkpoint_every_minutes`` and once more when
    stopped; hand checkpoints to witnesses every ``audit.witness_poll_seconds``. Errors are logged and the
    next round retries."""
    audit = rt.settings.audit
    witnesses = witness_mod.build(audit.witnesses)
    loop = asyncio.get_running_loop()
    next_sign = loop.time()
    try:
        while True:
            if loop.time() >= next_sign:
                next_sign = loop.time() + audit.checkpoint_every_minutes * 60
                try:
                    await asyncio.to_thread(sign_checkpoint, rt.sessions, rt.signer)
                except Exception:  # keep the timer alive; the next round retries
                    log.exception("audit checkpoint failed")
            if witnesses:
                try:
                    await asyncio.to_thread(deliver, rt.sessions, audit, witnesses)
                except Exception:
                    log.exception("handing checkpoints to witnesses failed")
            wait = next_sign - loop.time()
            await asyncio.sleep(max(0.0, min(wait, audit.witness_poll_seconds) if witnesses else wait))
    except asyncio.CancelledError:
        try:  # leave no unsigned tail behind a clean stop
            await asyncio.to_thread(sign_checkpoint, rt.sessions, rt.signer)
        except Exception:
            log.exception("audit checkpoint at shutdown failed")
        raise
