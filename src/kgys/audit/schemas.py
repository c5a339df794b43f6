"""Response shapes of the audit domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    """One audit entry as the API shows it."""

    seq: int
    ts: datetime
    actor_id: int | None
    actor: str
    action: str
    object_type: str
    object_id: str
    site: str | None
    reason: str | None
    legal_basis: str | None
    details: dict[str, Any]
    entry_hash: str


class ProblemOut(BaseModel):
    """One thing that does not verify."""

    seq: int
    kind: str
    message: str


class VerifyOut(BaseModel):
    """Outcome of recomputing the chain and checking every signed checkpoint."""

    ok: bool
    entries: int
    last_seq: int
    head_hash: str
    checkpoints: int
    last_checkpoint_seq: int
    unsigned_tail: int
    problems: list[ProblemOut]
