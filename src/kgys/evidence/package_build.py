"""Writing a signed evidence package (:mod:`kgys.evidence.package` describes it) from plain data; no database.

Every file is copied into the zip once, hashed as it is copied (one read of each input, nothing hashed twice), and
stored uncompressed (video does not compress, and a stored member can be checked in place by ``kgys-verify``). A
recorded segment whose bytes no longer match the hash in the recording's index stops the build, as does a redaction
record that does not name the file released. The zip is written beside ``out`` and renamed into place when whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kgys import localtime
from kgys.audit.signing import Signer, public_pem
from kgys.evidence.package import (
    MANIFEST,
    PUBLIC_KEY,
    SIGNATURE,
    FileDigest,
    PackageError,
    PackageIn,
    Placed,
    clip_name,
    manifest,
    placements,
    signed_bytes,
)

CHUNK = 1 << 22  # 4 MiB copies
ZIP64_FROM = (1 << 31) - (1 << 20)  # a member this large gets zip64 headers from the start


@dataclass(frozen=True)
class BuiltPackage:
    """A finished package: its file, SHA-256 and size, the key that signed it, and every file's digest inside."""

    path: Path
    sha256: str
    bytes: int
    key_id: str
    files: dict[str, FileDigest]


def _zip_time(at: datetime) -> tuple[int, int, int, int, int, int]:
    t = localtime.as_utc(at)
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)


def _member(name: str, at: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_zip_time(at))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _copy(zf: zipfile.ZipFile, placed: Placed, at: datetime, progress: Callable[[int], None]) -> FileDigest:
    """Copy one file into the zip, hashing it on the way."""
    try:
        size = placed.source.stat().st_size
        src = open(placed.source, "rb", buffering=0)  # noqa: SIM115  (closed below)
    except OSError as exc:
        raise PackageError(f"{placed.name}: cannot read {placed.source}: {exc.strerror or exc}",
                           "file_unreadable", name=placed.name) from None
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    n = 0
    with src, zf.open(_member(placed.name, at), "w", force_zip64=size >= ZIP64_FROM) as dst:
        while got := src.readinto(view):
            h.update(view[:got])
            dst.write(view[:got])
            n += got
            progress(got)
    digest = FileDigest(h.hexdigest(), n)
    if placed.expect is not None and digest.sha256 != placed.expect:
        raise PackageError(f"{placed.name}: the stored file {placed.source} is not the recorded segment (its SHA-256 "
                           f"is {digest.sha256}, the recording's index says {placed.expect})", "segment_altered",
                           name=placed.name)
    return digest


def _check_alterations(pkg: PackageIn, files: dict[str, FileDigest]) -> None:
    for i, clip in enumerate(pkg.clips, start=1):
        got = files[clip_name(clip, i)]
        if clip.redaction is not None:
            after = clip.watermark.source if clip.watermark is not None else got
            if clip.redaction.redacted != after:
                raise PackageError(f"the redaction record of camera {clip.camera_id} names a redacted file that is "
                                   "not the one released", "redaction_mismatch", camera=clip.camera_id)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def build_package(*, package: PackageIn, signer: Signer, out: Path,
                  on_progress: Callable[[float], None] | None = None) -> BuiltPackage:
    """Write the signed package for ``package`` to ``out`` (a .zip); ``on_progress`` gets the share copied (0–1).
    PackageError naming the file when an input is missing or not what its record says; nothing is left at ``out``
    then."""
    placed = placements(package)
    total = 0
    for p in placed:
        try:
            total += p.source.stat().st_size
        except OSError as exc:
            raise PackageError(f"{p.name}: cannot read {p.source}: {exc.strerror or exc}", "file_unreadable",
                               name=p.name) from None
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if on_progress is not None and total:
            on_progress(min(1.0, done[0] / total))

    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    at = package.created_at
    try:
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            files = {p.name: _copy(zf, p, at, progress) for p in placed}
            _check_alterations(package, files)
            info = manifest(package, files, signer.key_id)
            signature = {"algorithm": "Ed25519", "key_id": signer.key_id,
                         "signature": signer.sign(signed_bytes(info)),
                         "signed_bytes": "the line 'kgys-evidence-package/1' and a newline, then the canonical JSON "
                                         "(RFC 8785) of manifest.json"}
            zf.writestr(_member(MANIFEST, at), json.dumps(info, indent=2, ensure_ascii=False) + "\n")
            zf.writestr(_member(SIGNATURE, at), json.dumps(signature, indent=2) + "\n")
            zf.writestr(_member(PUBLIC_KEY, at), public_pem(signer.public))
        with part.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, out)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BuiltPackage(path=out, sha256=file_sha256(out), bytes=out.stat().st_size, key_id=signer.key_id,
                        files=files)

