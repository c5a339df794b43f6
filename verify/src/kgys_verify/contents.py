"""Checking what the manifest says against the files and against itself: every file's SHA-256 and size, no file
missing or added, the segment hash chain each clip was cut from, the redaction and watermark records, and that
every time given in UTC and in local time is the same instant."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from kgys_verify.archive import Package
from kgys_verify.report import Finding, failed, ok

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
PUBLIC_KEY = "public-key.pem"
META_FILES = (MANIFEST, SIGNATURE, PUBLIC_KEY)
HEX64 = re.compile(r"[0-9a-f]{64}")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def listed_files(manifest: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    """The manifest's file list by path, and findings for entries that are malformed or listed twice."""
    found: list[Finding] = []
    files: dict[str, dict[str, Any]] = {}
    raw = manifest.get("files")
    if not isinstance(raw, list):
        return files, [failed(MANIFEST, "it has no list of files")]
    for i, f in enumerate(raw, start=1):
        if not (isinstance(f, dict) and isinstance(f.get("path"), str) and isinstance(f.get("sha256"), str)
                and HEX64.fullmatch(f["sha256"]) and _is_count(f.get("bytes"))):
            found.append(failed(f"file #{i} of the manifest", "malformed: it needs a path, a SHA-256 (64 hex digits) "
                                                                "and a size in bytes"))
            continue
        if f["path"] in files:
            found.append(failed(f"file {f['path']}", "it is listed twice in the manifest"))
        elif f["path"] in META_FILES:
            found.append(failed(f"file {f['path']}", "the manifest lists one of its own signature files"))
        else:
            files[f["path"]] = f
    return files, found


def check_files(pkg: Package, files: Mapping[str, Mapping[str, Any]], workers: int | None) -> list[Finding]:
    """Every listed file present with its SHA-256 and size; nothing in the package the manifest does not list."""
    found: list[Finding] = []
    for name in pkg.duplicates:
        found.append(failed(f"file {name}", "the zip holds two files of this name: which one a tool shows is "
                                            "not defined"))
    for name in pkg.unsafe:
        found.append(failed(f"file {name}", "its name points outside the package folder"))
    present = [n for n in files if n in pkg.members]
    digests = pkg.digests(present, workers)
    for name in sorted(files):
        want = files[name]
        subject = f"file {name}"
        if name not in pkg.members:
            found.append(failed(subject, "listed in the manifest but missing from the package"))
            continue
        got = digests[name]
        if isinstance(got, str):
            found.append(failed(subject, got))
        elif got[1] != want["bytes"]:
            found.append(failed(subject, f"its size is {got[1]:,} bytes, the manifest says {want['bytes']:,}: the "
                                         "file was altered, cut short or replaced"))
        elif got[0] != want["sha256"]:
            found.append(failed(subject, f"its SHA-256 is {got[0]}, the manifest says {want['sha256']}: the file "
                                         "was altered"))
        else:
            found.append(ok(subject, f"SHA-256 {got[0]} and size {got[1]:,} bytes match the manifest"))
    for name in sorted(pkg.members):
        if name not in files and name not in META_FILES:
            found.append(failed(f"file {name}", "in the package but not listed in the manifest: it was added"))
    return found


def _digest_of(record: Any) -> tuple[str, int] | None:
    if isinstance(record, dict) and isinstance(record.get("sha256"), str) and _is_count(record.get("bytes")):
        return record["sha256"], record["bytes"]
    return None


