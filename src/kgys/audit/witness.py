"""Handing signed checkpoints to witnesses outside the database, and reading back what a witness holds.

A witness keeps a copy of every signed checkpoint where the people who run the database cannot reach
it: a folder (:class:`DirectoryWitness`, another disk or a share of an oversight body) or a web service
(:class:`HttpWitness`). ``kgys audit verify --witness`` then checks the database against that copy.

**Why an outbox table.** Signing happens inside whatever transaction crossed the checkpoint interval,
often a user's request, and a witness may be slow or down. So the signing transaction only inserts one
row per configured witness into ``audit_witness_outbox`` — in the same transaction as the checkpoint: if
it rolls back nothing is queued, and no witness ever holds a checkpoint the database does not; if it
commits, the hand-over is owed and survives restarts. A table rather than a file queue because it
commits atomically with the checkpoint on both engines, and a file cannot. :func:`deliver_pending`
(run by ``kgys worker jobs`` and ``kgys serve`` every ``audit.witness_poll_seconds``, and by ``kgys audit
checkpoint`` / ``kgys audit deliver``) then, for each due row in checkpoint order:

1. claims it in a short transaction by moving ``next_attempt_at`` forward by a lease, so a second
   deliverer skips it — no lock is held while talking to the witness, so a slow witness never blocks
   writers (SQLite has only one);
2. hands the record to its witness;
3. records the outcome in another short transaction: ``delivered_at``, or one more attempt, the error
   and the next attempt time (:func:`retry_delay`: doubling up to a maximum). The failure is logged and
   later rows for that witness wait, so every witness receives checkpoints in order.

Rows are never deleted, so no checkpoint is lost; the table also records when each checkpoint reached
each witness. Delivery is at least once: a deliverer that dies between sending and recording sends
again after the lease, so a witness may receive a record twice (verification ignores exact repeats).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from kgys.audit.checkpoints import Checkpoint
from kgys.audit.export import read_checkpoint_lines
from kgys.audit.models import WitnessDelivery
from kgys.config import AuditSettings, DirectoryWitnessSettings, WitnessSettings
from kgys.db import transaction, utcnow
from kgys.errors import Unavailable

log = logging.getLogger(__name__)

WITNESS_FILE = "kgys-checkpoints.jsonl"


class Witness(Protocol):
    """Somewhere outside the database that keeps a copy of every signed checkpoint."""

    @property
    def name(self) -> str:
        """The configured name."""

    @property
    def timeout_seconds(self) -> float:
        """How long one hand-over may take."""

    def hand_over(self, record: str) -> None:
        """Give the witness one checkpoint record (canonical JSON); raise Unavailable when it did not take it."""


@dataclass(frozen=True)
class DirectoryWitness:
    """Appends one JSON line per checkpoint to ``kgys-checkpoints.jsonl`` in a folder."""

    name: str
    path: Path
    fsync: bool = True
    timeout_seconds: float = 30.0

    def hand_over(self, record: str) -> None:
        """Append the record as one line (and flush it to disk)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / WITNESS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (record + "\n").encode("utf-8"))
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise Unavailable(f"witness {self.name}: cannot append to {self.path / WITNESS_FILE}: {exc}") from exc


@dataclass(frozen=True)
class HttpWitness:
    """POSTs each checkpoint record as JSON to a URL; any 2xx answer counts as received."""

    name: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 10.0

    def hand_over(self, record: str) -> None:
        """POST the record."""
        headers = {"Content-Type": "application/json", **self.headers}
        try:
            answer = httpx.post(self.url, content=record.encode("utf-8"), headers=headers,
                                timeout=self.timeout_seconds)
        except httpx.HTTPError as exc:
            raise Unavailable(f"witness {self.name}: POST {self.url} failed: {exc}") from exc
        if not answer.is_success:
            raise Unavailable(f"witness {self.name}: POST {self.url} answered {answer.status_code}")


def build(configured: list[WitnessSettings]) -> dict[str, Witness]:
    """The witnesses the settings describe, by name."""
    out: dict[str, Witness] = {}
    for w in configured:
        if isinstance(w, DirectoryWitnessSettings):
            out[w.name] = DirectoryWitness(name=w.name, path=w.path, fsync=w.fsync)
        else:
            out[w.name] = HttpWitness(name=w.name, url=w.url, headers=dict(w.headers),
                                      timeout_seconds=w.timeout_seconds)
    return out


