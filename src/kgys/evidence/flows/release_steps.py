"""What the worker reads and records while it builds a release: the plan (the release, its request, decision,
approvals and the recorded segments of each range), and each finished step written with its audit entry and sealed
(:func:`kgys.evidence.package_audit.seal`) in one unit of work, conditional on the worker's claim.

Every step is an ``evidence_release.step`` entry (or a clip's own entry, the clip being an audited row) attributed
to the system actor ``evidence.release`` with the decision as legal basis; sealing each step keeps the package's
audit proof free of other matters' entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kgys.accounts.actor import system_actor
from kgys.accounts.models import User
from kgys.audit import mechanism
from kgys.audit import service as audit_service
from kgys.audit.actions import AuditAction
from kgys.audit.signing import Signer
from kgys.cameras.models import Camera
from kgys.errors import NotFound
from kgys.evidence import documents, package_audit, release_service, service
from kgys.evidence.flows.release_build import ClipSpec, Cut, ReleasePlan
from kgys.evidence.models import FootageRequest, Release, ReleaseClip
from kgys.evidence.package import Approval, AuditProof, DecisionRef, Recipient, RequestRef
from kgys.recording import footage
from kgys.sites.models import Site

WORKER = "evidence.release"


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _role(session: Session, user_id: int) -> str:
    return session.scalar(select(User.role).where(User.id == user_id)) or ""


def plan(*, session: Session, release_id: int, data_dir: Path) -> ReleasePlan:
    """Read what the release will hold: its request, decision and approvals, and per range the camera's names and
    recorded segments."""
    rel = session.get(Release, release_id)
    if rel is None:
        raise NotFound(f"no release {release_id}")
    req = session.get(FootageRequest, rel.request_id)
    dec = service.decision_of(session=session, request_id=rel.request_id)
    app = service.approval_of(session=session, request_id=rel.request_id)
    assert req is not None and dec is not None and app is not None
    specs = []
    for i, item in enumerate(rel.items):
        cam = session.get(Camera, int(item["camera_id"]))
        assert cam is not None
        site = session.get(Site, cam.site_id)
        assert site is not None
        start, end = _utc(item["start"]), _utc(item["end"])
        refs = footage.segments(session=session, camera_id=cam.id, start=start, end=end)
        specs.append(ClipSpec(i + 1, cam.id, cam.name, site.id, site.code, site.name, start, end,
                              refs[0].codec if refs else "h264", refs))
    doc = documents.path_of(data_dir, dec.document_sha256, dec.document_type)
    approvals = [Approval(by=dec.recorded_by_name, role=_role(session, dec.recorded_by), at=dec.recorded_at),
                 Approval(by=app.approver_name, role=_role(session, app.approver_id), at=app.at)]
    return ReleasePlan(
        release_id=rel.id, package_id=f"EV-{req.id}-{rel.id}",
        request=RequestRef(number=f"#{req.id}", investigation_no=req.investigation_no,
                           requesting_unit=req.requesting_unit, purpose=req.purpose),
        decision=DecisionRef(authority=dec.authority_name, number=dec.decision_no, date=dec.decision_date,
                             valid_until=dec.valid_until, document=doc if doc.is_file() else None),
        approvals=approvals, recipient=Recipient(rel.recipient, rel.recipient_org), redact=rel.redact,
        watermark=rel.watermark, include_segments=rel.include_segments, reviewed_by=rel.reviewed_by_name,
        reviewed_at=rel.reviewed_at, clips=specs)


def basis(session: Session, release_id: int) -> str:
    """The legal basis a release's steps are audited with: its request's decision."""
    rel = session.get(Release, release_id)
    assert rel is not None
    req = session.get(FootageRequest, rel.request_id)
    assert req is not None
    return service.legal_basis_of(session=session, request=req)


def record_step(session: Session, release_id: int, step: str, signer: Signer, **details: Any) -> None:
    """Append the ``evidence_release.step`` entry of ``step`` and seal it."""
    audit_service.append(session, actor=system_actor(WORKER), action=AuditAction.EVIDENCE_RELEASE_STEP,
                         object_type="evidence_release", object_id=release_id, reason=f"release package: {step}",
                         legal_basis=basis(session, release_id), details={"step": step, **details})
    package_audit.seal(session, signer)


def record_cut(*, session: Session, claim: release_service.Claim, plan: ReleasePlan, cuts: Sequence[Cut],
               next_state: str, signer: Signer, now: datetime) -> bool:
    """Keep each clip cut (its segments and hash, audited), move the release on; False when the claim is gone."""
    if not release_service.step(session=session, claim=claim, state=next_state, now=now):
        return False
    known = {c.position: c for c in release_service.clips(session=session, release_id=claim.release_id)}
    with mechanism.acting_as(session, system_actor(WORKER), reason="release package: clip cut",
                             legal_basis=basis(session, claim.release_id)):
        for spec, c in zip(plan.clips, cuts, strict=True):
            segs = [{"id": s.id, "start": s.start.isoformat(), "end": s.end.isoformat(), "bytes": s.bytes,
                     "sha256": s.sha256, "prev_sha256": s.prev_sha256} for s in spec.segments]
            row = known.get(c.position)
            if row is None:
                session.add(ReleaseClip(release_id=claim.release_id, position=c.position, camera_id=spec.camera_id,
                                        site_id=spec.site_id, start=spec.start, end=spec.end, segments=segs,
                                        sha256=c.sha256, bytes=c.bytes, faces=0, frames=0,
                                        edits={"added": [], "removed": []}))
            elif row.sha256 != c.sha256:
                row.sha256, row.bytes, row.segments = c.sha256, c.bytes, segs
        session.flush()
    record_step(session, claim.release_id, "cut", signer, clips=[{"position": c.position, "sha256": c.sha256,
                                                                  "bytes": c.bytes} for c in cuts])
    return True


def record_detections(*, session: Session, claim: release_service.Claim, found: dict[int, tuple[Any, str]],
                      signer: Signer, now: datetime) -> bool:
    """Keep each clip's detection list (by its file's hash, audited) and leave the release awaiting its review;
    False when the claim is gone."""
    if not release_service.step(session=session, claim=claim, state="awaiting_review", now=now):
        return False
    with mechanism.acting_as(session, system_actor(WORKER), reason="release package: faces found",
                             legal_basis=basis(session, claim.release_id)):
        for row in release_service.clips(session=session, release_id=claim.release_id):
            dets, sha = found[row.position]
            row.detections_sha256, row.faces, row.frames = sha, len(dets.detection_ids()), dets.frame_count
        session.flush()
    record_step(session, claim.release_id, "detected", signer)
    return True


def record_rendered(*, session: Session, claim: release_service.Claim, digests: dict[int, dict[str, Any]],
                    signer: Signer, now: datetime) -> bool:
    """Record the released files' hashes and move on to packaging; False when the claim is gone."""
    if not release_service.step(session=session, claim=claim, state="packaging", now=now):
        return False
    record_step(session, claim.release_id, "rendered", signer,
                clips=[{"position": p, **d} for p, d in sorted(digests.items())])
    return True


