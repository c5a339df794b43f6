"""The audit proof of a release read from the database (SQLite and PostgreSQL): sealed steps carry no other
matter's entries, the newest entries are sealed on the spot, an unsealed step is refused (or disclosed when asked),
and the whole log still verifies with the seals in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kgys_verify.package import verify_package
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.audit import service as audit_service
from kgys.audit.models import AuditCheckpoint
from kgys.audit.signing import public_pem
from kgys.audit.verify import verify_database
from kgys.evidence import package_audit
from kgys.evidence.package_audit import AuditProofError
from kgys.evidence.package_build import build_package
from kgys.runtime import Runtime
from tests.evidence.material import RELEASE, Camera, edit_manifest, package_in, write_release

ADMIN = system_actor("test-setup")


def _append(session: Session, otype: str, oid: str | int, action: str = "evidence.step") -> int:
    return audit_service.append(session, actor=ADMIN, action=action, object_type=otype, object_id=oid,
                                reason="soruşturma 2026/1234")


def _checkpoints(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0)


def _verify(rt: Runtime, cameras: list[Camera], proof: package_audit.AuditProof, tmp_path: Path) -> list[str]:
    """Build a package with ``proof`` and check it against the published key; the problems found."""
    key = tmp_path / "key.pem"
    key.write_text(public_pem(rt.signer.public))
    out = build_package(package=package_in(cameras, proof, with_segments=False), signer=rt.signer,
                        out=tmp_path / "p.zip")
    report = verify_package(out.path, published_key=key.read_bytes())
    return [f"{f.subject}: {f.text}" for f in report.problems]


def test_sealed_steps_give_a_proof_without_other_matters_and_the_log_still_verifies(
        rt: Runtime, session: Session, cameras: list[Camera], tmp_path: Path) -> None:
    seqs = write_release(session, rt.signer)
    before = _checkpoints(session)
    proof = package_audit.collect(session=session, objects=RELEASE, signer=rt.signer)
    assert _checkpoints(session) == before  # every step was sealed: nothing more to sign
    assert [e["seq"] for e in proof.entries] == seqs
    assert all(e["object_type"] != "camera" for e in proof.entries)
    assert [c["seq"] for c in proof.checkpoints] == seqs
    assert _verify(rt, cameras, proof, tmp_path) == []
    report = verify_database(session.connection(), rt.signer.public)
    assert report.ok, report.problems


def test_the_newest_step_is_sealed_when_the_proof_is_collected(rt: Runtime, session: Session,
                                                               cameras: list[Camera], tmp_path: Path) -> None:
    _append(session, "camera", 1, "camera.update")
    first = _append(session, "footage_request", 5)
    package_audit.seal(session, rt.signer)
    last = _append(session, "release", "5-1")
    before = _checkpoints(session)
    proof = package_audit.collect(session=session, objects=[("footage_request", 5), ("release", "5-1")],
                                  signer=rt.signer)
    assert _checkpoints(session) == before + 1
    assert [c["seq"] for c in proof.checkpoints] == [first, last]
    assert _verify(rt, cameras, proof, tmp_path) == []
    assert verify_database(session.connection(), rt.signer.public).ok


def test_entries_of_one_step_form_a_run_sealed_at_its_end(rt: Runtime, session: Session, cameras: list[Camera],
                                                          tmp_path: Path) -> None:
    a = _append(session, "footage_request", 6)
    b = _append(session, "legal_hold", 77, "legal_hold.create")
    package_audit.seal(session, rt.signer)
    proof = package_audit.collect(session=session, objects=[("footage_request", 6), ("legal_hold", 77)],
                                  signer=None)
    assert [e["seq"] for e in proof.entries] == [a, b]
    key = tmp_path / "key.pem"
    key.write_text(public_pem(rt.signer.public))
    out = build_package(package=package_in(cameras, proof, with_segments=False), signer=rt.signer,
                        out=tmp_path / "p.zip")
    report = verify_package(out.path, published_key=key.read_bytes())
    assert report.exit_code == 0
    assert f"audit entries {a}–{b}: each recomputed from its content and linked to the one before; entry {b} is " \
           f"the entry signed by the checkpoint at entry {b}" in report.text()

    def unlink(m: dict[str, Any]) -> None:
        m["audit"]["entries"][1]["prev_hash"] = "ef" * 32

    broken = edit_manifest(out.path, tmp_path / "b.zip", unlink, resign=rt.signer)
    problems = [f"{f.subject}: {f.text}" for f in verify_package(broken, published_key=key.read_bytes()).problems]
    assert f"audit entry {b}: it does not follow entry {a} (the link to the entry before it is broken: an entry " \
           "was replaced or inserted)" in problems
    assert f"audit entry {b}: its content does not match its hash: the entry was altered" in problems


def test_another_matter_between_a_step_and_its_checkpoint_is_refused(rt: Runtime, session: Session,
                                                                     cameras: list[Camera], tmp_path: Path) -> None:
    step = _append(session, "footage_request", 8)
    other = _append(session, "camera", 3, "camera.update")
    last = _append(session, "release", "8-1")
    with pytest.raises(AuditProofError, match=f"entries of other matters lie between the release's entries and "
                                              f"their checkpoints: {other} \\(camera.update camera\\)") as caught:
        package_audit.collect(session=session, objects=[("footage_request", 8), ("release", "8-1")],
                              signer=rt.signer)
    assert caught.value.code == "foreign_entries" and caught.value.params["seqs"] == [other]
    proof = package_audit.collect(session=session, objects=[("footage_request", 8), ("release", "8-1")],
                                  signer=rt.signer, foreign="include")
    assert [e["seq"] for e in proof.entries] == [step, other, last]
    assert _verify(rt, cameras, proof, tmp_path) == []


def test_without_a_signer_unsealed_entries_are_refused(session: Session) -> None:
    seq = _append(session, "footage_request", 9)
    with pytest.raises(AuditProofError, match=f"audit entry {seq} is not sealed by a signed checkpoint yet") as caught:
        package_audit.collect(session=session, objects=[("footage_request", 9)], signer=None)
    assert caught.value.code == "not_sealed"


def test_a_release_without_entries_is_refused(rt: Runtime, session: Session) -> None:
    _append(session, "footage_request", 10)
    with pytest.raises(AuditProofError, match="the audit log has no entries about this release") as caught:
        package_audit.collect(session=session, objects=[("footage_request", 11)], signer=rt.signer)
    assert caught.value.code == "no_entries"
