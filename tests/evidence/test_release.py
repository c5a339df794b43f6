"""A release from order to a package ``kgys-verify`` accepts, through the jobs worker, on real recorded segments and
real ffmpeg (SQLite and PostgreSQL): the package without redaction, the redaction found, reviewed and applied, a
killed worker's release queued again, and the one-time download link."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from kgys_verify.package import verify_package
from sqlalchemy import func, select

from kgys.audit.models import AuditEntry
from kgys.audit.signing import public_pem
from kgys.audit.verify import verify_database
from kgys.errors import Gone
from kgys.evidence import release_service, release_worker
from kgys.evidence.flows import releases
from kgys.evidence.models import Release, ReleaseClip
from kgys.evidence.package_build import file_sha256
from kgys.evidence.rules import Range
from kgys.exports.flows import building
from tests.evidence.conftest import Ev
from tests.evidence.release_material import approved, face_segments, record_footage  # noqa: F401
from tests.recording.test_retention_job import T0

S = timedelta(seconds=1)


def details(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry's details as a mapping."""
    value = entry.details
    return dict(json.loads(value) if isinstance(value, str) else value or {})


def run_worker(ev: Ev) -> int | None:
    """One pass of the releases loop, on the test's world."""
    ev.session.commit()
    done = release_worker.run_once(sessions=ev.w.rt.sessions, settings=ev.w.rt.settings, storage=ev.w.storage,
                                   signer=ev.w.rt.signer, cutter=building.cut_release_clip,
                                   clock=lambda: ev.now)
    ev.session.expire_all()
    return done


def release_row(ev: Ev, release_id: int) -> Release:
    """The release as stored now."""
    row = ev.session.scalar(select(Release).where(Release.id == release_id)
                            .execution_options(populate_existing=True))
    assert row is not None
    return row


def order(ev: Ev, req_id: int, items: list[Range], who: str = "inv", **kw: Any) -> Release:
    """Order a release of ``items`` as ``who``."""
    args: dict[str, Any] = {"recipient": "Av. Zeynep Kaya", "organisation": "Kadıköy Cumhuriyet Başsavcılığı",
                            "redact": False, "watermark": False, "include_segments": False} | kw
    return releases.order(session=ev.session, actor=ev.actors[who], request_id=req_id, items=items,
                          signer=ev.w.rt.signer, now=ev.now, **args)


def download(ev: Ev, req_id: int, release_id: int, token: str) -> Path:
    """Use a download link as the requester."""
    path, _ = releases.download(session=ev.session, actor=ev.actors["inv"], request_id=req_id, release_id=release_id,
                                token=token, data_dir=ev.w.rt.settings.data_dir, signer=ev.w.rt.signer, now=ev.now)
    return path


def verified(ev: Ev, path: Path, tmp_path: Path) -> dict[str, Any]:
    """The package's manifest, once ``kgys-verify`` has found it whole against the published key."""
    key = tmp_path / "published.pem"
    key.write_text(public_pem(ev.w.rt.signer.public))
    report = verify_package(path, published_key=key.read_bytes())
    assert report.exit_code == 0, report.text()
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json")))


