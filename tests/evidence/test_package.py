"""A package built from real footage and real, sealed audit entries verifies against the published key; the same
package with one byte changed, a file removed or added, the manifest edited, a foreign key or signature, an audit
entry edited or a chain link broken fails, and the report names what."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kgys_verify.archive import open_package
from kgys_verify.package import verify_package
from kgys_verify.primitives import entry_hash
from kgys_verify.report import Report, Status

from kgys.audit.signing import Signer, public_pem
from tests.evidence.material import Built, edit_manifest, rewrite_zip


def _check(path: Path, key: Path | None) -> Report:
    return verify_package(path, published_key=key.read_bytes() if key else None, key_source=str(key or ""))


def _failed(report: Report) -> list[str]:
    return [f"{f.subject}: {f.text}" for f in report.problems]


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json")))


def _clip_file(built: Built) -> str:
    return str(_manifest(built.package.path)["clips"][0]["file"])


def test_the_built_package_verifies_against_the_published_key(built: Built) -> None:
    report = _check(built.package.path, built.key)
    assert report.ok, _failed(report)
    assert report.exit_code == 0 and report.key_checked
    text = report.text()
    assert "RESULT: VERIFIED" in text
    manifest = _manifest(built.package.path)
    for f in manifest["files"]:
        assert f"OK     file {f['path']}: SHA-256 {f['sha256']} and size {f['bytes']:,} bytes match" in text
    assert {f["path"] for f in manifest["files"]} == set(built.package.files)
    assert any(p.startswith("segments/camera-3/") for p in built.package.files)
    assert "documents/decision.pdf" in built.package.files
    # each release step is its own run, sealed by the checkpoint signed in its transaction
    for seq in built.release_seqs:
        assert f"OK     audit entry {seq}: recomputed from its content; it is the entry signed by the checkpoint " \
               f"at entry {seq}" in text
    assert [e["seq"] for e in manifest["audit"]["entries"]] == built.release_seqs
    assert [c["seq"] for c in manifest["audit"]["checkpoints"]] == built.release_seqs
    assert report.counts == {"files": len(built.package.files), "clips": 2, "audit entries": 3, "checkpoints": 3}
    assert "evidence.release | footage_request 17" not in text and "evidence.request | footage_request 17" in text


def test_the_manifest_gives_times_in_utc_and_local_time_and_the_references(built: Built) -> None:
    m = _manifest(built.package.path)
    assert m["time_zone"] == "Europe/Istanbul"
    assert m["clips"][0]["from"] == {"utc": "2026-03-01T08:00:00+00:00", "local": "2026-03-01T11:00:00+03:00"}
    assert m["request"]["investigation_no"] == "2026/1234 soruşturma"
    assert m["decision"] == {"authority": "İstanbul 3. Sulh Ceza Hakimliği", "number": "2026/455 D.İş",
                             "date": "2026-03-02", "document": "documents/decision.pdf",
                             "valid_until": {"utc": "2026-06-02T21:00:00+00:00", "local": "2026-06-03T00:00:00+03:00"}}
    assert [a["by"] for a in m["approvals"]] == ["liaison.ayse", "supervisor.mehmet"]
    segs = m["clips"][0]["segments"]
    assert [s["prev_sha256"] for s in segs[1:]] == [s["sha256"] for s in segs[:-1]]
    assert m["key_id"] == built.signer.key_id


def test_without_a_published_key_the_result_says_the_key_was_not_checked(built: Built) -> None:
    report = _check(built.package.path, None)
    assert report.ok and report.exit_code == 3
    assert any(f.status is Status.NOTE and "no published key was given" in f.text for f in report.findings)
    assert "BUT the signing key was not checked against a published key" in report.text()


def test_one_byte_changed_in_a_clip_is_named(built: Built, tmp_path: Path) -> None:
    copy = Path(shutil.copy(built.package.path, tmp_path / "p.zip"))
    name = _clip_file(built)
    member = open_package(copy).members[name]
    assert member.offset is not None
    with copy.open("r+b") as fh:
        fh.seek(member.offset + member.size // 2)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0x01]))
    report = _check(copy, built.key)
    assert report.exit_code == 1
    assert len(report.problems) == 1, _failed(report)
    assert report.problems[0].subject == f"file {name}"
    assert "the manifest says" in report.problems[0].text and "the file was altered" in report.problems[0].text
    assert "RESULT: NOT VERIFIED. 1 problem found" in report.text()


def test_a_removed_file_is_named(built: Built, tmp_path: Path) -> None:
    name = _clip_file(built)
    copy = rewrite_zip(built.package.path, tmp_path / "p.zip", lambda n, b: None if n == name else b)
    assert _failed(_check(copy, built.key)) == [f"file {name}: listed in the manifest but missing from the package"]


def test_an_added_file_is_named(built: Built, tmp_path: Path) -> None:
    copy = rewrite_zip(built.package.path, tmp_path / "p.zip", add={"clips/extra.mp4": b"not in the manifest"})
    assert _failed(_check(copy, built.key)) == [
        "file clips/extra.mp4: in the package but not listed in the manifest: it was added"]


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_file_twice_in_the_zip_is_named(built: Built, tmp_path: Path) -> None:
    name = _clip_file(built)
    copy = rewrite_zip(built.package.path, tmp_path / "p.zip", add={name: b"a second file of the same name"})
    problems = _failed(_check(copy, built.key))
    assert problems == [f"file {name}: the zip holds two files of this name: which one a tool shows is not defined"]


def test_a_hash_edited_in_the_manifest_breaks_the_signature(built: Built, tmp_path: Path) -> None:
    name = _clip_file(built)

    def edit(m: dict[str, Any]) -> None:
        next(f for f in m["files"] if f["path"] == name)["sha256"] = "0" * 64

    report = _check(edit_manifest(built.package.path, tmp_path / "p.zip", edit), built.key)
    problems = _failed(report)
    assert problems[0].startswith("signature: the Ed25519 signature of manifest.json is not valid for key")
    assert any(p.startswith(f"file {name}: its SHA-256 is ") for p in problems)
    assert report.exit_code == 1


def test_a_time_edited_in_the_manifest_is_named(built: Built, tmp_path: Path) -> None:
    def edit(m: dict[str, Any]) -> None:
        m["clips"][0]["from"]["utc"] = "2026-03-01T07:00:00+00:00"

    problems = _failed(_check(edit_manifest(built.package.path, tmp_path / "p.zip", edit), built.key))
    assert problems[0].startswith("signature: the Ed25519 signature of manifest.json is not valid")
    assert "time clips[0].from: UTC 2026-03-01T07:00:00+00:00 and local 2026-03-01T11:00:00+03:00 are not the " \
           "same instant" in problems


def test_a_package_signed_by_another_key_fails_against_the_published_key(built: Built, tmp_path: Path) -> None:
    other = Signer(Ed25519PrivateKey.generate())

    def key(m: dict[str, Any]) -> None:
        m["key_id"] = other.key_id
        m["request"]["number"] = "2026/99"

    forged = edit_manifest(built.package.path, tmp_path / "f.zip", key, resign=other)
    forged = rewrite_zip(forged, tmp_path / "p.zip",
                         lambda n, b: public_pem(other.public).encode() if n == "public-key.pem" else b)
    problems = _failed(_check(forged, built.key))
    assert f"key: the package's key {other.key_id} is not the published key {built.signer.key_id} " \
           f"({built.key})" in problems
    assert any(p.startswith(f"signature: the package says it was signed by key {other.key_id}") for p in problems)
    assert any(p.startswith("signature: the Ed25519 signature of manifest.json is not valid") for p in problems)
    # the checkpoints inside were signed by the operator's key: they still verify against it
    assert not any(p.startswith("checkpoint") for p in problems)
    # checked against its own key only, the forged package still fails: the checkpoints are not signed by it
    alone = _check(forged, None)
    assert alone.exit_code == 1
    assert {p.split(":")[0] for p in _failed(alone)} == {f"checkpoint at entry {s}" for s in built.release_seqs}
    assert all(f"the signature is not valid for key {other.key_id}" in p for p in _failed(alone))


def test_a_foreign_signature_is_named(built: Built, tmp_path: Path) -> None:
    other = Signer(Ed25519PrivateKey.generate())
    copy = edit_manifest(built.package.path, tmp_path / "p.zip", lambda m: None, resign=other)
    problems = _failed(_check(copy, built.key))
    assert any(p.startswith(f"signature: the package says it was signed by key {other.key_id}") for p in problems)
    assert any(p.startswith("signature: the Ed25519 signature of manifest.json is not valid for key "
                            f"{built.signer.key_id}") for p in problems)


def test_an_audit_entry_edited_is_named_even_when_the_manifest_is_signed_again(built: Built, tmp_path: Path) -> None:
    seq = built.release_seqs[1]

    def edit(m: dict[str, Any]) -> None:
        next(e for e in m["audit"]["entries"] if e["seq"] == seq)["legal_basis"] = "yok"

    problems = _failed(_check(edit_manifest(built.package.path, tmp_path / "p.zip", edit, resign=built.signer),
                              built.key))
    assert problems == [f"audit entry {seq}: its content does not match its hash: the entry was altered"]


def test_an_audit_entry_with_its_hash_recomputed_does_not_match_the_checkpoint(built: Built, tmp_path: Path) -> None:
    seq = built.release_seqs[0]

    def edit(m: dict[str, Any]) -> None:
        e = next(e for e in m["audit"]["entries"] if e["seq"] == seq)
        e["reason"] = "başka"
        e["entry_hash"] = entry_hash(e)

    problems = _failed(_check(edit_manifest(built.package.path, tmp_path / "p.zip", edit, resign=built.signer),
                              built.key))
    assert problems == [f"audit entry {seq}: it is not the entry the checkpoint at entry {seq} signed: the entry was "
                        "altered or replaced"]


def test_a_checkpoint_left_out_is_named(built: Built, tmp_path: Path) -> None:
    middle = built.release_seqs[1]

    def edit(m: dict[str, Any]) -> None:
        m["audit"]["checkpoints"] = [c for c in m["audit"]["checkpoints"] if c["seq"] != middle]

    problems = _failed(_check(edit_manifest(built.package.path, tmp_path / "p.zip", edit, resign=built.signer),
                              built.key))
    assert f"checkpoint at entry {built.release_seqs[2]}: it does not follow the checkpoint at entry " \
           f"{built.release_seqs[0]}: a checkpoint in between is missing from the package, or one was altered" \
           in problems
    assert f"audit entry {middle}: not tied to a signed checkpoint: the package has no checkpoint at entry " \
           f"{middle}" in problems


def test_a_broken_chain_link_is_named(built: Built, tmp_path: Path) -> None:
    def edit(m: dict[str, Any]) -> None:
        m["clips"][0]["segments"][2]["prev_sha256"] = "cd" * 32

    problems = _failed(_check(edit_manifest(built.package.path, tmp_path / "p.zip", edit, resign=built.signer),
                              built.key))
    assert problems == [f"clip {_clip_file(built)} (camera 3 Kapı 3): segment 302 does not follow segment 301 in the "
                        "recording's hash chain (a segment between them is missing, or one was replaced)"]


def test_a_segment_file_that_is_not_the_recorded_segment_is_named(built: Built, tmp_path: Path) -> None:
    m = _manifest(built.package.path)
    first, second = m["clips"][0]["segments"][0], m["clips"][0]["segments"][1]
    with zipfile.ZipFile(built.package.path) as zf:
        swapped = zf.read(second["file"])

    def edit(man: dict[str, Any]) -> None:
        entry = next(f for f in man["files"] if f["path"] == first["file"])
        entry["sha256"], entry["bytes"] = second["sha256"], second["bytes"]

    copy = edit_manifest(built.package.path, tmp_path / "e.zip", edit, resign=built.signer)
    copy = rewrite_zip(copy, tmp_path / "p.zip", lambda n, b: swapped if n == first["file"] else b)
    problems = _failed(_check(copy, built.key))
    assert problems == [f"clip {m['clips'][0]['file']} (camera 3 Kapı 3): segment 300: the file {first['file']} is "
                        "not the recorded segment (its SHA-256 differs from the one in the recording's chain)"]


def test_the_unpacked_folder_verifies_and_names_an_added_file(built: Built, tmp_path: Path) -> None:
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(built.package.path) as zf:
        zf.extractall(folder)
    report = _check(folder, built.key)
    assert report.exit_code == 0, _failed(report)
    (folder / "documents" / "note.txt").write_text("eklendi")
    assert _failed(_check(folder, built.key)) == [
        "file documents/note.txt: in the package but not listed in the manifest: it was added"]


def test_a_manifest_with_a_repeated_key_is_refused(built: Built, tmp_path: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        return data.replace(b'"package_id":', b'"package_id": "EV-forged",\n  "package_id":', 1) \
            if name == "manifest.json" else data

    problems = _failed(_check(rewrite_zip(built.package.path, tmp_path / "p.zip", change), built.key))
    assert problems[0] == "manifest.json: not valid JSON (the key 'package_id' appears twice in one object)"


def test_something_that_is_not_a_package_fails_plainly(tmp_path: Path, built: Built) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    report = _check(junk, built.key)
    assert report.exit_code == 1 and report.problems[0].subject == "package"
    assert "is not a readable zip file" in report.problems[0].text
    assert _check(tmp_path / "absent.zip", built.key).problems[0].text.endswith("does not exist")


def test_a_package_zipped_again_with_compression_still_verifies(built: Built, tmp_path: Path) -> None:
    copy = tmp_path / "deflated.zip"
    with zipfile.ZipFile(built.package.path) as zin, \
            zipfile.ZipFile(copy, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    assert all(m.offset is None for m in open_package(copy).members.values())  # read through zipfile
    report = _check(copy, built.key)
    assert report.exit_code == 0, _failed(report)