def _clip_links(clip: Mapping[str, Any], label: str, files: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """The clip's file, its segments' chain and files, and its redaction and watermark records."""
    found: list[Finding] = []
    path = clip.get("file")
    if not isinstance(path, str) or path not in files:
        return [failed(label, "its file is not in the manifest's file list")]
    segments = clip.get("segments")
    if not isinstance(segments, list) or not segments:
        return [failed(label, "the manifest names no recorded segment it was cut from")]
    chain_ok = True
    for i, seg in enumerate(segments):
        if not (isinstance(seg, dict) and isinstance(seg.get("sha256"), str) and isinstance(seg.get("prev_sha256"), str)
                and HEX64.fullmatch(seg["sha256"]) and HEX64.fullmatch(seg["prev_sha256"])):
            found.append(failed(label, f"segment #{i + 1} is malformed: it needs sha256 and prev_sha256"))
            chain_ok = False
            continue
        sid = seg.get("id", f"#{i + 1}")
        if i and isinstance(segments[i - 1], dict) and seg["prev_sha256"] != segments[i - 1].get("sha256"):
            found.append(failed(label, f"segment {sid} does not follow segment {segments[i - 1].get('id')} in the "
                                       "recording's hash chain (a segment between them is missing, or one was "
                                       "replaced)"))
            chain_ok = False
        seg_file = seg.get("file")
        if seg_file is not None:
            listed = files.get(seg_file) if isinstance(seg_file, str) else None
            if listed is None:
                found.append(failed(label, f"segment {sid}: its file is not in the manifest's file list"))
                chain_ok = False
            elif listed["sha256"] != seg["sha256"]:
                found.append(failed(label, f"segment {sid}: the file {seg_file} is not the recorded segment (its "
                                           "SHA-256 differs from the one in the recording's chain)"))
                chain_ok = False
    if chain_ok:
        first, last = segments[0]["sha256"], segments[-1]["sha256"]
        found.append(ok(label, f"cut from {len(segments)} recorded segment(s), each linked to the one before in "
                               f"the recording's hash chain (from {first} to {last})"))
    found += _alterations(clip, label, files[path])
    return found


def _alterations(clip: Mapping[str, Any], label: str, listed: Mapping[str, Any]) -> list[Finding]:
    """A redacted or watermarked clip: each step's output is the next step's input, the last one the file."""
    found: list[Finding] = []
    released = (listed["sha256"], listed["bytes"])
    redaction, watermark = clip.get("redaction"), clip.get("watermark")
    if redaction is not None:
        original, redacted = _digest_of(redaction.get("original") if isinstance(redaction, dict) else None), \
            _digest_of(redaction.get("redacted") if isinstance(redaction, dict) else None)
        if original is None or redacted is None:
            found.append(failed(label, "the redaction record is malformed: it needs the original's and the "
                                       "redacted file's SHA-256 and size"))
        else:
            after = _digest_of(watermark.get("source")) if isinstance(watermark, dict) else released
            if after != redacted:
                found.append(failed(label, "the redacted file named by the redaction record is not the file "
                                           "released (nor the one the watermark was burnt into)"))
            else:
                found.append(ok(label, f"redacted: original SHA-256 {original[0]}, redacted SHA-256 {redacted[0]}, "
                                       f"reviewed by {redaction.get('reviewed_by')}"))
    if watermark is not None:
        if not isinstance(watermark, dict) or _digest_of(watermark.get("source")) is None:
            found.append(failed(label, "the watermark record is malformed: it needs the source file's SHA-256 "
                                       "and size"))
        else:
            found.append(ok(label, f"watermark burnt in: \"{watermark.get('text')}\""))
    return found


def check_clips(manifest: Mapping[str, Any], files: Mapping[str, Mapping[str, Any]]) -> tuple[list[Finding], int]:
    """Each clip's segment chain, segment files and redaction and watermark records; the number of clips."""
    clips = manifest.get("clips")
    if not isinstance(clips, list) or not clips:
        return [failed(MANIFEST, "it lists no clips")], 0
    found: list[Finding] = []
    for i, clip in enumerate(clips, start=1):
        if not isinstance(clip, dict):
            found.append(failed(f"clip #{i}", "malformed"))
            continue
        camera = clip["camera"] if isinstance(clip.get("camera"), dict) else {}
        label = f"clip {clip.get('file')} (camera {camera.get('id')} {camera.get('name', '')})".replace(" )", ")")
        found += _clip_links(clip, label, files)
    return found, len(clips)


def _times(value: Any, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if isinstance(value, dict):
        if set(value) == {"utc", "local"}:
            yield where, value
            return
        for k, v in value.items():
            yield from _times(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _times(v, f"{where}[{i}]")


def check_times(manifest: Mapping[str, Any]) -> list[Finding]:
    """Every time the manifest gives in UTC and in local time names the same instant."""
    found: list[Finding] = []
    for where, t in _times(manifest, ""):
        try:
            utc, local = datetime.fromisoformat(str(t["utc"])), datetime.fromisoformat(str(t["local"]))
            same = utc.tzinfo is not None and local.tzinfo is not None and utc == local
        except ValueError:
            same = False
        if not same:
            found.append(failed(f"time {where}", f"UTC {t['utc']} and local {t['local']} are not the same instant"))
    return found
