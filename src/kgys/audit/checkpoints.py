"""Signed checkpoints as plain data: the checkpoint chain, the witness record, and the unsigned-tail rule.

Every checkpoint signs the chain head at an entry *and* the hash of the checkpoint before it, so the
checkpoints form a chain of their own (:func:`check_checkpoints`): removing or replacing one breaks the
link of the next. A checkpoint's hash is ``SHA-256(previous checkpoint's hash + "\\n" + its signed bytes)``,
starting from 64 zeros. Checkpoints signed before chaining existed (``prev_checkpoint_hash`` empty, a
database upgraded from revision 0004) are accepted only as the leading run; they are hashed into the
chain in order, so the first chained checkpoint seals them.

Everything here is pure: the verification functions and the command line feed it rows, files or
witness records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kgys.audit.canonical import GENESIS_HASH
from kgys.audit.report import Problem
from kgys.audit.signing import checkpoint_hash, checkpoint_message, key_id, signature_valid
from kgys.config import AuditSettings

RECORD_FIELDS = ("seq", "entry_hash", "created_at", "key_id", "signature", "prev_checkpoint_hash")


class Checkpoint(NamedTuple):
    """One signed checkpoint; ``prev_checkpoint_hash`` is None on those signed before chaining."""

    seq: int
    entry_hash: str
    created_at: datetime
    key_id: str
    signature: str
    prev_checkpoint_hash: str | None = None


def message(cp: Checkpoint) -> bytes:
    """The bytes the checkpoint's signature covers."""
    return checkpoint_message(cp.seq, cp.entry_hash, cp.created_at.isoformat(timespec="microseconds"), cp.key_id,
                              cp.prev_checkpoint_hash)


def own_hash(cp: Checkpoint, running: str) -> str:
    """The checkpoint's hash; ``running`` is the chain's hash before it (used only by unchained checkpoints)."""
    return checkpoint_hash(cp.prev_checkpoint_hash if cp.prev_checkpoint_hash is not None else running, message(cp))


def in_order(cps: Iterable[Checkpoint]) -> list[Checkpoint]:
    """Checkpoints in signing order with exact duplicates left out."""
    return sorted(set(cps), key=lambda c: (c.seq, c.created_at, c.signature))


def chain_head(cps: Iterable[Checkpoint]) -> str:
    """The hash of the newest checkpoint (64 zeros when there is none): what the next checkpoint signs."""
    running = GENESIS_HASH
    for cp in in_order(cps):
        running = own_hash(cp, running)
    return running


def as_record(cp: Checkpoint, own: str) -> dict[str, Any]:
    """The JSON-ready form handed to witnesses and published: every signed field and the checkpoint's hash."""
    return {"seq": cp.seq, "entry_hash": cp.entry_hash, "created_at": cp.created_at.isoformat(timespec="microseconds"),
            "key_id": cp.key_id, "signature": cp.signature, "prev_checkpoint_hash": cp.prev_checkpoint_hash,
            "checkpoint_hash": own}


