"""Web UI of live view and playback, and the streams they play.

Pages: a site's live camera grid, a camera's playback page (timeline of coverage and gaps, a reason form,
the player) and the clip download. Streams: the live and playback HLS playlists and their segments, and the
low-latency live WebSocket, each checked against the viewing ticket in its URL (see :mod:`kgys.live.tickets`).
Playlists check that the sign-in the ticket was issued to still holds; segments check in one primary-key read
that its user is active and their sign-ins were not revoked since (the credentials version). The WebSocket is
checked as a playlist when it opens and again every two seconds while it plays (:mod:`kgys.live.stream`); it
closes with a code the tile shows: 4403 (the ticket or sign-in ended, or another site's page), 4404 (no live
video) or 4415 (an H.265 camera, played over HLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote, urlencode

from fastapi import BackgroundTasks, Query, Request, WebSocket
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from kgys.accounts.permissions import Perm
from kgys.db import reading, utcnow
from kgys.errors import KgysError, NotFound, ValidationFailed
from kgys.live import hls, layouts, review, service, stream
from kgys.live.feed import Fallback
from kgys.live.flows import clip, viewing, wall
from kgys.live.flows import review as review_flows
from kgys.live.tickets import Ticket
from kgys.live.views import (
    CameraId,
    audit_refused,
    hub,
    principal_credential,
    request_credential,
    storage,
    ticket_key,
)
from kgys.recording import footage
from kgys.web import labels
from kgys.web.deps import DB, CurrentPrincipal, Principal, runtime, writes
from kgys.web.forms import FormFields
from kgys.web.render import reader_zone, render
from kgys.web.routing import Router

router = Router(include_in_schema=False)

HLS_JS = "hls.min.js"
HLS_PACKAGED = ("static", "vendor", "hls.js")
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
TS_TYPE = "video/mp2t"
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'")
Text = Annotated[str, Query(max_length=2000)]


def hls_dir() -> Path | None:
    """The folder hls.js is served from, or None when it is not installed: the installed package's
    ``kgys/static/vendor/hls.js`` (the wheel build copies it there from npm), else, for an editable install,
    the source checkout's ``node_modules/hls.js/dist`` (``npm ci`` puts it there)."""
    packaged = resources.files("kgys").joinpath(*HLS_PACKAGED)
    found = [packaged] if isinstance(packaged, Path) else []
    found.append(Path(__file__).resolve().parents[3] / "node_modules" / "hls.js" / "dist")
    return next((folder for folder in found if (folder / HLS_JS).is_file()), None)


def _page(request: Request, name: str, context: dict[str, Any], p: Principal, status_code: int = 200) -> Response:
    response = render(request, name, context | {"hls_ok": hls_dir() is not None},
                      p, status_code=status_code)
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response


def _fallback(request: Request, camera_id: int, session: Session | None = None) -> Fallback:
    """Reads a piece of a file the maintainer has already moved from the spool into storage, looking its key up
    with the request's own session when it has one (a second connection could wait on the first's lock)."""

    def read(name: str, offset: int, length: int | None) -> bytes | None:
        if session is not None:
            key = footage.stored_key(session=session, camera_id=camera_id, name=name)
        else:
            with reading(runtime(request).sessions) as own:
                key = footage.stored_key(session=own, camera_id=camera_id, name=name)
        if key is None:
            return None
        try:
            return storage(request).get_range(key, offset, length)
        except NotFound:
            return None

    return read


# ---- pages --------------------------------------------------------------------------------------------
@router.get("/sites/{code}/live")
def live_grid(request: Request, code: str, session: DB, p: CurrentPrincipal) -> Response:
    """The site's cameras, each playing live."""
    site, cameras = viewing.site_cameras(session=session, actor=p.actor, code=code)
    reason = (request.query_params.get("reason") or "").strip()[:500]
    return _page(request, "live/grid.html", {"site": site, "cameras": cameras, "reason": reason,
                                             "codecs": viewing.stream_codecs(session, cameras)}, p)


