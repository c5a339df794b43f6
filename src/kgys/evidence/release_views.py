"""HTTP API of evidence releases: order a release of an approved request, follow it as the jobs worker builds it,
review its redaction (the frames with detections, each frame as a PNG, edits, confirmation), make the one-time
download link, download the signed package with it and record the hand-over receipt.

Each route is a thin wrapper over :mod:`kgys.evidence.flows.releases` inside
:func:`kgys.evidence.views.audited_refusal`: each step is sealed, and a refused step is written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import FileResponse, Response

from kgys import localtime
from kgys.db import utcnow
from kgys.evidence import redaction
from kgys.evidence.flows import releases
from kgys.evidence.models import Release, ReleaseClip
from kgys.evidence.schemas import (
    ClipReviewOut,
    DetectionOut,
    EditsIn,
    FrameOut,
    LinkOut,
    ReceiptIn,
    ReleaseIn,
    ReleaseItemOut,
    ReleaseOut,
)
from kgys.evidence.views import RequestId, audited_refusal, ranges, settings_signer
from kgys.web.contract import errors
from kgys.web.deps import DB, CurrentActor, runtime, writes
from kgys.web.routing import Router

router = Router(tags=["evidence"])

ReleaseId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Position = Annotated[int, Path(ge=1, le=1000)]
FrameIndex = Annotated[int, Path(ge=0, le=10_000_000)]
Token = Annotated[str, Path(min_length=16, max_length=128, pattern="^[A-Za-z0-9_-]+$")]
BASE = "/evidence/requests/{request_id}/releases"


def release_out(r: Release) -> ReleaseOut:
    """The API shape of a release."""
    items = [ReleaseItemOut(camera_id=int(i["camera_id"]), start=datetime.fromisoformat(i["start"]),
                            end=datetime.fromisoformat(i["end"])) for i in r.items]
    receipt = {k: str(v) for k, v in r.receipt.items()} if r.receipt else None
    return ReleaseOut(
        id=r.id, request_id=r.request_id, state=r.state, progress=r.progress, items=items, recipient=r.recipient,
        organisation=r.recipient_org, redact=r.redact, watermark=r.watermark, include_segments=r.include_segments,
        ordered_by=r.created_by_name, approved_by=r.approved_by_name, created_at=r.created_at,
        finished_at=r.finished_at, error_code=r.error_code, reviewed_by=r.reviewed_by_name,
        reviewed_at=r.reviewed_at, package_sha256=r.package_sha256, package_bytes=r.package_bytes,
        expires_at=r.expires_at, downloaded_at=r.downloaded_at, receipt=receipt)


def clip_out(row: ReleaseClip, dets: redaction.DetectionList | None) -> ClipReviewOut:
    """The API shape of one clip under review."""
    frames = [] if dets is None else [
        FrameOut(index=f.index, time=f.time,
                 detections=[DetectionOut(id=d.id, box=[d.box.x1, d.box.y1, d.box.x2, d.box.y2], score=d.score)
                             for d in f.detections])
        for f in dets.frames if f.detections]
    return ClipReviewOut(position=row.position, camera_id=row.camera_id, start=row.start, end=row.end,
                         width=None if dets is None else dets.width, height=None if dets is None else dets.height,
                         frame_count=row.frames, faces=row.faces, frames=frames,
                         edits={"added": list(row.edits.get("added", [])),
                                "removed": list(row.edits.get("removed", []))})


@router.post(BASE, response_model=ReleaseOut, response_model_by_alias=True, status_code=201,
             responses=errors(403, 404, 409, 422))
def order_release(request_id: RequestId, body: ReleaseIn, request: Request, session: DB,
                  actor: CurrentActor) -> ReleaseOut:
    """Order a release of an approved request (its requester only; within the decision's grant): queued for the
    jobs worker, which cuts the clips, finds the faces when asked and waits for their review."""
    with audited_refusal(session, actor, "release", request_id, settings_signer(request)):
        row = releases.order(session=session, actor=actor, request_id=request_id, items=ranges(body.scope),
                             recipient=body.recipient, organisation=body.organisation, redact=body.redact,
                             watermark=body.watermark, include_segments=body.include_segments,
                             signer=settings_signer(request), now=utcnow())
    return release_out(row)


@router.get(BASE, response_model=list[ReleaseOut], response_model_by_alias=True, responses=errors(404))
def list_releases(request_id: RequestId, session: DB, actor: CurrentActor) -> list[ReleaseOut]:
    """The releases of a request, newest first, with their state and progress."""
    return [release_out(r) for r in releases.listing(session=session, actor=actor, request_id=request_id)]


@router.get(BASE + "/{release_id}", response_model=ReleaseOut, response_model_by_alias=True, responses=errors(404))
def get_release(request_id: RequestId, release_id: ReleaseId, session: DB, actor: CurrentActor) -> ReleaseOut:
    """One release with its state and progress."""
    return release_out(releases.visible(session=session, actor=actor, request_id=request_id, release_id=release_id))


@router.get(BASE + "/{release_id}/review", response_model=list[ClipReviewOut], response_model_by_alias=True,
            responses=errors(403, 404, 409))
def review_release(request_id: RequestId, release_id: ReleaseId, request: Request, session: DB,
                   actor: CurrentActor) -> list[ClipReviewOut]:
    """The clips of a release with their frames that have a face detected and the edits so far (the requester or
    a holder of ``evidence.approve``)."""
    with audited_refusal(session, actor, "review", request_id, settings_signer(request)):
        rows = releases.review(session=session, actor=actor, request_id=request_id, release_id=release_id,
                               data_dir=runtime(request).settings.data_dir)
    return [clip_out(r, d) for r, d in rows]


@router.get(BASE + "/{release_id}/clips/{position}/frames/{index}.png", response_class=Response,
            responses=errors(403, 404, 409))
@writes  # each frame viewed is audited
def review_frame(request_id: RequestId, release_id: ReleaseId, position: Position, index: FrameIndex,
                 request: Request, session: DB, actor: CurrentActor) -> Response:
    """One frame of a clip under review with its detections drawn (PNG; the view is audited)."""
    settings = runtime(request).settings
    with audited_refusal(session, actor, "review", request_id, settings_signer(request)):
        png = releases.frame(session=session, actor=actor, request_id=request_id, release_id=release_id,
                             position=position, index=index, data_dir=settings.data_dir,
                             ffmpeg=settings.recording.ffmpeg_path, signer=settings_signer(request))
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.put(BASE + "/{release_id}/clips/{position}/edits", response_model=ClipReviewOut,
            response_model_by_alias=True, responses=errors(403, 404, 409, 422))
def edit_clip(request_id: RequestId, release_id: ReleaseId, position: Position, body: EditsIn, request: Request,
              session: DB, actor: CurrentActor) -> ClipReviewOut:
    """Keep the reviewer's edits of one clip: regions added (frames and box in pixels), detections removed (by
    id); they replace the clip's earlier edits (audited)."""
    data_dir = runtime(request).settings.data_dir
    with audited_refusal(session, actor, "review", request_id, settings_signer(request)):
        row = releases.edit(session=session, actor=actor, request_id=request_id, release_id=release_id,
                            position=position, edits=body.model_dump(), data_dir=data_dir,
                            signer=settings_signer(request))
        dets = releases.detections(data_dir=data_dir, row=row)
    return clip_out(row, dets)


