"""Building a package from plain data: the manifest's shape, the signed bytes, redaction and watermark records,
and the builds refused (a broken chain, a stored segment that is not the recorded one, a record naming another
file), which leave nothing behind."""

from __future__ import annotations

import json
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kgys_verify import primitives
from kgys_verify.package import verify_package

from kgys.audit.canonical import canonical_json
from kgys.audit.signing import Signer, public_pem, signature_valid
from kgys.evidence.package import FileDigest, PackageError, Redaction, clip_name, manifest, signed_bytes
from kgys.evidence.package_build import build_package, file_sha256
from kgys.evidence.package_watermark import burn_watermark
from tests.evidence.material import T0, ZONE, Camera, clip_of, memory_proof, package_in

SIGNER = Signer(Ed25519PrivateKey.generate())


def _key(tmp_path: Path) -> bytes:
    key = tmp_path / "key.pem"
    key.write_text(public_pem(SIGNER.public))
    return key.read_bytes()


def test_the_signature_covers_the_context_line_and_the_canonical_manifest(cameras: list[Camera],
                                                                          tmp_path: Path) -> None:
    seen: list[float] = []
    built = build_package(package=package_in(cameras, memory_proof(SIGNER)), signer=SIGNER, out=tmp_path / "p.zip",
                          on_progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with zipfile.ZipFile(built.path) as zf:
        info = json.loads(zf.read("manifest.json"))
        sig = json.loads(zf.read("signature.json"))
        names = zf.namelist()
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
    assert names[-3:] == ["manifest.json", "signature.json", "public-key.pem"]
    assert signed_bytes(info) == b"kgys-evidence-package/1\n" + canonical_json(info) == primitives.package_message(info)
    assert sig["key_id"] == SIGNER.key_id and signature_valid(SIGNER.public, signed_bytes(info), sig["signature"])
    assert built.sha256 == file_sha256(built.path) and built.bytes == built.path.stat().st_size
    assert not (tmp_path / "p.zip.part").exists()
    assert verify_package(built.path, published_key=_key(tmp_path)).exit_code == 0


def test_the_manifest_lists_files_in_order_with_their_digests(cameras: list[Camera]) -> None:
    pkg = package_in(cameras, memory_proof(SIGNER), with_segments=False)
    names = [clip_name(c, i) for i, c in enumerate(pkg.clips, start=1)]
    assert names == ["clips/01-camera-3-20260301T080000Z.mp4", "clips/02-camera-4-20260301T080000Z.mp4"]
    files = {n: FileDigest(str(i) * 64, 10 + i) for i, n in enumerate(reversed(names))}
    m = manifest(pkg, files, "k1")
    assert [f["path"] for f in m["files"]] == names
    assert m["files"][0] == {"path": names[0], "sha256": "1" * 64, "bytes": 11}
    assert m["created_at"] == {"utc": "2026-03-04T08:00:00+00:00", "local": "2026-03-04T11:00:00+03:00"}
    assert m["clips"][1]["segments"][0]["file"] is None and m["clips"][1]["redaction"] is None
    assert m["audit"]["entries"][0]["seq"] == 41 and m["decision"]["document"] is None


def test_a_broken_segment_chain_is_refused(cameras: list[Camera], tmp_path: Path) -> None:
    cam = cameras[0]
    segs = [cam.segments[0], replace(cam.segments[1], prev_sha256="cd" * 32), cam.segments[2]]
    pkg = package_in(cameras, memory_proof(SIGNER), clips=[clip_of(cam, segments=segs)])
    with pytest.raises(PackageError, match="segment 301 of camera 3 does not follow segment 300 in the recording's "
                                           "hash chain") as caught:
        build_package(package=pkg, signer=SIGNER, out=tmp_path / "p.zip")
    assert caught.value.code == "chain_broken" and caught.value.params == {"camera": 3, "segment": 301}
    assert list(tmp_path.iterdir()) == []


def test_a_stored_segment_that_is_not_the_recorded_one_is_refused(cameras: list[Camera], tmp_path: Path) -> None:
    cam = cameras[1]
    wrong = [replace(cam.segments[0], file=cam.segments[1].file), cam.segments[1]]
    pkg = package_in(cameras, memory_proof(SIGNER), clips=[clip_of(cam, with_segments=True, segments=wrong)])
    with pytest.raises(PackageError, match=f"segments/camera-4/400.ts: the stored file {cam.segments[1].file} is "
                                           "not the recorded segment") as caught:
        build_package(package=pkg, signer=SIGNER, out=tmp_path / "p.zip")
    assert caught.value.code == "segment_altered"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_clip_file_is_refused_naming_it(cameras: list[Camera], tmp_path: Path) -> None:
    pkg = package_in(cameras, memory_proof(SIGNER), clips=[clip_of(cameras[0], path=tmp_path / "gone.mp4")])
    with pytest.raises(PackageError, match="clips/01-camera-3-20260301T080000Z.mp4: cannot read .*gone.mp4") as caught:
        build_package(package=pkg, signer=SIGNER, out=tmp_path / "p.zip")
    assert caught.value.code == "file_unreadable"


def _blurred(source: Path, out: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), "-vf", "boxblur=8", "-c:v", "libx264",
                    "-f", "mp4", str(out)], check=True, timeout=120)
    return out


