"""HTTP API of live view and playback: open a live stream or a recorded range (tickets), and a camera's
timeline of coverage and gaps. The streams themselves are served by :mod:`kgys.live.pages`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import FastAPI, Path, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from kgys import localtime
from kgys.accounts.actor import Actor
from kgys.db import READ_ONLY, transaction, utcnow
from kgys.errors import AuthenticationError, FieldError, KgysError, NotFound, PermissionDenied, ValidationFailed
from kgys.live import layouts, service
from kgys.live.feed import LiveHub
from kgys.live.flows import review, viewing, wall
from kgys.live.models import Bookmark
from kgys.live.schemas import (
    BookmarkIn,
    BookmarkOut,
    CameraStatusOut,
    GapOut,
    Interval,
    LayoutIn,
    LayoutOut,
    LayoutUpdate,
    LiveOpen,
    PlaybackOpen,
    SnapshotIn,
    StreamOut,
    TileOut,
    TimelineOut,
)
from kgys.recording import footage
from kgys.web.contract import errors
from kgys.web.deps import DB, SESSION_COOKIE, CurrentActor, CurrentPrincipal, Principal, runtime
from kgys.web.routing import Router

router = Router(tags=["live"])

CameraId = Annotated[int, Path(ge=1, le=2_147_483_647)]
BookmarkId = Annotated[int, Path(ge=1, le=2_147_483_647)]
LayoutId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def install(app: FastAPI) -> None:
    """Give the app its live hub (one per process: the live feeds all viewers share) and the segment store that
    playback and clips read."""
    settings = app.state.runtime.settings
    app.state.live_hub = LiveHub(footage.spool_dir(settings))
    app.state.footage_storage = footage.open_storage(settings)


def hub(request: HTTPConnection) -> LiveHub:
    """The process's live hub."""
    found: LiveHub = request.app.state.live_hub
    return found


def storage(request: Request) -> footage.Storage:
    """The process's segment store."""
    found: footage.Storage = request.app.state.footage_storage
    return found


def request_credential(request: HTTPConnection) -> service.Credential | None:
    """The credential a request or WebSocket carries (bearer token first, then the session cookie)."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return service.Credential(auth[7:].strip(), "bearer", None)
    cookie = request.cookies.get(SESSION_COOKIE)
    return service.Credential(cookie, "cookie", None) if cookie else None


def principal_credential(request: Request, p: Principal) -> service.Credential:
    """The credential of a signed-in caller, with the time it expires when known."""
    cred = request_credential(request)
    if cred is None:
        raise AuthenticationError("sign in first")
    if cred.kind == "cookie" and p.login is not None:
        return service.Credential(cred.value, "cookie", p.login.expires_at)
    return cred


def ticket_key(request: Request) -> str:
    """The secret viewing tickets are signed with."""
    return runtime(request).settings.security.secret_key


def audit_refused(request: Request, session: Session, actor: Actor, refused: list[tuple[int, KgysError]],
                  start: datetime, end: datetime, *, failing: bool = False, reason: str | None = None) -> None:
    """Write refused playbacks to the audit log (:func:`kgys.live.flows.viewing.record_refusals`): with the request's
    own writes when it goes on to succeed, else (a request that only reads, or one that fails: ``failing``) in a
    unit of work of its own, the request's rolled back first, so that the refusal stays written."""
    if not refused:
        return
    if not failing and not session.info.get(READ_ONLY):
        viewing.record_refusals(session=session, actor=actor, refused=refused, start=start, end=end, reason=reason)
        return
    session.rollback()
    with transaction(runtime(request).sessions) as own:
        viewing.record_refusals(session=own, actor=actor, refused=refused, start=start, end=end, reason=reason)


@contextmanager
def refusal_audited(request: Request, session: Session, actor: Actor, camera_id: int, start: datetime,
                    end: datetime, reason: str | None = None) -> Iterator[None]:
    """Run a playback step; a camera or footage refused to the caller is written to the audit log (with the reason
    they gave), then answered."""
    try:
        yield
    except (NotFound, PermissionDenied) as exc:
        audit_refused(request, session, actor, [(camera_id, exc)], start, end, failing=True, reason=reason)
        raise


@router.post("/cameras/{camera_id}/live", response_model=StreamOut)
def open_live(camera_id: CameraId, body: LiveOpen, request: Request, session: DB, p: CurrentPrincipal) -> StreamOut:
    """Open a camera's live stream: audited once; returns the playlist URL with its viewing ticket."""
    now = utcnow()
    cred = principal_credential(request, p)
    opened = viewing.open_live(
        session=session, actor=p.actor, key=ticket_key(request), camera_id=camera_id, reason=body.reason,
        credential=cred, now=now)
    return StreamOut(playlist=f"/live/{camera_id}/index.m3u8?t={quote(opened.ticket)}", expires=opened.expires)