def test_an_approved_release_becomes_a_signed_package_that_verifies(ev: Ev, face_segments: list[Path],  # noqa: F811
                                                                     tmp_path: Path) -> None:
    segs = record_footage(ev, "a1", T0, face_segments)
    items = [Range(ev.cam("a1"), T0, T0 + 10 * S)]
    req = approved(ev, items)
    rel = order(ev, req.id, [Range(ev.cam("a1"), T0 + S, T0 + 4 * S)], include_segments=True)
    assert rel.state == "queued" and rel.created_by_name == "inv-investigator"
    assert run_worker(ev) == rel.id
    row = release_row(ev, rel.id)
    assert (row.state, row.progress, row.error_code) == ("ready", 1.0, None), row.error_params
    pkg = release_service.package_path(ev.w.rt.settings.data_dir, rel.id)
    assert file_sha256(pkg) == row.package_sha256 and pkg.stat().st_size == row.package_bytes
    token, _ = releases.issue_link(session=ev.session, actor=ev.actors["inv"], request_id=req.id,
                                   release_id=rel.id, signer=ev.w.rt.signer, now=ev.now, keep=timedelta(hours=48))
    got = download(ev, req.id, rel.id, token)
    manifest = verified(ev, got, tmp_path)
    clip = manifest["clips"][0]
    assert [s["sha256"] for s in clip["segments"]] == [s.sha256 for s in segs]
    assert clip["segments"][1]["prev_sha256"] == segs[0].sha256 and clip["redaction"] is None
    assert manifest["recipient"] == {"name": "Av. Zeynep Kaya", "organisation": "Kadıköy Cumhuriyet Başsavcılığı"}
    assert [a["by"] for a in manifest["approvals"]] == ["liaison-judicial_liaison", "sup-supervisor"]
    assert manifest["decision"]["document"] == "documents/decision.pdf"
    actions = {(e["action"], e["object_type"]) for e in manifest["audit"]["entries"]}
    assert {("footage_request.create", "footage_request"), ("legal_hold.create", "legal_hold"),
            ("evidence_decision.create", "evidence_decision"), ("evidence_approval.create", "evidence_approval"),
            ("evidence_release.create", "evidence_release"), ("evidence_release_clip.create",
                                                              "evidence_release_clip")} <= actions
    downloads = ev.entries("evidence_release.download")
    assert len(downloads) == 1 and downloads[0].actor == "inv-investigator"
    assert details(downloads[0])["sha256"] == row.package_sha256
    assert release_row(ev, rel.id).state == "downloaded"
    done = releases.receipt(session=ev.session, actor=ev.actors["inv"], request_id=req.id, release_id=rel.id,
                            name="Av. Zeynep Kaya", id_no="Baro sicil 12345", at=None, note="USB bellek ile",
                            signer=ev.w.rt.signer, now=ev.now)
    assert done.receipt is not None and done.receipt["id_no"] == "Baro sicil 12345"
    handed = ev.entries("evidence_release.receipt")
    assert len(handed) == 1 and details(handed[0])["sha256"] == row.package_sha256
    assert verify_database(ev.session.connection(), ev.w.rt.signer.public).ok


def test_faces_are_found_reviewed_and_the_redacted_copy_released(ev: Ev, face_segments: list[Path],  # noqa: F811
                                                                 tmp_path: Path) -> None:
    record_footage(ev, "a1", T0, face_segments)
    items = [Range(ev.cam("a1"), T0, T0 + 4 * S)]
    req = approved(ev, items)
    rel = order(ev, req.id, items, redact=True, watermark=True)
    run_worker(ev)
    assert release_row(ev, rel.id).state == "awaiting_review"
    data_dir = ev.w.rt.settings.data_dir
    listed = releases.review(session=ev.session, actor=ev.actors["sup"], request_id=req.id, release_id=rel.id,
                             data_dir=data_dir)
    (clip_row, dets), = listed
    assert dets is not None and dets.frames and clip_row.faces == len(dets.detection_ids())
    assert file_sha256(release_service.detections_path(data_dir, rel.id, 1)) == clip_row.detections_sha256
    assert dets.source_sha256 == clip_row.sha256
    png = releases.frame(session=ev.session, actor=ev.actors["sup"], request_id=req.id, release_id=rel.id,
                         position=1, index=dets.frames[0].index, data_dir=data_dir, ffmpeg="ffmpeg",
                         signer=ev.w.rt.signer)
    assert png.startswith(b"\x89PNG") and ev.entries("evidence_release.frame.view")[0].actor == "sup-supervisor"
    removed = dets.frames[0].detections[0].id
    edits = {"added": [{"first_frame": 0, "last_frame": 3, "box": [500, 200, 600, 300]}], "removed": [removed]}
    releases.edit(session=ev.session, actor=ev.actors["sup"], request_id=req.id, release_id=rel.id, position=1,
                  edits=edits, data_dir=data_dir, signer=ev.w.rt.signer)
    assert details(ev.entries("evidence_release_clip.update")[-1])["fields"] == ["edits"]
    releases.confirm(session=ev.session, actor=ev.actors["sup"], request_id=req.id, release_id=rel.id,
                     signer=ev.w.rt.signer, now=ev.now)
    review = ev.entries("evidence_release.review")[0]
    assert review.actor == "sup-supervisor" and details(review)["clips"][0]["removed"] == 1
    run_worker(ev)
    row = release_row(ev, rel.id)
    assert (row.state, row.reviewed_by_name) == ("ready", "sup-supervisor"), row.error_params
    manifest = verified(ev, release_service.package_path(data_dir, rel.id), tmp_path)
    red = manifest["clips"][0]["redaction"]
    assert red["original"]["sha256"] == clip_row.sha256 and red["reviewed_by"] == "sup-supervisor"
    assert red["redacted"]["sha256"] != clip_row.sha256
    assert manifest["clips"][0]["watermark"]["source"]["sha256"] == red["redacted"]["sha256"]
    assert "Av. Zeynep Kaya" in manifest["clips"][0]["watermark"]["text"]