@router.get("/wall")
def video_wall(request: Request, session: DB, p: CurrentPrincipal, site: Annotated[str, Query(max_length=32)] = "",
               cameras: Annotated[str, Query(max_length=800)] = "") -> Response:
    """The video wall: the camera tree of the viewer's scope, the layouts and the tiles; ``?site=CODE`` or
    ``?cameras=1,2,3`` open it with those cameras."""
    p.actor.require(Perm.LIVE_VIEW)
    wanted: list[int] = []
    if site:
        wanted = wall.site_camera_ids(session=session, actor=p.actor, code=site)
    elif cameras:
        wanted = [int(x) for x in cameras.split(",") if x.strip().isdigit() and 0 < int(x) < 2_147_483_648][:36]
    ok = wall.watchable(session=session, actor=p.actor, ids=wanted)
    initial = [i for i in dict.fromkeys(wanted) if i in ok]
    return _page(request, "live/wall.html", {"initial": initial, "unavailable": len(set(wanted) - ok),
                                             "from_alert": request.query_params.get("from") == "alert",
                                             "share_roles": layouts.share_roles(),
                                             "max_side": layouts.MAX_SIDE}, p)


def _review_data(found: review_flows.Review, playlists: dict[int, str], actor_id: int | None) -> dict[str, Any]:
    """What the playback script draws and plays: the range, and per camera its playlist, coverage, gaps (with
    their causes in words), holds and bookmarks; times in epoch seconds."""
    def ts(t: datetime | None) -> float | None:
        return None if t is None else round(t.timestamp(), 3)

    return {"from": ts(found.start), "to": ts(found.end), "cameras": [{
        "id": c.camera.id, "name": c.camera.name, "codec": c.codec, "playlist": playlists.get(c.camera.id),
        "recorded": [[ts(b.start), ts(b.end)] for b in c.timeline.bars if b.kind == "recorded"],
        "gaps": [[ts(b.start), ts(b.end), b.cause, labels.gap_cause_label(b.cause), b.detail]
                 for b in c.timeline.bars if b.kind == "gap"],
        "holds": [[ts(h.start), ts(h.end)] for h in c.holds],
        "bookmarks": [{"id": m.id, "at": ts(m.start), "to": ts(m.end), "note": m.note,
                       "mine": actor_id is not None and m.created_by == actor_id} for m in c.bookmarks],
    } for c in found.cameras]}


def _review_page(request: Request, session: Session, p: Principal, params: dict[str, str],
                 reason: str | None = None) -> Response:
    """The playback page of ``params`` (cameras, from, to, at or replay); with ``reason`` (a POST), every camera
    in scope is opened for playback with it first."""
    now = utcnow().replace(microsecond=0)  # a range by default ends now: in whole seconds, as the form sends it back
    where = reader_zone(request)
    ids = review.parse_cameras(params.get("cameras", ""))
    if params.get("replay"):
        start, end = review.replay_range(params["replay"], now=now)
    else:
        start, end = review.local_range(params.get("from"), params.get("to"), where, now=now)
    at = review.start_at(params.get("at"), where, start, end)
    found = review_flows.gather(session=session, actor=p.actor, camera_ids=ids, start=start, end=end, now=now)
    audit_refused(request, session, p.actor, found.refused, start, end, failing=not found.cameras, reason=reason)
    review_flows.require_cameras(found)
    q = {"cameras": ",".join(str(c.camera.id) for c in found.cameras), "from": review.iso_z(start),
         "to": review.iso_z(end)}
    ctx: dict[str, Any] = {"review": found, "start": start, "end": end, "at": at, "q": q, "errors": {},
                           "reason": reason or "", "opened": False, "export_query": urlencode(q),
                           "hold_query": urlencode({"from": q["from"], "to": q["to"]})}
    playlists: dict[int, str] = {}
    status = 200
    if reason is not None:
        try:
            cred = principal_credential(request, p)
            opened = review_flows.open_all(session=session, actor=p.actor, key=ticket_key(request), review_=found,
                                           reason=reason, credential=cred, now=now)
            playlists = {cam: f"/cameras/{cam}/playback.m3u8?t={quote(t)}" for cam, t in opened.items()}
            ctx["opened"] = True
        except ValidationFailed as exc:
            ctx["errors"] = {e.field: e.message for e in exc.errors}
            status = 422
    ctx["data"] = _review_data(found, playlists, p.actor.id) | {"at": round(at.timestamp(), 3),
                                                                 "zone": where.key}
    return _page(request, "live/playback.html", ctx, p, status_code=status)


PageText = Annotated[str, Query(max_length=200)]


@router.get("/playback")
def review_page(request: Request, session: DB, p: CurrentPrincipal, cameras: PageText = "",
                start: Annotated[str, Query(alias="from", max_length=64)] = "",
                end: Annotated[str, Query(alias="to", max_length=64)] = "",
                at: Annotated[str, Query(max_length=64)] = "", replay: Annotated[str, Query(max_length=8)] = ""
                ) -> Response:
    """Playback of up to nine cameras together over a range typed in the reader's zone (or an instant replay of
    the last seconds): their timelines, and the form that asks for the reason once."""
    return _review_page(request, session, p, {"cameras": cameras, "from": start, "to": end, "at": at,
                                              "replay": replay})


