"""What a verification run finds: the problems, each naming the entry it concerns, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kgys.audit.canonical import GENESIS_HASH


@dataclass(frozen=True)
class Problem:
    """One thing that does not verify, naming the entry (seq) it concerns."""

    seq: int
    kind: str  # altered | deleted | inserted | checkpoint | unsigned | witness
    message: str


@dataclass
class VerifyReport:
    """Outcome of a verification run."""

    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS_HASH
    checkpoints: int = 0
    last_checkpoint_seq: int = 0
    unsigned_since: datetime | None = None  # time of the first entry after the last checkpoint
    witnessed: int = 0  # checkpoints held by the witnesses checked
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems

    @property
    def unsigned_tail(self) -> int:
        """Entries after the last signed checkpoint (protected by the chain only)."""
        return max(0, self.last_seq - self.last_checkpoint_seq)


def seq_problem(seq: int, expected_seq: int) -> Problem:
    """Entry ``seq`` came where ``expected_seq`` was due."""
    if seq > expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
        return Problem(expected_seq, "deleted", f"entry {missing} missing (deleted); next entry is {seq}")
    return Problem(seq, "inserted", f"entry {seq} is out of sequence (expected {expected_seq}): inserted")


def link_problem(seq: int) -> Problem:
    """Entry ``seq`` does not point at the entry before it."""
    return Problem(seq, "inserted", f"entry {seq} does not follow entry {seq - 1}: inserted or replaced")


def hash_problem(seq: int) -> Problem:
    """Entry ``seq`` does not match its own hash."""
    return Problem(seq, "altered", f"entry {seq} does not match its hash: altered or forged")
