"""The signed evidence package: what goes in (plain data, no database rows), its manifest, and the signed bytes.

A package is a zip (stored, not compressed) of:

- ``clips/…mp4``: the footage released, one file per camera and range (redacted and watermarked when so);
- ``segments/camera-ID/…``: on request, the original recorded segments each clip was cut from;
- ``documents/…``: the scanned decision, when given;
- ``manifest.json``: every file above with its SHA-256 and size, each clip's camera, site, range (UTC and local
  time) and the recorded segments it was cut from with their hash-chain links, the request, the decision, who
  approved, the recipient, the redaction and watermark records, and the audit entries of the release with the
  signed checkpoints that seal them;
- ``signature.json``: the Ed25519 signature over :data:`PACKAGE_CONTEXT` followed by the manifest's canonical JSON
  (:func:`signed_bytes`), with the key's id;
- ``public-key.pem``: a copy of the public key (the verifier compares it with the published one).

The package is signed with the audit signing key (:mod:`kgys.audit.signing`): the key the operator already
publishes (``kgys audit public-key``, ``GET /api/v1/audit/public-key``) and that signs the checkpoints inside the
package, so one published key checks both. The context prefix keeps a package signature from ever being taken for
a checkpoint signature. The verifier is the separate ``kgys-verify`` distribution (``verify/`` in the repository);
:mod:`kgys_verify.primitives` holds the same byte rules, and tests require both to give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from kgys import localtime
from kgys.audit.canonical import canonical_json
from kgys.errors import KgysError

FORMAT = "kgys-evidence-package"
VERSION = 1
PACKAGE_CONTEXT = b"kgys-evidence-package/1\n"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
PUBLIC_KEY = "public-key.pem"


class PackageError(KgysError):
    """The package cannot be built as asked; the message names the file, camera or segment, and ``code`` says why
    (for a translated text): ``file_unreadable``, ``segment_altered`` (a stored segment differs from its recorded
    hash), ``chain_broken``, ``no_segments``, ``redaction_mismatch``, ``duplicate_name``."""

    def __init__(self, message: str, code: str, **params: Any) -> None:
        super().__init__(message, **params)
        self.code = code


@dataclass(frozen=True)
class FileDigest:
    """A file's SHA-256 (hex) and size in bytes."""

    sha256: str
    bytes: int


@dataclass(frozen=True)
class SegmentLink:
    """One recorded segment a clip was cut from, as the index holds it: its hash and the hash of the camera's
    segment before it. ``file``: the stored segment file, to include in the package (on request)."""

    id: int
    start: datetime
    end: datetime
    bytes: int
    sha256: str
    prev_sha256: str
    file: Path | None = None


@dataclass(frozen=True)
class Redaction:
    """Faces blurred in a clip: the clip as cut from the segments (``original``), the redacted file, the tool, and
    the person who reviewed it."""

    original: FileDigest
    redacted: FileDigest
    tool: str
    reviewed_by: str
    reviewed_at: datetime


@dataclass(frozen=True)
class Watermark:
    """A visible text burnt into a clip for its recipient; ``source`` is the file it was burnt into."""

    text: str
    source: FileDigest


@dataclass(frozen=True)
class ClipIn:
    """One MP4 to release (``path``: the final file, redacted and watermarked when so) of one camera and range,
    and the recorded segments it was cut from, in recording order."""

    path: Path
    camera_id: int
    camera_name: str
    site_code: str
    site_name: str
    start: datetime
    end: datetime
    segments: Sequence[SegmentLink]
    redaction: Redaction | None = None
    watermark: Watermark | None = None


@dataclass(frozen=True)
class RequestRef:
    """The footage request the release answers."""

    number: str
    investigation_no: str
    requesting_unit: str
    purpose: str = ""


@dataclass(frozen=True)
class DecisionRef:
    """The judicial decision that allows the release; ``document``: the scanned decision, to include."""

    authority: str
    number: str
    date: date
    valid_until: datetime | None = None
    document: Path | None = None


@dataclass(frozen=True)
class Approval:
    """One approval of the release: who, in which role, when."""

    by: str
    role: str
    at: datetime


@dataclass(frozen=True)
class Recipient:
    """Who the package is released to."""

    name: str
    organisation: str = ""


@dataclass(frozen=True)
class AuditProof:
    """The audit entries of the release (records with every hashed field, ``ts`` as its canonical text) and the
    signed checkpoints from the first that seals one of them to the last (witness records), oldest first."""

    entries: Sequence[Mapping[str, Any]]
    checkpoints: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class PackageIn:
    """Everything a package holds, as plain data."""

    package_id: str
    request: RequestRef
    decision: DecisionRef
    approvals: Sequence[Approval]
    recipient: Recipient
    clips: Sequence[ClipIn]
    audit: AuditProof
    zone: ZoneInfo
    created_at: datetime


@dataclass(frozen=True)
class Placed:
    """A file put into the package: where it comes from, its path inside, and its digest once hashed."""

    source: Path
    name: str
    expect: str | None = None  # the SHA-256 it must have (a recorded segment's)


