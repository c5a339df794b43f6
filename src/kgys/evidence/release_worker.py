"""The releases loop of ``kgys worker jobs``: claim the oldest queued release and build it, with no transaction
open while ffmpeg or the face detector runs (the loop itself is :mod:`kgys.jobloop`, shared with footage exports).

First pass: cut each clip from the recorded segments (``-c copy``); with redaction asked, find the faces and stop at
*awaiting review* (a person reviews them, and confirming queues the release again). Second pass (or the first, with
no redaction): render the redaction and the watermark, collect the audit proof, write the signed package, mark it
ready. Each finished step is recorded and sealed in its own unit of work, conditional on the claim; a worker whose
claim was lost stops and writes nothing, and its files under ``DATA_DIR/evidence/releases/release-ID`` are taken
over by the next run (a clip already cut with its recorded hash is kept).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kgys import jobloop, localtime
from kgys.audit.signing import Signer
from kgys.config import Settings
from kgys.db import reading, retrying, utcnow
from kgys.evidence import redaction, release_service
from kgys.evidence.flows import release_build, release_steps
from kgys.evidence.flows.release_build import BuildFailed, Cut, Cutter, Storage
from kgys.evidence.package import PackageError
from kgys.evidence.package_audit import AuditProofError
from kgys.evidence.package_build import file_sha256
from kgys.jobloop import ClaimLost

log = logging.getLogger(__name__)


def _claim(sessions: sessionmaker[Session], now: datetime) -> release_service.Claim | None:
    def work(session: Session) -> release_service.Claim | None:
        release_id = release_service.next_queued(session=session)
        return None if release_id is None else release_service.claim(session=session, release_id=release_id,
                                                                     now=now)

    return retrying(sessions, work)


class _Run:
    """One worker's build of one claimed release."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, storage: Storage, signer: Signer,
                 claim: release_service.Claim, clock: Callable[[], datetime], cutter: Cutter) -> None:
        self.sessions, self.settings, self.storage, self.signer = sessions, settings, storage, signer
        self.cutter = cutter
        self.claim, self.clock = claim, clock
        self.data_dir = settings.data_dir
        self.folder = release_service.work_dir(self.data_dir, claim.release_id)
        self.ffmpeg = settings.recording.ffmpeg_path
        self.zone = localtime.zone(settings.web.time_zone)
        lost = f"release {claim.release_id} was taken from this worker"
        self.progress = jobloop.reporter(
            sessions, lambda s, p: release_service.report(session=s, claim=claim, progress=p, now=clock()),
            settings.evidence.release_progress_seconds, lost)

    def commit(self, work: Callable[[Session], bool]) -> None:
        """Run one recorded step; ClaimLost when the claim no longer holds."""
        if not retrying(self.sessions, work):
            raise ClaimLost(f"release {self.claim.release_id} was taken from this worker")

    def clip_path(self, position: int) -> Path:
        return release_service.clip_path(self.data_dir, self.claim.release_id, position)

    def build(self) -> None:
        """Build the claimed release as far as it can go now."""
        self.folder.mkdir(parents=True, exist_ok=True)
        c = self.claim
        with reading(self.sessions) as session:
            plan = release_steps.plan(session=session, release_id=c.release_id, data_dir=self.data_dir)
            keep = {r.position: r.sha256 for r in release_service.clips(session=session, release_id=c.release_id)}
            edits = {r.position: redaction.edits_from_json(r.edits or {})
                     for r in release_service.clips(session=session, release_id=c.release_id)}
            dets_sha = {r.position: r.detections_sha256
                        for r in release_service.clips(session=session, release_id=c.release_id)}
        cuts = release_build.cut(plan=plan, cutter=self.cutter, storage=self.storage, ffmpeg=self.ffmpeg,
                                 folder=self.folder, paths=self.clip_path, on_progress=self.progress, keep=keep)
        if c.reviewed and any(keep.get(x.position) != x.sha256 for x in cuts):
            raise BuildFailed("a clip is not the one whose faces were reviewed", "clip_changed")
        if not c.reviewed:
            nxt = "detecting" if plan.redact else "rendering"
            self.commit(lambda s: release_steps.record_cut(session=s, claim=c, plan=plan, cuts=cuts, next_state=nxt,
                                                           signer=self.signer, now=self.clock()))
            if plan.redact:
                found = release_build.detect(
                    cuts=cuts, ffmpeg=self.ffmpeg, on_progress=self.progress,
                    paths=lambda p: release_service.detections_path(self.data_dir, c.release_id, p))
                self.commit(lambda s: release_steps.record_detections(session=s, claim=c, found=found,
                                                                      signer=self.signer, now=self.clock()))
                return
        self.finish(plan, cuts, edits, dets_sha)

    def detections(self, cuts: list[Cut], dets_sha: dict[int, str | None]) -> dict[int, redaction.DetectionList]:
        """The reviewed detection lists, each checked against the hash recorded when it was made."""
        out = {}
        for x in cuts:
            path = release_service.detections_path(self.data_dir, self.claim.release_id, x.position)
            if not path.is_file() or file_sha256(path) != dets_sha.get(x.position):
                raise BuildFailed(f"the detections of clip {x.position} are not the ones reviewed", "clip_changed",
                                  clip=x.position)
            out[x.position] = redaction.detections_from_json(json.loads(path.read_text(encoding="utf-8")))
        return out

    def finish(self, plan: release_build.ReleasePlan, cuts: list[Cut], edits: dict[int, redaction.ReviewEdits],
               dets_sha: dict[int, str | None]) -> None:
        """Render, prove, package and mark ready."""
        c = self.claim
        dets = self.detections(cuts, dets_sha) if plan.redact else {}
        rendered = release_build.render(plan=plan, cuts=cuts, detections=dets, edits=edits, ffmpeg=self.ffmpeg,
                                        folder=self.folder, zone=self.zone, now=self.clock(),
                                        on_progress=self.progress)
        digests = {p: {"sha256": file_sha256(r.path), "bytes": r.path.stat().st_size,
                       "original_sha256": r.redaction.original.sha256 if r.redaction else None}
                   for p, r in rendered.items()}
        self.commit(lambda s: release_steps.record_rendered(session=s, claim=c, digests=digests, signer=self.signer,
                                                            now=self.clock()))
        segment_files = release_build.segment_files(plan=plan, storage=self.storage, folder=self.folder)
        proof = retrying(self.sessions, lambda s: release_steps.proof(session=s, claim=c, signer=self.signer,
                                                                      now=self.clock()))
        if proof is None:
            raise ClaimLost(f"release {c.release_id} was taken from this worker")
        out = release_service.package_path(self.data_dir, c.release_id)
        built = release_build.package(plan=plan, rendered=rendered, segment_files=segment_files, proof=proof,
                                      signer=self.signer, zone=self.zone, now=self.clock(), out=out,
                                      on_progress=self.progress)
        keep = timedelta(hours=self.settings.evidence.download_hours)
        try:
            self.commit(lambda s: release_steps.record_built(session=s, claim=c, sha256=built.sha256,
                                                             size=built.bytes, key_id=built.key_id,
                                                             signer=self.signer, now=self.clock(), keep=keep))
        except ClaimLost:
            out.unlink(missing_ok=True)
            raise
        shutil.rmtree(self.folder, ignore_errors=True)
        log.info("release %s packaged: %s bytes, SHA-256 %s", c.release_id, built.bytes, built.sha256)