@router.post("/cameras/{camera_id}/playback", response_model=StreamOut)
def open_playback(camera_id: CameraId, body: PlaybackOpen, request: Request, session: DB,
                  p: CurrentPrincipal) -> StreamOut:
    """Open a recorded range for playback (reason required, audited with the range): an HLS VOD playlist URL."""
    now = utcnow()
    start, end = service.parse_range(body.start.isoformat(), body.end.isoformat(), now=now)
    cred = principal_credential(request, p)
    with refusal_audited(request, session, p.actor, camera_id, start, end, body.reason):
        opened = viewing.open_playback(
            session=session, actor=p.actor, key=ticket_key(request), camera_id=camera_id, start=start, end=end,
            reason=body.reason, credential=cred, now=now)
    return StreamOut(playlist=f"/cameras/{camera_id}/playback.m3u8?t={quote(opened.ticket)}",
                     expires=opened.expires)


@router.get("/cameras/{camera_id}/timeline", response_model=TimelineOut)
def get_timeline(camera_id: CameraId, request: Request, session: DB, p: CurrentPrincipal,
                 start: Annotated[str | None, Query(alias="from")] = None,
                 end: Annotated[str | None, Query(alias="to")] = None) -> TimelineOut:
    """Coverage and gaps (with causes) of a camera over a range (default: the last hour; at most 7 days)."""
    now = utcnow()
    a, b = service.parse_range(start, end, now=now, limit=service.MAX_TIMELINE)
    with refusal_audited(request, session, p.actor, camera_id, a, b):
        tl = viewing.timeline(session=session, actor=p.actor, camera_id=camera_id, start=a, end=b, now=now)
    return TimelineOut(camera_id=camera_id, start=a, end=b, coverage=round(tl.coverage, 4),
                       recorded_seconds=round(tl.recorded_seconds, 3), segments=tl.segments,
                       recorded=[Interval(start=x.start, end=x.end) for x in tl.bars if x.kind == "recorded"],
                       gaps=[GapOut(start=g.start, end=g.end, cause=g.cause, detail=g.detail) for g in tl.gaps])


@router.post("/cameras/{camera_id}/snapshot", response_class=Response, responses={
    200: {"content": {"image/png": {}}, "description": "The recorded frame as a PNG."}, **errors(404, 422)})
def take_snapshot(camera_id: CameraId, body: SnapshotIn, request: Request, session: DB,
                  p: CurrentPrincipal) -> Response:
    """The recorded frame of a camera at a moment, as a PNG made from the recorded segment (playback permission;
    audited with the reason and the time)."""
    at = localtime.as_utc(body.at)
    with refusal_audited(request, session, p.actor, camera_id, at, at, body.reason):
        shot = review.snapshot(session=session, actor=p.actor, storage=storage(request),
                               ffmpeg=runtime(request).settings.recording.ffmpeg_path, camera_id=camera_id, at=at,
                               reason=body.reason)
    return Response(shot.png, media_type="image/png", headers={
        "Content-Disposition": f'attachment; filename="{shot.filename}"', "Cache-Control": "no-store"})


def _bookmark_out(row: Bookmark, actor_id: int | None) -> BookmarkOut:
    return BookmarkOut(id=row.id, camera_id=row.camera_id, at=row.start, end=row.end, note=row.note,
                       created_by=row.created_by, created_at=row.created_at,
                       mine=actor_id is not None and row.created_by == actor_id)


@router.get("/bookmarks", response_model=list[BookmarkOut], responses=errors(404, 422))
def list_bookmarks(session: DB, actor: CurrentActor,
                   cameras: Annotated[str, Query(max_length=200, description="Camera ids, comma-separated")] = "",
                   start: Annotated[str | None, Query(alias="from")] = None,
                   end: Annotated[str | None, Query(alias="to")] = None) -> list[BookmarkOut]:
    """The bookmarks of the cameras over a range (default: the last hour; at most 7 days)."""
    ids = _ids(cameras, "cameras")
    if not ids:
        raise ValidationFailed([FieldError("cameras", "choose at least one camera")])
    a, b = service.parse_range(start, end, now=utcnow(), limit=service.MAX_TIMELINE)
    rows = review.list_bookmarks(session=session, actor=actor, camera_ids=ids, start=a, end=b)
    return [_bookmark_out(r, actor.id) for r in rows]


@router.post("/bookmarks", response_model=BookmarkOut, status_code=201, responses=errors(404, 422))
def create_bookmark(body: BookmarkIn, session: DB, actor: CurrentActor) -> BookmarkOut:
    """Place a bookmark with a note on a camera's recording (playback permission; audited)."""
    row = review.add_bookmark(session=session, actor=actor, camera_id=body.camera_id, start=localtime.as_utc(body.at),
                              end=localtime.as_utc(body.end) if body.end else None, note=body.note, now=utcnow())
    return _bookmark_out(row, actor.id)