@router.post("/playback")
def review_open(request: Request, session: DB, p: CurrentPrincipal, form: FormFields) -> Response:
    """Open every chosen camera for playback with the one reason stated (one audit entry per camera)."""
    return _review_page(request, session, p, {k: form.get(k) or "" for k in ("cameras", "from", "to", "at")},
                        reason=form.get("reason") or "")


@router.get("/cameras/{camera_id}/playback")
def playback_page(request: Request, camera_id: CameraId, session: DB, p: CurrentPrincipal,
                  start: Annotated[str, Query(alias="from", max_length=64)] = "",
                  end: Annotated[str, Query(alias="to", max_length=64)] = "",
                  at: Annotated[str, Query(max_length=64)] = "") -> Response:
    """One camera's playback: the playback page with that camera."""
    return _review_page(request, session, p, {"cameras": str(camera_id), "from": start, "to": end, "at": at})


@router.post("/cameras/{camera_id}/playback")
def playback_open(request: Request, camera_id: CameraId, session: DB, p: CurrentPrincipal,
                  form: FormFields) -> Response:
    """Open one camera's range for playback once a reason is stated (audited)."""
    return _review_page(request, session, p, {"cameras": str(camera_id), "from": form.get("from") or "",
                                              "to": form.get("to") or "", "at": form.get("at") or ""},
                        reason=form.get("reason") or "")


@router.get("/cameras/{camera_id}/playback/thumb.jpg")
def playback_thumbnail(request: Request, camera_id: CameraId, session: DB,
                       at: Annotated[float, Query(ge=0, le=1e11, description="Epoch seconds")],
                       t: Text = "") -> Response:
    """A small JPEG of the keyframe at or before ``at``, within the range of the page's playback ticket (the
    playback that shows it is audited; a thumbnail is not audited again); cached."""
    ticket = _viewer_ticket(request, session, camera_id, t, "playback")
    if ticket.start is None or ticket.end is None or not ticket.start <= at < ticket.end:
        raise NotFound("this moment is outside the playback")
    settings = runtime(request).settings
    body = review_flows.thumbnail(session=session, camera_id=camera_id, at=datetime.fromtimestamp(at, UTC),
                                  storage=storage(request), ffmpeg=settings.recording.ffmpeg_path,
                                  cache=settings.data_dir / "cache" / "thumbs", now=utcnow())
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/cameras/{camera_id}/clip")
@writes  # the export is audited
def clip_download(request: Request, camera_id: CameraId, session: DB, p: CurrentPrincipal, tasks: BackgroundTasks,
                  start: Annotated[str | None, Query(alias="from", max_length=64)] = None,
                  end: Annotated[str | None, Query(alias="to", max_length=64)] = None,
                  reason: Text = "") -> Response:
    """A zip of the range as one MP4 and a manifest of the segments' hashes (reason required, audited)."""
    p.actor.require(Perm.CLIP_EXPORT)
    now = utcnow()
    a, b = service.parse_range(start, end, now=now, limit=clip.MAX_CLIP)
    out = clip.export(session=session, actor=p.actor, storage=storage(request),
                      ffmpeg=runtime(request).settings.recording.ffmpeg_path, camera_id=camera_id, start=a, end=b,
                      reason=reason, now=now)
    tasks.add_task(shutil.rmtree, out.workdir, True)
    return FileResponse(out.path, media_type="application/zip", filename=out.filename, background=tasks)


def _viewer_ticket(request: Request, session: Session, camera_id: int, token: str, kind: str) -> Ticket:
    """The viewing ticket of a playlist request, held by the caller, who may still view the camera."""
    cred = request_credential(request)
    ticket = service.check_ticket(key=ticket_key(request), token=token, credential=cred, kind=kind,
                                  camera_id=camera_id, now=utcnow())
    assert cred is not None
    viewing.check_viewer(session=session, ticket=ticket, credential=cred)
    return ticket