def run_once(*, sessions: sessionmaker[Session], settings: Settings, storage: Storage, signer: Signer,
             cutter: Cutter, clock: Callable[[], datetime] = utcnow) -> int | None:
    """Build the oldest queued release as far as it goes now; its id, None when none was waiting."""
    claim = _claim(sessions, clock())
    if claim is None:
        return None
    run = _Run(sessions, settings, storage, signer, claim, clock, cutter)

    def fail(code: str, params: dict[str, object]) -> None:
        retrying(sessions, lambda s: release_steps.record_failed(session=s, claim=claim, code=code,
                                                                 params=dict(params), signer=signer, now=clock()))

    try:
        run.build()
    except ClaimLost:
        log.warning("release %s: claim lost, left to the worker that holds it", claim.release_id)
    except BuildFailed as exc:
        log.warning("release %s failed: %s", claim.release_id, exc.message)
        fail(exc.code, {k: str(v) for k, v in exc.params.items()})
    except (PackageError, AuditProofError) as exc:
        log.warning("release %s: the package could not be built: %s", claim.release_id, exc.message)
        fail("package_failed", {"reason": exc.code, "message": exc.message[:300]})
    except Exception:
        log.exception("release %s failed", claim.release_id)
        fail("internal", {})
    return claim.release_id


def housekeeping(session: Session, now: datetime, *, data_dir: Path, stale: timedelta,
                 grace: timedelta = timedelta(minutes=10)) -> dict[str, list[int]]:
    """Queue again the releases whose worker went silent; delete the packages of expired releases and of those
    downloaded more than ``grace`` ago."""
    requeued = release_service.requeue_stale(session=session, now=now, stale=stale)
    expired = []
    for release_id in release_service.due_to_expire(session=session, now=now):
        release_service.package_path(data_dir, release_id).unlink(missing_ok=True)
        shutil.rmtree(release_service.work_dir(data_dir, release_id), ignore_errors=True)
        if release_service.mark_expired(session=session, release_id=release_id):
            expired.append(release_id)
    for release_id in release_service.downloaded_before(session=session, when=now - grace):
        release_service.package_path(data_dir, release_id).unlink(missing_ok=True)
    if requeued or expired:
        log.info("releases queued again: %s; expired: %s", requeued, expired)
    return {"requeued": requeued, "expired": expired}


def run(sessions: sessionmaker[Session], settings: Settings, storage: Storage, signer: Signer, cutter: Cutter,
        stop: threading.Event) -> None:
    """Build queued releases one after another until ``stop`` is set."""
    release_service.folder(settings.data_dir).mkdir(parents=True, exist_ok=True)
    jobloop.loop("releases", lambda: run_once(sessions=sessions, settings=settings, storage=storage, signer=signer,
                                              cutter=cutter), settings.evidence.release_poll_seconds, stop)