def from_record(obj: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint from its record (``checkpoint_hash`` is recomputed, never trusted); KeyError/ValueError if bad."""
    prev = obj.get("prev_checkpoint_hash")
    return Checkpoint(int(obj["seq"]), str(obj["entry_hash"]), datetime.fromisoformat(str(obj["created_at"])),
                      str(obj["key_id"]), str(obj["signature"]), None if prev is None else str(prev))


def signature_ok(cp: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    """Whether the checkpoint was signed by ``public_key``."""
    return cp.key_id == key_id(public_key) and signature_valid(public_key, message(cp), cp.signature)


@dataclass
class CheckpointCheck:
    """What checking the stored checkpoints found; ``wanted`` maps each entry seq to its checkpoints."""

    count: int = 0
    problems: list[Problem] = field(default_factory=list)
    wanted: dict[int, list[Checkpoint]] = field(default_factory=dict)
    stopped: bool = False


def check_checkpoints(cps: Iterable[Checkpoint], public_key: Ed25519PublicKey | None, *,
                      stop_at_first: bool) -> CheckpointCheck:
    """Check every checkpoint's signature (when a key is given) and the links of the checkpoint chain."""
    out = CheckpointCheck()
    running, prev_seq, chained = GENESIS_HASH, 0, False
    for cp in in_order(cps):
        out.count += 1
        problem: Problem | None = None
        if public_key is not None and not signature_ok(cp, public_key):
            problem = Problem(cp.seq, "checkpoint", f"checkpoint at entry {cp.seq}: bad signature")
        elif cp.prev_checkpoint_hash is None and chained:
            problem = Problem(cp.seq, "checkpoint", f"checkpoint at entry {cp.seq} is not chained although "
                              "checkpoints before it are: it was put there by hand")
        elif cp.prev_checkpoint_hash is not None and cp.prev_checkpoint_hash != running:
            before = f"the checkpoint at entry {prev_seq}" if prev_seq else "the start of the log"
            problem = Problem(cp.seq, "checkpoint", f"checkpoint at entry {cp.seq} does not follow {before}: "
                              "a checkpoint in between was deleted or altered")
        if problem is not None:
            out.problems.append(problem)
            if stop_at_first:
                out.stopped = True
                return out
        chained = chained or cp.prev_checkpoint_hash is not None
        running, prev_seq = own_hash(cp, running), cp.seq
        out.wanted.setdefault(cp.seq, []).append(cp)
    return out


def compare_with_witness(stored: Iterable[Checkpoint], held: Iterable[Checkpoint], source: str,
                         public_key: Ed25519PublicKey | None) -> list[Problem]:
    """Every checkpoint a witness holds must be in the database unchanged (and signed by the key)."""
    by_seq: dict[int, set[Checkpoint]] = {}
    for cp in stored:
        by_seq.setdefault(cp.seq, set()).add(cp)
    held_cps = in_order(held)
    if not held_cps:
        return [Problem(0, "witness", f"witness {source} holds no checkpoints: nothing to check against")]
    problems: list[Problem] = []
    for cp in held_cps:
        if public_key is not None and not signature_ok(cp, public_key):
            problems.append(Problem(cp.seq, "witness", f"checkpoint at entry {cp.seq} held by witness {source}: "
                                    "bad signature (the witness record was altered or forged)"))
        elif cp.seq not in by_seq:
            problems.append(Problem(cp.seq, "witness", f"checkpoint at entry {cp.seq} held by witness {source} is "
                                    "not in the database: checkpoints were deleted"))
        elif cp not in by_seq[cp.seq]:
            problems.append(Problem(cp.seq, "witness", f"checkpoint at entry {cp.seq} held by witness {source} "
                                    "differs from the database's: the checkpoint was replaced"))
    return problems


@dataclass(frozen=True)
class TailPolicy:
    """How long the unsigned tail (entries after the last checkpoint) may be before verification fails."""

    max_entries: int
    max_seconds: float

    @classmethod
    def from_settings(cls, audit: AuditSettings) -> TailPolicy:
        """The checkpoint interval plus its margin, in entries and in seconds."""
        return cls(max_entries=audit.checkpoint_every_entries + audit.unsigned_tail_margin_entries,
                   max_seconds=audit.checkpoint_every_minutes * 60 + audit.unsigned_tail_margin_seconds)


def tail_problems(*, last_seq: int, last_checkpoint_seq: int, unsigned_since: datetime | None, now: datetime,
                  policy: TailPolicy) -> list[Problem]:
    """Problems when the unsigned tail is longer, in entries or in age, than checkpoints allow."""
    count = last_seq - last_checkpoint_seq
    if count <= 0:
        return []
    first = last_checkpoint_seq + 1
    problems: list[Problem] = []
    if count > policy.max_entries:
        problems.append(Problem(first, "unsigned", f"{count} entries after the last signed checkpoint (at entry "
                                f"{last_checkpoint_seq}), more than the {policy.max_entries} allowed: checkpoints "
                                "were deleted or are not being signed"))
    if unsigned_since is not None:
        age = (now - unsigned_since).total_seconds()
        if age > policy.max_seconds:
            problems.append(Problem(first, "unsigned", f"entry {first} is {age:.0f} s old and no signed checkpoint "
                                    f"covers it, more than the {policy.max_seconds:.0f} s allowed: checkpoints were "
                                    "deleted or are not being signed"))
    return problems