@router.post(BASE + "/{release_id}/confirm", response_model=ReleaseOut, response_model_by_alias=True,
             responses=errors(403, 404, 409))
def confirm_review(request_id: RequestId, release_id: ReleaseId, request: Request, session: DB,
                   actor: CurrentActor) -> ReleaseOut:
    """Confirm the redaction review: the release is queued again to be redacted as reviewed and packaged."""
    with audited_refusal(session, actor, "review", request_id, settings_signer(request)):
        row = releases.confirm(session=session, actor=actor, request_id=request_id, release_id=release_id,
                               signer=settings_signer(request), now=utcnow())
    return release_out(row)


@router.post(BASE + "/{release_id}/link", response_model=LinkOut, status_code=201,
             responses=errors(403, 404, 409))
def create_link(request_id: RequestId, release_id: ReleaseId, request: Request, session: DB,
                actor: CurrentActor) -> LinkOut:
    """A one-time download link to the ready package (the orderer only): its token is shown this once."""
    keep = timedelta(hours=runtime(request).settings.evidence.download_hours)
    with audited_refusal(session, actor, "link", request_id, settings_signer(request)):
        token, expires = releases.issue_link(session=session, actor=actor, request_id=request_id,
                                             release_id=release_id, signer=settings_signer(request), now=utcnow(),
                                             keep=keep)
    url = f"/api/v1/evidence/requests/{request_id}/releases/{release_id}/download/{token}"
    return LinkOut(url=url, token=token, expires_at=expires)


@router.get(BASE + "/{release_id}/download/{token}", response_class=FileResponse,
            responses=errors(403, 404, 410))
@writes  # the download is audited
def download_package(request_id: RequestId, release_id: ReleaseId, token: Token, request: Request, session: DB,
                     actor: CurrentActor) -> FileResponse:
    """The signed package (zip), once per link (the orderer only; audited with its SHA-256); a used or expired link
    is 410 Gone."""
    with audited_refusal(session, actor, "download", request_id, settings_signer(request)):
        path, rel = releases.download(session=session, actor=actor, request_id=request_id, release_id=release_id,
                                      token=token, data_dir=runtime(request).settings.data_dir,
                                      signer=settings_signer(request), now=utcnow())
    return FileResponse(path, media_type="application/zip", filename=f"EV-{rel.request_id}-{rel.id}.zip",
                        headers={"Cache-Control": "no-store"})


@router.post(BASE + "/{release_id}/receipt", response_model=ReleaseOut, response_model_by_alias=True,
             responses=errors(403, 404, 409, 422))
def record_receipt(request_id: RequestId, release_id: ReleaseId, body: ReceiptIn, request: Request, session: DB,
                   actor: CurrentActor) -> ReleaseOut:
    """Record that the downloaded package was handed over: to whom (name, ID or badge number), when and a note."""
    with audited_refusal(session, actor, "receipt", request_id, settings_signer(request)):
        row = releases.receipt(session=session, actor=actor, request_id=request_id, release_id=release_id,
                               name=body.name, id_no=body.id_no,
                               at=localtime.as_utc(body.at) if body.at else None, note=body.note,
                               signer=settings_signer(request), now=utcnow())
    return release_out(row)
