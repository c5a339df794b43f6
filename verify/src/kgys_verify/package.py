"""Checking one evidence package: the signature and the key first, then the files, the clips' segment chains, the
times and the audit entries. Every check runs even when an earlier one failed, so the report names every
problem, not only the first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kgys_verify import primitives as p
from kgys_verify.archive import Package, Unreadable, open_package
from kgys_verify.audit import check_audit
from kgys_verify.contents import MANIFEST, PUBLIC_KEY, SIGNATURE, check_clips, check_files, check_times, listed_files
from kgys_verify.report import Report, failed, note, ok

FORMAT = "kgys-evidence-package"
VERSION = 1


class Malformed(ValueError):
    """A JSON file of the package that cannot be taken as it stands."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Malformed(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise Malformed(f"{name} is not a JSON number")


def strict_json(data: bytes) -> Any:
    """Parse JSON refusing what would let two readers see different content: repeated keys, NaN, bad UTF-8."""
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(str(exc)) from None


def _read_json(pkg: Package, name: str, report: Report) -> Any:
    if name not in pkg.members:
        report.add(failed(name, "missing from the package"))
        return None
    try:
        return strict_json(pkg.read(name))
    except (Malformed, Unreadable, OSError) as exc:
        report.add(failed(name, f"not valid JSON ({exc})"))
        return None


def _choose_key(pkg: Package, published: bytes | None, key_source: str, report: Report) -> Ed25519PublicKey | None:
    """The key to check signatures with: the published one when given (compared with the package's copy),
    else the package's own, with a note that it was not checked."""
    own: Ed25519PublicKey | None = None
    if PUBLIC_KEY in pkg.members:
        try:
            own = p.load_public_key(pkg.read(PUBLIC_KEY))
        except (p.BadKey, Unreadable, OSError) as exc:
            report.add(failed(PUBLIC_KEY, str(exc)))
    else:
        report.add(failed(PUBLIC_KEY, "missing from the package"))
    if published is None:
        if own is not None:
            report.add(note("key", f"no published key was given (--key): signatures are checked against the key "
                                   f"inside the package ({p.key_id(own)}), which proves nothing about who signed"))
        return own
    try:
        key = p.load_public_key(published)
    except p.BadKey as exc:
        report.add(failed("key", f"{key_source}: {exc}"))
        return None
    report.key_checked = True
    if own is not None and p.key_id(own) != p.key_id(key):
        report.add(failed("key", f"the package's key {p.key_id(own)} is not the published key {p.key_id(key)} "
                                 f"({key_source})"))
    else:
        report.add(ok("key", f"the published key {p.key_id(key)} ({key_source}) is the key the package names"))
    return key


def _check_signature(manifest: Any, signature: Any, key: Ed25519PublicKey | None, report: Report) -> None:
    subject = "signature"
    if manifest is None or not isinstance(signature, dict) or not isinstance(signature.get("signature"), str):
        report.add(failed(subject, "cannot be checked: the manifest or signature.json is missing or malformed"))
        return
    if key is None:
        report.add(failed(subject, "cannot be checked: no usable public key"))
        return
    kid = p.key_id(key)
    named = [k for k in (signature.get("key_id"), manifest.get("key_id") if isinstance(manifest, dict) else None)
             if k != kid]
    if named:
        report.add(failed(subject, f"the package says it was signed by key {named[0]}, not by key {kid}"))
    if p.signature_valid(key, p.package_message(manifest), signature["signature"]):
        report.add(ok(subject, f"manifest.json is signed by key {kid} (Ed25519): nothing in it was changed "
                               "since it was signed"))
    else:
        report.add(failed(subject, f"the Ed25519 signature of manifest.json is not valid for key {kid}: the "
                                   "manifest was changed after signing, or signed with another key"))


def _about(manifest: dict[str, Any], report: Report) -> None:
    def t(value: Any) -> str:
        return f"{value.get('utc')} (local {value.get('local')})" if isinstance(value, dict) else "?"

    def d(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    req, dec, rcp = d(manifest.get("request")), d(manifest.get("decision")), d(manifest.get("recipient"))
    report.about += [
        f"Package {manifest.get('package_id')}, made {t(manifest.get('created_at'))}, time zone "
        f"{manifest.get('time_zone')}",
        f"Request {req.get('number')}, investigation {req.get('investigation_no')}, requested by "
        f"{req.get('requesting_unit')}",
        f"Decision {dec.get('number')} of {dec.get('authority')}, dated {dec.get('date')}, valid until "
        f"{t(dec.get('valid_until')) if dec.get('valid_until') else 'not limited'}",
        f"Recipient {rcp.get('name')}" + (f" ({rcp['organisation']})" if rcp.get("organisation") else ""),
    ]
    for a in manifest.get("approvals") or []:
        if isinstance(a, dict):
            report.about.append(f"Approved by {a.get('by')} ({a.get('role')}) at {t(a.get('at'))}")


def verify_package(path: Path, *, published_key: bytes | None = None, key_source: str = "",
                   workers: int | None = None) -> Report:
    """Check the package at ``path`` (a zip or a folder) against ``published_key`` (PEM) when given."""
    report = Report(package=str(path))
    try:
        pkg = open_package(path)
    except Unreadable as exc:
        report.add(failed("package", str(exc)))
        return report
    manifest = _read_json(pkg, MANIFEST, report)
    signature = _read_json(pkg, SIGNATURE, report)
    if manifest is not None and not isinstance(manifest, dict):
        report.add(failed(MANIFEST, "it is not a JSON object"))
        manifest = None
    if isinstance(manifest, dict) and (manifest.get("format") != FORMAT or manifest.get("version") != VERSION):
        report.add(failed(MANIFEST, f"not a {FORMAT} of version {VERSION} (format {manifest.get('format')!r}, "
                                    f"version {manifest.get('version')!r})"))
    key = _choose_key(pkg, published_key, key_source or "--key", report)
    _check_signature(manifest, signature, key, report)
    if manifest is None:
        return report
    _about(manifest, report)
    files, found = listed_files(manifest)
    report.add(*found)
    report.add(*check_files(pkg, files, workers))
    clip_findings, clips = check_clips(manifest, files)
    report.add(*clip_findings)
    report.add(*check_times(manifest))
    audit_findings, lines, entries, checkpoints = check_audit(manifest.get("audit"), key)
    report.add(*audit_findings)
    report.entries = lines
    report.counts = {"files": len(files), "clips": clips, "audit entries": entries, "checkpoints": checkpoints}
    return report