def test_a_redacted_and_watermarked_clip_records_each_file_it_came_from(cameras: list[Camera],
                                                                        tmp_path: Path) -> None:
    cam = cameras[0]
    redacted = _blurred(cam.clip, tmp_path / "redacted.mp4")
    marked = tmp_path / "marked.mp4"
    mark = burn_watermark(ffmpeg="ffmpeg", source=redacted, out=marked, text="Av. Zeynep Kaya\n2026/17")
    original = FileDigest(file_sha256(cam.clip), cam.clip.stat().st_size)
    record = Redaction(original=original, redacted=FileDigest(file_sha256(redacted), redacted.stat().st_size),
                       tool="deface (CenterFace)", reviewed_by="liaison.ayse", reviewed_at=T0)
    clip = clip_of(cam, path=marked, redaction=record, watermark=mark)
    built = build_package(package=package_in(cameras, memory_proof(SIGNER), clips=[clip]), signer=SIGNER,
                          out=tmp_path / "p.zip")
    report = verify_package(built.path, published_key=_key(tmp_path))
    assert report.exit_code == 0, [f.text for f in report.problems]
    label = "clip clips/01-camera-3-20260301T080000Z.mp4 (camera 3 Kapı 3)"
    assert f"OK     {label}: redacted: original SHA-256 {original.sha256}, redacted SHA-256 " \
           f"{record.redacted.sha256}, reviewed by liaison.ayse" in report.text()
    assert f'OK     {label}: watermark burnt in: "Av. Zeynep Kaya\n2026/17"' in report.text()
    assert built.files[clip_name(clip, 1)].sha256 == file_sha256(marked)

    wrong = replace(clip, watermark=None)  # the record names the redacted file, but the marked one is released
    with pytest.raises(PackageError, match="the redaction record of camera 3 names a redacted file that is not the "
                                           "one released") as caught:
        build_package(package=package_in(cameras, memory_proof(SIGNER), clips=[wrong]), signer=SIGNER,
                      out=tmp_path / "q.zip")
    assert caught.value.code == "redaction_mismatch"
    assert not (tmp_path / "q.zip").exists() and not (tmp_path / "q.zip.part").exists()


def test_times_are_given_in_the_package_zone(cameras: list[Camera]) -> None:
    pkg = package_in(cameras, memory_proof(SIGNER), zone=ZONE)
    m = manifest(pkg, {clip_name(c, i): FileDigest("0" * 64, 1) for i, c in enumerate(pkg.clips, start=1)}, "k")
    seg = m["clips"][0]["segments"][1]
    assert seg["from"] == {"utc": "2026-03-01T08:00:01+00:00", "local": "2026-03-01T11:00:01+03:00"}