def objects(session: Session, release_id: int) -> list[tuple[str, int]]:
    """Every audited object of a release: its request, the request's scope items and their holds, the decision,
    the approval, the release and its clips."""
    rel = session.get(Release, release_id)
    assert rel is not None
    rid = rel.request_id
    out: list[tuple[str, int]] = [("footage_request", rid), ("evidence_release", release_id)]
    for kind in ("requested", "granted"):
        for item in service.items(session=session, request_id=rid, kind=kind):
            out.append(("evidence_scope", item.id))
            if item.hold_id is not None:
                out.append(("legal_hold", item.hold_id))
    dec = service.decision_of(session=session, request_id=rid)
    app = service.approval_of(session=session, request_id=rid)
    out += [("evidence_decision", dec.id)] if dec is not None else []
    out += [("evidence_approval", app.id)] if app is not None else []
    out += [("evidence_release_clip", c.id) for c in release_service.clips(session=session, release_id=release_id)]
    return out


def proof(*, session: Session, claim: release_service.Claim, signer: Signer, now: datetime) -> AuditProof | None:
    """The audit proof of the release (every step sealed), None when the claim is gone."""
    if not release_service.report(session=session, claim=claim, progress=0.0, now=now):
        return None
    return package_audit.collect(session=session, objects=objects(session, claim.release_id), signer=signer)


def record_built(*, session: Session, claim: release_service.Claim, sha256: str, size: int, key_id: str,
                 signer: Signer, now: datetime, keep: Any) -> bool:
    """Mark the release ready with its package (audited: the package's SHA-256, size and key); False when the
    claim is gone."""
    if not release_service.finish(session=session, claim=claim, sha256=sha256, size=size, now=now, keep=keep):
        return False
    record_step(session, claim.release_id, "packaged", signer, sha256=sha256, bytes=size, key_id=key_id)
    return True


def record_failed(*, session: Session, claim: release_service.Claim, code: str, params: dict[str, Any],
                  signer: Signer, now: datetime) -> bool:
    """Mark the release failed with its reason (audited); False when the claim is gone."""
    if not release_service.fail(session=session, claim=claim, code=code, params=params, now=now):
        return False
    record_step(session, claim.release_id, "failed", signer, code=code, params=params)
    return True