def clip_name(clip: ClipIn, index: int) -> str:
    """The clip's path inside the package. Pure."""
    start = localtime.as_utc(clip.start).strftime("%Y%m%dT%H%M%SZ")
    return f"clips/{index:02d}-camera-{clip.camera_id}-{start}{clip.path.suffix or '.mp4'}"


def segment_name(clip: ClipIn, seg: SegmentLink) -> str:
    """A recorded segment's path inside the package. Pure."""
    suffix = seg.file.suffix if seg.file is not None else ""
    return f"segments/camera-{clip.camera_id}/{seg.id}{suffix}"


def decision_name(decision: DecisionRef) -> str | None:
    """The scanned decision's path inside the package. Pure."""
    return None if decision.document is None else f"documents/decision{decision.document.suffix}"


def placements(pkg: PackageIn) -> list[Placed]:
    """Every file the package will hold besides its manifest, signature and key; PackageError when two would share
    a name or a clip's segments do not form one chain. Pure."""
    out: list[Placed] = []
    for i, clip in enumerate(pkg.clips, start=1):
        check_chain(clip)
        out.append(Placed(clip.path, clip_name(clip, i)))
        out += [Placed(s.file, segment_name(clip, s), s.sha256) for s in clip.segments if s.file is not None]
    doc = decision_name(pkg.decision)
    if doc is not None and pkg.decision.document is not None:
        out.append(Placed(pkg.decision.document, doc))
    seen: set[str] = set()
    for p in out:
        if p.name in seen:
            raise PackageError(f"two files would be {p.name} in the package", "duplicate_name", name=p.name)
        seen.add(p.name)
    return out


def check_chain(clip: ClipIn) -> None:
    """PackageError unless the clip names segments, each following the one before in the recording's chain."""
    if not clip.segments:
        raise PackageError(f"the clip of camera {clip.camera_id} names no recorded segment", "no_segments",
                           camera=clip.camera_id)
    for before, seg in zip(clip.segments, clip.segments[1:], strict=False):
        if seg.prev_sha256 != before.sha256:
            raise PackageError(f"segment {seg.id} of camera {clip.camera_id} does not follow segment {before.id} in "
                               "the recording's hash chain", "chain_broken", camera=clip.camera_id, segment=seg.id)


def _time(value: datetime, zone: ZoneInfo) -> dict[str, str]:
    return {"utc": localtime.as_utc(value).isoformat(), "local": localtime.to_local(value, zone).isoformat()}


def _digest(d: FileDigest) -> dict[str, Any]:
    return {"sha256": d.sha256, "bytes": d.bytes}


def _clip(clip: ClipIn, name: str, zone: ZoneInfo) -> dict[str, Any]:
    r, w = clip.redaction, clip.watermark
    return {
        "file": name, "camera": {"id": clip.camera_id, "name": clip.camera_name},
        "site": {"code": clip.site_code, "name": clip.site_name},
        "from": _time(clip.start, zone), "to": _time(clip.end, zone),
        "segments": [{"id": s.id, "from": _time(s.start, zone), "to": _time(s.end, zone), "bytes": s.bytes,
                      "sha256": s.sha256, "prev_sha256": s.prev_sha256,
                      "file": segment_name(clip, s) if s.file is not None else None} for s in clip.segments],
        "redaction": None if r is None else {
            "original": _digest(r.original), "redacted": _digest(r.redacted), "tool": r.tool,
            "reviewed_by": r.reviewed_by, "reviewed_at": _time(r.reviewed_at, zone)},
        "watermark": None if w is None else {"text": w.text, "source": _digest(w.source)},
    }


def manifest(pkg: PackageIn, files: Mapping[str, FileDigest], key_id: str) -> dict[str, Any]:
    """The manifest of ``pkg``; ``files`` maps each placed file's name to its digest. Pure."""
    zone, d = pkg.zone, pkg.decision
    return {
        "format": FORMAT, "version": VERSION, "package_id": pkg.package_id, "key_id": key_id,
        "time_zone": zone.key, "created_at": _time(pkg.created_at, zone),
        "request": {"number": pkg.request.number, "investigation_no": pkg.request.investigation_no,
                    "requesting_unit": pkg.request.requesting_unit, "purpose": pkg.request.purpose},
        "decision": {"authority": d.authority, "number": d.number, "date": d.date.isoformat(),
                     "valid_until": _time(d.valid_until, zone) if d.valid_until is not None else None,
                     "document": decision_name(d)},
        "approvals": [{"by": a.by, "role": a.role, "at": _time(a.at, zone)} for a in pkg.approvals],
        "recipient": {"name": pkg.recipient.name, "organisation": pkg.recipient.organisation},
        "clips": [_clip(c, clip_name(c, i), zone) for i, c in enumerate(pkg.clips, start=1)],
        "files": [{"path": name, "sha256": files[name].sha256, "bytes": files[name].bytes} for name in sorted(files)],
        "audit": {"entries": [dict(e) for e in pkg.audit.entries],
                  "checkpoints": [dict(c) for c in pkg.audit.checkpoints]},
    }


def signed_bytes(value: Mapping[str, Any]) -> bytes:
    """The exact bytes a package's signature covers: the context line, then the manifest's canonical JSON."""
    return PACKAGE_CONTEXT + canonical_json(value)
