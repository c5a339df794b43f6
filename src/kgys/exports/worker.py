"""The exports loop of ``kgys worker jobs``: claim the oldest queued export, build it with no transaction open
(progress and heartbeat written at most every ``exports.progress_seconds``), store the outcome. A worker whose
claim was lost meanwhile (it stalled, the export was queued again and taken by another) stops and writes
nothing (:mod:`kgys.jobloop`); its half-built files are its own (``DATA_DIR/exports/work-ID``) and are replaced by
the next run."""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from kgys import jobloop, localtime
from kgys.config import Settings
from kgys.db import reading, retrying, utcnow
from kgys.exports import service
from kgys.exports.flows import building
from kgys.exports.flows.building import Storage
from kgys.jobloop import ClaimLost

log = logging.getLogger(__name__)


def _claim(sessions: sessionmaker[Session], now: datetime) -> service.Claim | None:
    def work(session: Session) -> service.Claim | None:
        export_id = service.next_queued(session=session)
        return None if export_id is None else service.claim(session=session, export_id=export_id, now=now)

    return retrying(sessions, work)


def _reporter(sessions: sessionmaker[Session], claim: service.Claim, every: float,
              clock: Callable[[], datetime]) -> Callable[[float], None]:
    """Writes progress and heartbeat at most every ``every`` seconds; raises ClaimLost once the claim is gone."""
    return jobloop.reporter(sessions, lambda s, p: service.report(session=s, claim=claim, progress=p, now=clock()),
                            every, f"export {claim.export_id} was taken from this worker")


def run_once(*, sessions: sessionmaker[Session], settings: Settings, storage: Storage,
             clock: Callable[[], datetime] = utcnow) -> int | None:
    """Build the oldest queued export, if any; returns its id (done or failed), None when none was waiting."""
    claim = _claim(sessions, clock())
    if claim is None:
        return None
    data_dir = settings.data_dir
    work = service.work_dir(data_dir, claim.export_id)
    shutil.rmtree(work, ignore_errors=True)  # what a killed run left behind
    out = work / "export.zip"
    try:
        with reading(sessions) as session:
            todo = building.plan(session=session, export_id=claim.export_id)
        size, sha = building.build(plan=todo, storage=storage, ffmpeg=settings.recording.ffmpeg_path, workdir=work,
                                   out=out, zone=localtime.zone(settings.web.time_zone), now=clock,
                                   on_progress=_reporter(sessions, claim, settings.exports.progress_seconds, clock))
        final = service.zip_path(data_dir, claim.export_id)
        os.replace(out, final)
        keep = timedelta(hours=settings.exports.keep_hours)
        if not retrying(sessions, lambda s: service.finish(session=s, claim=claim, size=size, sha256=sha,
                                                           now=clock(), keep=keep)):
            final.unlink(missing_ok=True)
            raise ClaimLost(f"export {claim.export_id} was taken from this worker")
        log.info("export %s built: %s bytes", claim.export_id, size)
    except ClaimLost:
        log.warning("export %s: claim lost, left to the worker that holds it", claim.export_id)
    except building.BuildFailed as exc:
        log.warning("export %s failed: %s", claim.export_id, exc.message)
        code, params = exc.code, exc.params
        retrying(sessions, lambda s: service.fail(session=s, claim=claim, code=code, params=params, now=clock()))
    except Exception:
        log.exception("export %s failed", claim.export_id)
        retrying(sessions, lambda s: service.fail(session=s, claim=claim, code="internal", params={}, now=clock()))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return claim.export_id


def housekeeping(session: Session, now: datetime, *, data_dir: Path, stale: timedelta) -> dict[str, list[int]]:
    """Queue again the exports whose worker went silent; delete the zips of expired exports."""
    requeued = service.requeue_stale(session=session, now=now, stale=stale)
    expired = []
    for export_id in service.due_to_expire(session=session, now=now):
        service.zip_path(data_dir, export_id).unlink(missing_ok=True)
        if service.mark_expired(session=session, export_id=export_id):
            expired.append(export_id)
    if requeued or expired:
        log.info("exports queued again: %s; expired: %s", requeued, expired)
    return {"requeued": requeued, "expired": expired}


def run(sessions: sessionmaker[Session], settings: Settings, storage: Storage, stop: threading.Event) -> None:
    """Build queued exports one after another until ``stop`` is set."""
    service.folder(settings.data_dir).mkdir(parents=True, exist_ok=True)
    jobloop.loop("exports", lambda: run_once(sessions=sessions, settings=settings, storage=storage),
                 settings.exports.poll_seconds, stop)
