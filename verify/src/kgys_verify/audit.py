"""Checking the audit entries of a release against the signed checkpoints the package carries.

The package holds the entries of the release in full and, for each run of consecutive entries, the signed
checkpoint at the run's last entry (kgys signs one in the same transaction as each step of a release, so no
other matter's entry lies between a step and its checkpoint). The check recomputes every entry's hash from its
content, follows the links within each run, requires the run's last entry to be the very entry a checkpoint
signed, and checks every checkpoint's Ed25519 signature and that each checkpoint follows the one before it
(the package carries every checkpoint from the first to the last it needs: they hold no personal data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kgys_verify import primitives as p
from kgys_verify.report import Finding, failed, ok

_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,), "ts": (str,), "actor_id": (int, type(None)), "actor": (str,), "action": (str,),
    "object_type": (str,), "object_id": (str,), "site_id": (int, type(None)), "reason": (str, type(None)),
    "legal_basis": (str, type(None)), "before_digest": (str, type(None)), "after_digest": (str, type(None)),
    "details": (str,), "prev_hash": (str,), "entry_hash": (str,),
}
_CHECKPOINT_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,), "entry_hash": (str,), "created_at": (str,), "key_id": (str,), "signature": (str,),
    "prev_checkpoint_hash": (str, type(None)),
}


def _malformed(record: Any, types: Mapping[str, tuple[type, ...]]) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    for name, allowed in types.items():
        if name not in record:
            return f"field {name} is missing"
        value = record[name]
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            return f"field {name} has the wrong type"
    return None


def describe(entry: Mapping[str, Any]) -> str:
    """One line telling what an entry records: number, time, who, what, on which object, and why."""
    parts = [f"entry {entry['seq']}", str(entry["ts"]), str(entry["actor"]), str(entry["action"]),
             f"{entry['object_type']} {entry['object_id']}"]
    if entry.get("reason"):
        parts.append(f"reason: {entry['reason']}")
    if entry.get("legal_basis"):
        parts.append(f"legal basis: {entry['legal_basis']}")
    return " | ".join(parts)


def _runs(entries: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    runs: list[list[Mapping[str, Any]]] = []
    for e in entries:
        if runs and e["seq"] == runs[-1][-1]["seq"] + 1:
            runs[-1].append(e)
        else:
            runs.append([e])
    return runs


def _check_checkpoints(cps: Sequence[Mapping[str, Any]], key: Ed25519PublicKey | None,
                       kid: str | None) -> list[Finding]:
    found: list[Finding] = []
    prev: Mapping[str, Any] | None = None
    prev_own: str | None = None
    for cp in cps:
        subject = f"checkpoint at entry {cp['seq']}"
        message = p.checkpoint_message(cp)
        if key is None:
            found.append(failed(subject, "its signature cannot be checked: no key"))
        elif cp["key_id"] != kid or not p.signature_valid(key, message, cp["signature"]):
            found.append(failed(subject, f"the signature is not valid for key {kid} (the checkpoint was altered, "
                                         "or signed by another key)"))
        else:
            found.append(ok(subject, f"signature valid (key {kid}, signed {cp['created_at']})"))
        if cp["prev_checkpoint_hash"] is None:
            found.append(failed(subject, "it was signed before checkpoints were chained: its place in the "
                                         "checkpoint chain cannot be checked"))
            prev, prev_own = cp, None
            continue
        if prev is not None:
            if prev_own is None or cp["prev_checkpoint_hash"] != prev_own:
                found.append(failed(subject, f"it does not follow the checkpoint at entry {prev['seq']}: a "
                                             "checkpoint in between is missing from the package, or one was altered"))
            else:
                found.append(ok(subject, f"follows the checkpoint at entry {prev['seq']} in the checkpoint chain"))
        prev, prev_own = cp, p.checkpoint_hash(cp["prev_checkpoint_hash"], message)
    return found


def _check_run(run: Sequence[Mapping[str, Any]], at: Mapping[int, Mapping[str, Any]]) -> list[Finding]:
    found: list[Finding] = []
    bad = False
    for i, e in enumerate(run):
        subject = f"audit entry {e['seq']}"
        if i and e["prev_hash"] != run[i - 1]["entry_hash"]:
            found.append(failed(subject, f"it does not follow entry {run[i - 1]['seq']} (the link to the entry "
                                         "before it is broken: an entry was replaced or inserted)"))
            bad = True
        if p.entry_hash(e) != e["entry_hash"]:
            found.append(failed(subject, "its content does not match its hash: the entry was altered"))
            bad = True
        cp = at.get(e["seq"])
        if cp is not None and cp["entry_hash"] != e["entry_hash"]:
            found.append(failed(subject, f"it is not the entry the checkpoint at entry {e['seq']} signed: the "
                                         "entry was altered or replaced"))
            bad = True
    first, last = run[0]["seq"], run[-1]["seq"]
    span = f"audit entries {first}–{last}" if first != last else f"audit entry {first}"
    if last not in at:
        found.append(failed(span, f"not tied to a signed checkpoint: the package has no checkpoint at entry {last}"))
    elif not bad and first == last:
        found.append(ok(span, f"recomputed from its content; it is the entry signed by the checkpoint at entry {last}"))
    elif not bad:
        found.append(ok(span, "each recomputed from its content and linked to the one before; "
                              f"entry {last} is the entry signed by the checkpoint at entry {last}"))
    return found


def check_audit(section: Any, key: Ed25519PublicKey | None) -> tuple[list[Finding], list[str], int, int]:
    """Check the manifest's ``audit`` section; returns the findings, a line per entry, and the counts of
    entries and checkpoints."""
    subject = "audit"
    if not isinstance(section, dict) or not isinstance(section.get("entries"), list) \
            or not isinstance(section.get("checkpoints"), list):
        return [failed(subject, "the manifest has no audit section with entries and checkpoints")], [], 0, 0
    entries: list[dict[str, Any]] = []
    found: list[Finding] = []
    for i, e in enumerate(section["entries"], start=1):
        why = _malformed(e, _ENTRY_TYPES)
        if why:
            found.append(failed(f"audit entry #{i} of the manifest", f"malformed: {why}"))
        else:
            entries.append(e)
    cps: list[dict[str, Any]] = []
    for i, cp in enumerate(section["checkpoints"], start=1):
        why = _malformed(cp, _CHECKPOINT_TYPES)
        if why:
            found.append(failed(f"checkpoint #{i} of the manifest", f"malformed: {why}"))
        else:
            cps.append(cp)
    if not entries:
        found.append(failed(subject, "the package holds no audit entries of the release"))
        return found, [], 0, len(cps)
    entries.sort(key=lambda e: e["seq"])
    seen: set[int] = set()
    for e in entries:
        if e["seq"] in seen:
            found.append(failed(f"audit entry {e['seq']}", "it appears twice in the manifest"))
        seen.add(e["seq"])
    cps.sort(key=lambda c: (c["seq"], c["created_at"]))
    kid = p.key_id(key) if key is not None else None
    found += _check_checkpoints(cps, key, kid)
    at: dict[int, dict[str, Any]] = {}
    for cp in cps:
        at.setdefault(cp["seq"], cp)
    unique = list({e["seq"]: e for e in entries}.values())
    for run in _runs(unique):
        found += _check_run(run, at)
    return found, [describe(e) for e in unique], len(unique), len(cps)