@router.delete("/bookmarks/{bookmark_id}", status_code=204, responses=errors(404))
def delete_bookmark(bookmark_id: BookmarkId, session: DB, actor: CurrentActor) -> Response:
    """Delete your bookmark (or any, when you supervise; audited)."""
    review.remove_bookmark(session=session, actor=actor, bookmark_id=bookmark_id)
    return Response(status_code=204)


# ---- the video wall ---------------------------------------------------------------------------------------
@router.get("/live/tree")
def camera_tree(session: DB, actor: CurrentActor) -> dict[str, list[list[str | int]]]:
    """Every site of your scope with its cameras and their state, compact (see the video wall in docs/live.md)."""
    return wall.tree(session=session, actor=actor)


def _ids(raw: str, name: str = "ids") -> list[int]:
    try:
        found = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:
        raise ValidationFailed([FieldError(name, "a comma-separated list of camera ids")]) from None
    if any(not 1 <= i <= 2_147_483_647 for i in found):
        raise ValidationFailed([FieldError(name, "camera ids are positive numbers")])
    return found


@router.get("/live/cameras", response_model=list[CameraStatusOut])
def camera_states(session: DB, actor: CurrentActor,
                  ids: Annotated[str, Query(max_length=800, description="Camera ids, comma-separated")] = ""
                  ) -> list[CameraStatusOut]:
    """The state of each camera asked for that you may watch (recording, offline with its reason, …)."""
    return [CameraStatusOut(camera_id=s.camera_id, name=s.name, site_code=s.site_code, state=s.state,
                            reason=s.reason, codec=s.codec)
            for s in wall.statuses(session=session, actor=actor, ids=_ids(ids))]


def _layout_out(found: wall.ShownLayout, actor_id: int | None) -> LayoutOut:
    row = found.layout
    return LayoutOut(id=row.id, name=row.name, mine=row.owner_id == actor_id, shared_role=row.shared_role,
                     rows=row.rows, cols=row.cols, version=row.version, created_at=row.created_at,
                     updated_at=row.updated_at,
                     tiles=[TileOut(row=t.row, col=t.col, rows=t.rows, cols=t.cols, camera_id=t.camera_id,
                                    available=ok) for t, ok in found.tiles])


def _tiles(body: LayoutIn) -> list[layouts.Tile]:
    return [layouts.Tile(t.row, t.col, t.rows, t.cols, t.camera_id) for t in body.tiles]


@router.get("/live/layouts", response_model=list[LayoutOut])
def list_layouts(session: DB, actor: CurrentActor) -> list[LayoutOut]:
    """Your video wall layouts and those shared with your role."""
    return [_layout_out(x, actor.id) for x in wall.listing(session=session, actor=actor)]


@router.post("/live/layouts", response_model=LayoutOut, status_code=201, responses=errors(409, 422))
def create_layout(body: LayoutIn, session: DB, actor: CurrentActor) -> LayoutOut:
    """Save a video wall layout (audited): the grid, the tiles within it and cameras of your scope."""
    row = wall.save(session=session, actor=actor, layout_id=None, version=None, name=body.name, rows=body.rows,
                    cols=body.cols, tiles=_tiles(body), shared_role=body.shared_role)
    return _layout_out(wall.one(session=session, actor=actor, layout_id=row.id), actor.id)


@router.get("/live/layouts/{layout_id}", response_model=LayoutOut, responses=errors(404))
def get_layout(layout_id: LayoutId, session: DB, actor: CurrentActor) -> LayoutOut:
    """One layout you see; cameras you may not watch are shown as not available."""
    return _layout_out(wall.one(session=session, actor=actor, layout_id=layout_id), actor.id)


@router.put("/live/layouts/{layout_id}", response_model=LayoutOut, responses=errors(404, 409, 422))
def update_layout(layout_id: LayoutId, body: LayoutUpdate, session: DB, actor: CurrentActor) -> LayoutOut:
    """Change one of your layouts, read at ``version`` (409 when it changed since; audited)."""
    row = wall.save(session=session, actor=actor, layout_id=layout_id, version=body.version, name=body.name,
                    rows=body.rows, cols=body.cols, tiles=_tiles(body), shared_role=body.shared_role)
    return _layout_out(wall.one(session=session, actor=actor, layout_id=row.id), actor.id)


@router.delete("/live/layouts/{layout_id}", status_code=204, responses=errors(404, 409))
def delete_layout(layout_id: LayoutId, session: DB, actor: CurrentActor,
                  version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """Delete one of your layouts (audited)."""
    wall.remove(session=session, actor=actor, layout_id=layout_id, version=version)
    return Response(status_code=204)
