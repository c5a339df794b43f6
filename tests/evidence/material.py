"""Real material for the evidence package tests (its fixtures are taken in by conftest.py): MPEG-TS segments
cut by ffmpeg from a test picture with their hash
chain, the MP4 clips joined from them, the audit entries of a release written and sealed by the audit service
(on SQLite and PostgreSQL), and a package built from all of it, with helpers to tamper with a copy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit import service as audit_service
from kgys.audit.canonical import GENESIS_HASH, chain_hash, entry_payload
from kgys.audit.checkpoints import Checkpoint, as_record, message, own_hash
from kgys.audit.signing import Signer, public_pem
from kgys.db import make_session_factory
from kgys.evidence import package_audit
from kgys.evidence.package import (
    Approval,
    AuditProof,
    ClipIn,
    DecisionRef,
    PackageIn,
    Recipient,
    RequestRef,
    SegmentLink,
    signed_bytes,
)
from kgys.evidence.package_build import BuiltPackage, build_package
from kgys.runtime import make_runtime
from tests.conftest import settings_for

ZONE = ZoneInfo("Europe/Istanbul")
T0 = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)
EARLIER = "ab" * 32  # the hash of the segment recorded before the first one of the clip


@dataclass(frozen=True)
class Camera:
    """One camera's recorded segments (files, chain) and the MP4 clip joined from them."""

    camera_id: int
    segments: list[SegmentLink]
    clip: Path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(folder: Path, camera_id: int, seconds: int, pattern: str) -> Camera:
    """``seconds`` one-second H.264 MPEG-TS segments of a test picture and the MP4 joined from them (``-c copy``)."""
    folder.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size=160x120:rate=10",
                    "-t", str(seconds), "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p", "-f", "segment",
                    "-segment_time", "1", "-segment_format", "mpegts", str(folder / "seg%03d.ts")],
                   check=True, timeout=120)
    files = sorted(folder.glob("seg*.ts"))
    assert len(files) == seconds, files
    segments, prev = [], EARLIER
    for i, f in enumerate(files):
        sha = _sha(f)
        segments.append(SegmentLink(id=100 * camera_id + i, start=T0 + timedelta(seconds=i),
                                    end=T0 + timedelta(seconds=i + 1), bytes=f.stat().st_size, sha256=sha,
                                    prev_sha256=prev, file=f))
        prev = sha
    concat = folder / "list.ffconcat"
    concat.write_text("ffconcat version 1.0\n" + "".join(f"file '{f}'\n" for f in files))
    clip = folder / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(concat), "-c", "copy",
                    "-movflags", "+faststart", str(clip)], check=True, timeout=120)
    return Camera(camera_id, segments, clip)


@pytest.fixture(scope="session")
def cameras(tmp_path_factory: pytest.TempPathFactory) -> list[Camera]:
    """Two cameras: 3 and 2 seconds of recording."""
    base = tmp_path_factory.mktemp("evidence-footage")
    return [_record(base / "cam3", 3, 3, "testsrc"), _record(base / "cam4", 4, 2, "smptebars")]


def clip_of(cam: Camera, *, with_segments: bool = False, **changes: Any) -> ClipIn:
    """The clip of one camera over its whole recording."""
    segs = cam.segments if with_segments else [replace(s, file=None) for s in cam.segments]
    clip = ClipIn(path=cam.clip, camera_id=cam.camera_id, camera_name=f"Kapı {cam.camera_id}",
                  site_code="OKUL-1", site_name="Atatürk İlkokulu", start=T0, end=segs[-1].end, segments=segs)
    return replace(clip, **changes)


def package_in(cameras: list[Camera], proof: AuditProof, *, with_segments: bool = True,
               document: Path | None = None, **changes: Any) -> PackageIn:
    """A package of both cameras for request 2026/17 under decision 2026/455."""
    pkg = PackageIn(
        package_id="EV-2026-17-1",
        request=RequestRef(number="2026/17", investigation_no="2026/1234 soruşturma",
                           requesting_unit="Kadıköy Cumhuriyet Başsavcılığı", purpose="hırsızlık soruşturması"),
        decision=DecisionRef(authority="İstanbul 3. Sulh Ceza Hakimliği", number="2026/455 D.İş",
                             date=date(2026, 3, 2), valid_until=datetime(2026, 6, 2, 21, 0, tzinfo=UTC),
                             document=document),
        approvals=[Approval(by="liaison.ayse", role="judicial_liaison", at=T0 + timedelta(days=2)),
                   Approval(by="supervisor.mehmet", role="supervisor", at=T0 + timedelta(days=2, hours=1))],
        recipient=Recipient(name="Av. Zeynep Kaya", organisation="Kadıköy Cumhuriyet Başsavcılığı"),
        clips=[clip_of(c, with_segments=with_segments) for c in cameras],
        audit=proof, zone=ZONE, created_at=T0 + timedelta(days=3))
    return replace(pkg, **changes)


RELEASE = [("footage_request", "17"), ("judicial_decision", "455"), ("release", "17-1")]