def read_held(source: str, *, timeout_seconds: float = 30.0) -> list[Checkpoint]:
    """The checkpoints a witness holds: ``source`` is a URL (GET, JSON lines), a witness folder or a file.

    Raises Unavailable when a URL cannot be fetched, OSError when a path cannot be read, ValidationFailed
    when a line is not a checkpoint record.
    """
    if source.startswith(("http://", "https://")):
        try:
            answer = httpx.get(source, timeout=timeout_seconds)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot fetch the witness's checkpoints from {source}: {exc}") from exc
        return read_checkpoint_lines(answer.text.splitlines(), source)
    path = Path(source)
    if path.is_dir():
        path = path / WITNESS_FILE
    with path.open(encoding="utf-8") as fh:
        return read_checkpoint_lines(fh, source)


@dataclass(frozen=True)
class RetryPolicy:
    """Waits between attempts to hand a checkpoint to a witness."""

    initial_seconds: float = 5.0
    max_seconds: float = 600.0

    @classmethod
    def from_settings(cls, audit: AuditSettings) -> RetryPolicy:
        """The configured waits."""
        return cls(initial_seconds=audit.witness_retry_initial_seconds, max_seconds=audit.witness_retry_max_seconds)


def retry_delay(attempts: int, policy: RetryPolicy) -> float:
    """Seconds to wait after the ``attempts``-th failed hand-over: doubling from the initial wait, capped."""
    return float(min(policy.max_seconds, policy.initial_seconds * 2 ** min(max(attempts - 1, 0), 40)))


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _claim(session: Session, row_id: int, now: datetime, lease: float) -> bool:
    result = session.execute(update(WitnessDelivery).where(
        WitnessDelivery.id == row_id, WitnessDelivery.delivered_at.is_(None), WitnessDelivery.next_attempt_at <= now,
    ).values(next_attempt_at=now + timedelta(seconds=lease)))
    return isinstance(result, CursorResult) and result.rowcount == 1


def deliver_pending(*, sessions: sessionmaker[Session], witnesses: Mapping[str, Witness], retry: RetryPolicy,
                    clock: Callable[[], datetime] = utcnow, limit: int = 200) -> DeliveryReport:
    """Hand every due checkpoint record to its witness, in order; failures are recorded for a retry.

    A witness whose oldest owed record is not due yet (it failed lately, or another deliverer holds it)
    is skipped as a whole, so records never overtake one another.
    """
    report = DeliveryReport()
    if not witnesses:
        return report
    now = clock()
    with transaction(sessions) as session:
        owed: list[Any] = list(session.execute(
            select(WitnessDelivery.id, WitnessDelivery.witness, WitnessDelivery.payload, WitnessDelivery.attempts,
                   WitnessDelivery.checkpoint_seq, WitnessDelivery.next_attempt_at)
            .where(WitnessDelivery.delivered_at.is_(None), WitnessDelivery.witness.in_(list(witnesses)))
            .order_by(WitnessDelivery.id).limit(limit)))
    stalled: set[str] = set()  # witnesses whose oldest owed record is waiting: the later ones wait behind it
    for row_id, name, payload, attempts, seq, next_at in owed:
        if name in stalled:
            continue
        if next_at > now:
            stalled.add(name)
            continue
        witness = witnesses[name]
        with transaction(sessions) as session:
            if not _claim(session, row_id, clock(), witness.timeout_seconds + 60):
                continue  # another deliverer has it
        error: str | None = None
        try:
            witness.hand_over(payload)
        except Unavailable as exc:
            error = exc.message
        done_at = clock()
        values: dict[str, Any] = {"attempts": attempts + 1}
        if error is None:
            values["delivered_at"] = done_at
            report.delivered += 1
        else:
            wait = retry_delay(attempts + 1, retry)
            values.update(last_error=error[:2000], next_attempt_at=done_at + timedelta(seconds=wait))
            report.failed += 1
            report.errors.append(error)
            stalled.add(name)
            log.warning("checkpoint at entry %s not handed to witness %s (attempt %s): %s; retrying in %.0f s",
                        seq, name, attempts + 1, error, wait)
        with transaction(sessions) as session:
            session.execute(update(WitnessDelivery).where(WitnessDelivery.id == row_id).values(**values))
    return report


def pending_count(*, session: Session, witnesses: Iterable[str]) -> int:
    """Hand-overs still owed to the named witnesses (rows of witnesses no longer configured are left out)."""
    return int(session.scalar(select(func.count()).select_from(WitnessDelivery).where(
        WitnessDelivery.delivered_at.is_(None), WitnessDelivery.witness.in_(list(witnesses)))) or 0)