# ---- streams ------------------------------------------------------------------------------------------
@router.get("/live/{camera_id}/index.m3u8")
def live_playlist(request: Request, camera_id: CameraId, session: DB, t: Text = "") -> Response:
    """The camera's live playlist: the newest keyframe-to-keyframe pieces of what the recorder writes."""
    _viewer_ticket(request, session, camera_id, t, "live")
    segments = hub(request).feed(camera_id).refresh(_fallback(request, camera_id, session))
    if not segments:
        raise NotFound("no live video from this camera right now")
    token = quote(t)
    text = hls.live_playlist(segments, lambda s: f"{s.sn}.ts?t={token}")
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/live/{camera_id}/{sn:int}.ts")
def live_segment(request: Request, camera_id: CameraId, sn: int, t: Text = "") -> Response:
    """One live piece (MPEG-TS); checked against the ticket and the ticket holder's credentials version."""
    ticket = service.check_ticket(key=ticket_key(request), token=t, credential=request_credential(request),
                                  kind="live", camera_id=camera_id, now=utcnow())
    with reading(runtime(request).sessions) as own:
        service.check_holder(session=own, ticket=ticket)
    body = hub(request).feed(camera_id).segment_bytes(sn, _fallback(request, camera_id))
    if body is None:
        raise NotFound("this live segment is no longer available")
    return Response(body, media_type=TS_TYPE, headers={"Cache-Control": "private, max-age=60"})


@router.get("/cameras/{camera_id}/playback.m3u8")
def playback_playlist(request: Request, camera_id: CameraId, session: DB, t: Text = "") -> Response:
    """The HLS VOD playlist of the ticket's range, built from the segment index."""
    ticket = _viewer_ticket(request, session, camera_id, t, "playback")
    rows = viewing.ticket_segments(session=session, ticket=ticket)
    if not rows:
        raise NotFound("no recording in this range")
    token = quote(t)
    items = [hls.VodSegment(r.id, r.start, r.end, r.duration) for r in rows]
    text = hls.vod_playlist(items, lambda s: f"playback/{s.id}.ts?t={token}")
    return Response(text, media_type=PLAYLIST_TYPE, headers={"Cache-Control": "no-store"})


@router.get("/cameras/{camera_id}/playback/{segment_id:int}.ts")
def playback_segment(request: Request, camera_id: CameraId, segment_id: int, session: DB, t: Text = "") -> Response:
    """One recorded segment of the ticket's range."""
    ticket = service.check_ticket(key=ticket_key(request), token=t, credential=request_credential(request),
                                  kind="playback", camera_id=camera_id, now=utcnow())
    service.check_holder(session=session, ticket=ticket)
    seg = viewing.ticket_segment(session=session, ticket=ticket, segment_id=segment_id)
    store = storage(request)
    headers = {"Cache-Control": "private, max-age=3600"}
    path = store.local_path(seg.key)
    if path is not None:
        return FileResponse(path, media_type=TS_TYPE, headers=headers)
    try:
        body = store.open(seg.key)
    except NotFound:
        raise NotFound(f"segment {segment_id} is missing from storage") from None
    return StreamingResponse(_chunks(body), media_type=TS_TYPE, headers=headers)


def _chunks(body: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """The stream's bytes in pieces, closing it at the end."""
    with body:
        while chunk := body.read(size):
            yield chunk


# ---- the low-latency live stream ------------------------------------------------------------------------
@router.websocket("/live/{camera_id}/ws")
async def live_socket(ws: WebSocket, camera_id: CameraId, t: Text = "") -> None:
    """The camera's live video as fragmented MP4 over a WebSocket (first a text message with the codec, then
    the init segment and a fragment per frame); the ticket of ``POST /api/v1/cameras/{id}/live``."""
    try:
        await asyncio.to_thread(stream.socket_ticket, ws, camera_id, t)
    except KgysError as exc:
        await ws.accept()
        await ws.close(code=stream.DENIED, reason=str(exc)[:120])
        return
    await ws.accept()
    followers, rechecks = hub(ws).lowlat, stream.rechecks(ws)
    follower, viewer = followers.join(camera_id)
    rechecks.add(viewer, ws, camera_id, t)
    code, reason = 1000, ""
    try:
        code, reason = await asyncio.get_running_loop().create_task(stream.pump(ws, viewer))  # a task of its own:
        # each wakeup resumes the pump alone, not the whole chain of middleware coroutines above this handler
    except Exception:  # the peer went while we sent (the server's exception varies with the WebSocket library)
        code = 0
    finally:
        rechecks.remove(viewer)
        followers.leave(camera_id, follower, viewer)
    if code:
        with contextlib.suppress(Exception):
            await ws.close(code=code, reason=reason[:120])