def test_a_killed_workers_release_is_queued_again_and_built(ev: Ev, face_segments: list[Path]) -> None:  # noqa: F811
    record_footage(ev, "a1", T0, face_segments)
    items = [Range(ev.cam("a1"), T0, T0 + 4 * S)]
    req = approved(ev, items)
    rel = order(ev, req.id, items)
    ev.session.commit()
    claim = release_service.claim(session=ev.session, release_id=rel.id, now=ev.now)  # a worker that then died
    assert claim is not None and release_row(ev, rel.id).state == "cutting"
    stale = timedelta(seconds=ev.w.rt.settings.evidence.release_stale_seconds)
    assert release_worker.housekeeping(ev.session, ev.now + stale - S, data_dir=ev.w.rt.settings.data_dir,
                                       stale=stale)["requeued"] == []
    assert release_worker.housekeeping(ev.session, ev.now + stale + S, data_dir=ev.w.rt.settings.data_dir,
                                       stale=stale)["requeued"] == [rel.id]
    assert not release_service.report(session=ev.session, claim=claim, progress=0.5, now=ev.now)  # it lost its claim
    assert run_worker(ev) == rel.id
    row = release_row(ev, rel.id)
    assert (row.state, row.attempt) == ("ready", 2), row.error_params
    assert ev.session.scalar(select(func.count()).select_from(ReleaseClip)
                             .where(ReleaseClip.release_id == rel.id)) == 1


def test_a_download_link_works_once_and_expires(ev: Ev, face_segments: list[Path]) -> None:  # noqa: F811
    record_footage(ev, "a1", T0, face_segments)
    items = [Range(ev.cam("a1"), T0, T0 + 4 * S)]
    req = approved(ev, items)
    rel = order(ev, req.id, items)
    run_worker(ev)
    keep = timedelta(hours=ev.w.rt.settings.evidence.download_hours)

    def link() -> str:
        token = releases.issue_link(session=ev.session, actor=ev.actors["inv"], request_id=req.id,
                                    release_id=rel.id, signer=ev.w.rt.signer, now=ev.now, keep=keep)[0]
        ev.session.commit()
        return token

    late = link()
    ev.w.clock.now += keep + S
    with pytest.raises(Gone, match="expired"):
        download(ev, req.id, rel.id, late)
    ev.session.rollback()
    ev.w.clock.now -= keep + S
    token = link()
    assert download(ev, req.id, rel.id, token).is_file()
    ev.session.commit()
    with pytest.raises(Gone, match="works once"):
        download(ev, req.id, rel.id, token)
    issued = ev.entries("evidence_release.link")
    assert len(issued) == 2 and all(token not in json.dumps(details(e)) for e in issued)
    pkg = release_service.package_path(ev.w.rt.settings.data_dir, rel.id)
    release_worker.housekeeping(ev.session, ev.now + timedelta(minutes=11), data_dir=ev.w.rt.settings.data_dir,
                                stale=timedelta(minutes=2))
    assert not pkg.exists()
