"""The audit part of an evidence package, read from the database: the entries of the release and the signed
checkpoints that seal them (:class:`~kgys.evidence.package.AuditProof`).

How the proof is kept minimal. An entry's hash covers the whole content of the entry and the hash before it, so
linking an entry to a later checkpoint needs the full content of every entry in between: hashes alone would prove
nothing (anyone could claim any content for an entry and let a "hash-only" successor point at it). So instead of
carrying other matters' entries, every step of a release is *sealed*: :func:`seal` signs a checkpoint over the
chain head as the last thing of the step's transaction. Appends are serialised until that transaction ends (the
audit append lock), so the checkpoint signs exactly the step's own last entry and nothing of another matter lies
between. The package then carries, for each run of consecutive release entries, the checkpoint at the run's end,
and every checkpoint from the first of those to the last (checkpoint records hold no personal data), so the
verifier also sees that they follow each other in the one checkpoint chain.

:func:`collect` finds the entries of the release's objects and the checkpoint sealing each. When the newest entries
are not sealed yet it seals them now (a checkpoint over the chain head in the caller's transaction, as
``kgys audit checkpoint`` does). When an entry of another matter lies between a release entry and its checkpoint
(a step that was not sealed), it refuses by default, naming the entries; ``foreign="include"`` carries them in
full instead, disclosing them to the recipient.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from kgys import localtime
from kgys.audit import service as audit_service
from kgys.audit.export import ENTRY_FIELDS, checkpoint_rows
from kgys.audit.hashing import ENTRY_COLUMNS
from kgys.audit.models import AuditEntry
from kgys.audit.signing import Signer
from kgys.errors import KgysError
from kgys.evidence.package import AuditProof

Foreign = Literal["refuse", "include"]


class AuditProofError(KgysError):
    """The audit entries of a release cannot be proved without disclosing others', or there are none; ``code``
    says which: ``no_entries``, ``not_sealed``, ``foreign_entries``."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code


def seal(session: Session, signer: Signer) -> int | None:
    """Sign a checkpoint over the chain head in the session's transaction: call it last in each step of a
    release, after the step's changes (and so its audit entries) are written. Returns the checkpoint's entry,
    None when nothing was appended since the last checkpoint."""
    session.flush()
    return audit_service.checkpoint(session, signer)


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    rec = dict(zip(ENTRY_FIELDS, row, strict=True))
    ts = rec["ts"]
    if isinstance(ts, datetime):
        rec["ts"] = localtime.as_utc(ts).isoformat(timespec="microseconds")
    return rec


def release_seqs(session: Session, objects: Iterable[tuple[str, str | int]], seqs: Iterable[int] = ()) -> list[int]:
    """The entries about the given (object type, object id) pairs, and the ``seqs`` named, in order."""
    found = set(seqs)
    pairs = [and_(AuditEntry.object_type == t, AuditEntry.object_id == str(i)) for t, i in objects]
    if pairs:
        found.update(session.scalars(select(AuditEntry.seq).where(or_(*pairs))))
    return sorted(found)


def _covering(cps: list[dict[str, Any]], seq: int) -> int | None:
    """Index of the first checkpoint at or after entry ``seq``."""
    for i, cp in enumerate(cps):
        if cp["seq"] >= seq:
            return i
    return None


def _ranges(wanted: list[int], cps: list[dict[str, Any]]) -> tuple[list[tuple[int, int]], int, int]:
    """The runs of entries to carry (each release entry up to its checkpoint, merged), and the first and last
    checkpoint (indexes) needed."""
    spans: list[tuple[int, int]] = []
    first = last = -1
    for s in wanted:
        i = _covering(cps, s)
        assert i is not None
        first = i if first < 0 else min(first, i)
        last = max(last, i)
        end = cps[i]["seq"]
        if spans and s <= spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((s, end))
    return spans, first, last


def collect(*, session: Session, objects: Iterable[tuple[str, str | int]], seqs: Iterable[int] = (),
            signer: Signer | None, foreign: Foreign = "refuse") -> AuditProof:
    """The audit proof of a release: the entries about ``objects`` (and the ``seqs`` named) with the checkpoints
    sealing them. With ``signer``, entries not sealed yet are sealed now in the session's transaction; without it
    they are an AuditProofError. Entries of other matters between a release entry and its checkpoint are refused
    (AuditProofError naming them) unless ``foreign`` is "include"."""
    session.flush()
    wanted = release_seqs(session, objects, seqs)
    if not wanted:
        raise AuditProofError("the audit log has no entries about this release", "no_entries")
    conn = session.connection()
    cps = checkpoint_rows(conn)
    if _covering(cps, wanted[-1]) is None:
        if signer is None:
            raise AuditProofError(f"audit entry {wanted[-1]} is not sealed by a signed checkpoint yet", "not_sealed",
                                  seq=wanted[-1])
        seal(session, signer)
        cps = checkpoint_rows(conn)
    spans, first, last = _ranges(wanted, cps)
    cols = ENTRY_COLUMNS
    entries: list[dict[str, Any]] = []
    for lo, hi in spans:
        rows = session.execute(select(*cols).where(AuditEntry.seq >= lo, AuditEntry.seq <= hi)
                               .order_by(AuditEntry.seq)).all()
        entries += [_record(tuple(r)) for r in rows]
    mine = set(wanted)
    others = [e for e in entries if e["seq"] not in mine]
    if others and foreign != "include":
        named = ", ".join(f"{e['seq']} ({e['action']} {e['object_type']})" for e in others[:10])
        more = f" and {len(others) - 10} more" if len(others) > 10 else ""
        raise AuditProofError(f"entries of other matters lie between the release's entries and their checkpoints: "
                              f"{named}{more}; seal each step of the release (kgys.evidence.package_audit.seal)",
                              "foreign_entries", seqs=[e["seq"] for e in others])
    return AuditProof(entries=entries, checkpoints=cps[first:last + 1])