def write_release(session: Session, signer: Signer, *, seal: bool = True) -> list[int]:
    """The steps of a release as the audit service writes them, each sealed by a checkpoint, with another
    matter's entries before and between the steps; returns the release entries' seqs."""
    admin = system_actor("test-setup")

    def other(n: int) -> None:
        for i in range(n):
            audit_service.append(session, actor=admin, action="camera.update", object_type="camera",
                                 object_id=90 + i, reason="başka bir iş")

    seqs = []
    other(3)
    for action, (otype, oid), legal in (("evidence.request", RELEASE[0], "CMK 134"),
                                        ("evidence.decision", RELEASE[1], "İstanbul 3. SCH 2026/455"),
                                        ("evidence.release", RELEASE[2], "İstanbul 3. SCH 2026/455")):
        seqs.append(audit_service.append(session, actor=admin, action=action, object_type=otype, object_id=oid,
                                         reason="soruşturma 2026/1234", legal_basis=legal,
                                         details={"note": "çğıöşü \u2028 \"q\""}))
        if seal:
            package_audit.seal(session, signer)
        other(2)
    session.flush()
    return seqs


@dataclass(frozen=True)
class Built:
    """A package built from real footage and real audit entries, and the published key to check it with."""

    package: BuiltPackage
    key: Path
    signer: Signer
    engine: str
    release_seqs: list[int]


@pytest.fixture(scope="module")
def built(engine: Engine, cameras: list[Camera], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """One package per engine: the release written and sealed in a transaction that is rolled back afterwards."""
    base = tmp_path_factory.mktemp("evidence-package")
    data_dir = base / "data"
    rt = make_runtime(settings_for(data_dir, engine.url.render_as_string(hide_password=False)), engine=engine)
    conn = engine.connect()
    trans = conn.begin()
    try:
        sessions = make_session_factory(conn, join_transaction_mode="create_savepoint",
                                        info=dict(rt.sessions.kw["info"]))
        with sessions() as session:
            seqs = write_release(session, rt.signer)
            proof = package_audit.collect(session=session, objects=RELEASE, signer=rt.signer)
        decision = base / "karar.pdf"
        decision.write_bytes(b"%PDF-1.4 taranmis karar\n")
        out = build_package(package=package_in(cameras, proof, document=decision), signer=rt.signer,
                            out=base / "EV-2026-17-1.zip")
        key = base / "published.pem"
        key.write_text(public_pem(rt.signer.public))
        yield Built(out, key, rt.signer, engine.dialect.name, seqs)
    finally:
        trans.rollback()
        conn.close()


def rewrite_zip(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None] = lambda n, b: b,
                add: dict[str, bytes] | None = None) -> Path:
    """A copy of a package zip with each member passed through ``change`` (None drops it) and ``add`` appended."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = change(info.filename, zin.read(info))
            if data is not None:
                zout.writestr(info, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def edit_manifest(src: Path, dst: Path, edit: Callable[[dict[str, Any]], None],
                  resign: Signer | None = None) -> Path:
    """A copy with the manifest changed by ``edit``; signed again with ``resign`` when given (else the old
    signature stays)."""
    def change(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            info = json.loads(data)
            edit(info)
            edited[0] = info
            return json.dumps(info, indent=2, ensure_ascii=False).encode()
        return data

    edited: list[dict[str, Any]] = [{}]
    rewrite_zip(src, dst, change)
    if resign is None:
        return dst
    sig = {"algorithm": "Ed25519", "key_id": resign.key_id, "signature": resign.sign(signed_bytes(edited[0]))}
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.move(dst, tmp)
    rewrite_zip(tmp, dst, lambda n, b: json.dumps(sig).encode() if n == "signature.json" else b)
    tmp.unlink()
    return dst


def memory_proof(signer: Signer) -> AuditProof:
    """One release entry and the checkpoint sealing it, hashed and signed by the audit rules without a database
    (for tests of the builder alone)."""
    ts = datetime(2026, 3, 3, 8, 0, 0, 123456, tzinfo=UTC)
    entry: dict[str, Any] = {"seq": 41, "ts": ts.isoformat(timespec="microseconds"), "actor_id": 7,
                             "actor": "liaison.ayse", "action": "evidence.release", "object_type": "release",
                             "object_id": "17-1", "site_id": None, "reason": "soruşturma 2026/1234",
                             "legal_basis": "İstanbul 3. SCH 2026/455", "before_digest": None, "after_digest": None,
                             "details": "{}", "prev_hash": "12" * 32}
    payload = entry_payload(seq=41, ts=ts, actor_id=7, actor=entry["actor"], action=entry["action"],
                            object_type="release", object_id="17-1", site_id=None, reason=entry["reason"],
                            legal_basis=entry["legal_basis"], before_digest=None, after_digest=None, details="{}")
    entry["entry_hash"] = chain_hash(entry["prev_hash"], payload)
    cp = Checkpoint(41, entry["entry_hash"], ts + timedelta(milliseconds=2), signer.key_id, "", "34" * 32)
    cp = cp._replace(signature=signer.sign(message(cp)))
    return AuditProof(entries=[entry], checkpoints=[as_record(cp, own_hash(cp, GENESIS_HASH))])
